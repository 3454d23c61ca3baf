//! The device authorization writer: one call stores a new device
//! authorization (RFC 8628 §3.2) and answers once its row is committed, while
//! rows from concurrent requests share the statement (group commit).

use std::sync::Arc;

use entities::device_authorizations::Model as DeviceRow;

use super::devices;
use crate::error::Error;

/// Group commit for device authorization requests: rows that arrive while the
/// previous INSERT runs are written together in one statement, and each
/// request answers only once its row is stored. Under load that turns a
/// database round trip per request into one per batch.
///
/// A writer is a task on the runtime of the request that found a writer's
/// place free (an HTTP worker's own thread), not a task of the main runtime: a
/// hand-off to another thread per batch and back cost more than the batch's
/// statement.
///
/// SQLite has one connection, so one writer. PostgreSQL gets several: each
/// commit there waits for its WAL flush, and with one writer at a time the
/// flushes queue one behind another; more, smaller batches cost PostgreSQL
/// more CPU per row, so the number stays small (tests/perf/RESULTS.md, "Design
/// notes").
#[derive(Clone)]
pub struct DeviceWriter(Arc<Batches>);

type Waiting = (DeviceRow, tokio::sync::oneshot::Sender<Result<bool, Error>>);

struct Batches {
    db: sea_orm::DatabaseConnection,
    queue: std::sync::Mutex<Vec<Waiting>>,
    /// Writer tasks running; a caller starts one only while fewer than
    /// `max_writers` are.
    writers: std::sync::atomic::AtomicUsize,
    max_writers: usize,
}

/// The most rows one INSERT carries (SQLite allows 32,766 bound values).
const BATCH: usize = 256;

/// Writers at once where each commit waits for a flush (PostgreSQL): a
/// quarter of the pool, so the other requests keep connections.
const MAX_FLUSHING_WRITERS: usize = 4;

impl DeviceWriter {
    pub fn new(db: sea_orm::DatabaseConnection) -> Self {
        let max_writers = if crate::db::commits_are_cheap(&db) {
            1
        } else {
            MAX_FLUSHING_WRITERS
        };
        DeviceWriter(Arc::new(Batches {
            db,
            queue: Default::default(),
            writers: Default::default(),
            max_writers,
        }))
    }

    /// Stores a new device authorization; `false` if its user code is taken.
    pub async fn insert(&self, row: DeviceRow) -> Result<bool, Error> {
        let (done, answer) = tokio::sync::oneshot::channel();
        self.0.lock().push((row, done));
        if let Some(writer) = Writer::claim(&self.0) {
            // A task of its own, so that a request that goes away cannot cut
            // short a batch that carries other requests' rows.
            tokio::spawn(writer.run());
        }
        answer
            .await
            .map_err(|_| Error::internal("device writer stopped"))?
    }
}

impl Batches {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Waiting>> {
        // The queue holds plain values: a panic elsewhere leaves it usable.
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn next_batch(&self) -> Vec<Waiting> {
        let mut queue = self.lock();
        let n = queue.len().min(BATCH);
        queue.drain(..n).collect()
    }

    /// One INSERT for the batch; one per row when that fails (a user-code
    /// collision), so that each request gets its own answer.
    async fn write(&self, batch: Vec<Waiting>) {
        if batch.len() > 1 {
            let rows = batch.iter().map(|(r, _)| r.clone()).collect();
            if devices::insert_many(&self.db, rows).await.is_ok() {
                for (_, done) in batch {
                    let _ = done.send(Ok(true));
                }
                return;
            }
        }
        for (row, done) in batch {
            let _ = done.send(devices::insert(&self.db, row).await);
        }
    }
}

/// A running writer; dropping it (done, or its runtime shutting down) frees
/// its place for the next caller.
struct Writer(Arc<Batches>);

impl Writer {
    fn claim(batches: &Arc<Batches>) -> Option<Writer> {
        use std::sync::atomic::Ordering;
        batches
            .writers
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < batches.max_writers).then_some(n + 1)
            })
            .ok()
            .map(|_| Writer(batches.clone()))
    }

    async fn run(mut self) {
        loop {
            let batch = self.0.next_batch();
            if !batch.is_empty() {
                self.0.write(batch).await;
                continue;
            }
            let batches = self.0.clone();
            drop(self);
            // A row queued after the empty look but before the release found
            // every place taken: look once more.
            if batches.lock().is_empty() {
                return;
            }
            match Writer::claim(&batches) {
                Some(again) => self = again,
                None => return,
            }
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.0
            .writers
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}
