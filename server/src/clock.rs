//! The one door to "now". Everything that compares against expiry asks the
//! clock in [`AppState`](crate::AppState), so tests can move time forward.
//! The few values that must follow the wall clock whatever the application
//! answers by (user-code sequence numbers, shared by every instance) read
//! [`since_epoch`] here too, so there is one place that knows about time.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Unix time in seconds, and in milliseconds for values that sort by time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> i64;
    /// Milliseconds since the epoch, on the same clock as [`now`](Self::now).
    fn now_ms(&self) -> u64;
}

/// Wall-clock time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        system_now()
    }
    fn now_ms(&self) -> u64 {
        wall_ms()
    }
}

/// Wall-clock time plus an offset that tests advance.
#[derive(Debug, Default)]
pub struct TestClock {
    offset: AtomicI64,
}

impl TestClock {
    pub fn advance(&self, seconds: i64) {
        self.offset.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> i64 {
        system_now() + self.offset.load(Ordering::SeqCst)
    }
    fn now_ms(&self) -> u64 {
        let offset_ms = self.offset.load(Ordering::SeqCst).saturating_mul(1000);
        wall_ms().saturating_add_signed(offset_ms)
    }
}

fn system_now() -> i64 {
    since_epoch().as_secs() as i64
}

/// The wall clock since the epoch (zero if it is set before 1970).
pub fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Milliseconds since the epoch on the wall clock.
pub fn wall_ms() -> u64 {
    since_epoch().as_millis() as u64
}
