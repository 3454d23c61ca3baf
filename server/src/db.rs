//! Connecting to SQLite or PostgreSQL and running the one migration crate.

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};

use crate::config::ConfigError;

/// The largest database SQLite reads through its memory map (address space,
/// not memory: pages are the OS page cache's). Past it, reads fall back to
/// read(2).
const MMAP_SIZE: u64 = 1 << 30;

/// Opens the pool. SQLite gets WAL (readers never block the writer) and a busy
/// timeout so concurrent writers wait instead of failing; its files are the
/// owner's alone (0600).
pub async fn connect(url: &str) -> Result<DatabaseConnection, ConfigError> {
    let sqlite = sqlite_path(url);
    if let Some(path) = &sqlite {
        create_private(path, url.contains("mode=rwc"))?;
    }
    let mut opts = ConnectOptions::new(url.to_string());
    opts.sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5));
    if url.starts_with("sqlite:") {
        opts.max_connections(1).map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                // Pages are read through a memory map instead of read(2):
                // random keys (hashed codes and tokens) land on a different
                // index page per row, and after each checkpoint those pages
                // come back from the OS cache at the cost of a memory access.
                // That lets the page cache stay at SQLite's 2 MiB: at every
                // commit SQLite walks its whole page cache (pcache1Truncate),
                // so a larger cache costs every write-heavy request CPU
                // (figures: tests/perf/RESULTS.md, "Design notes"). Only
                // reads use the map; writes still go through write(2).
                .pragma("mmap_size", MMAP_SIZE.to_string())
        });
    } else {
        opts.max_connections(16);
    }
    let db = Database::connect(opts).await.map_err(|e| {
        ConfigError(format!(
            "cannot use PORTCULLIS_DATABASE_URL ({}): {e}",
            redact(url)
        ))
    })?;
    if let Some(path) = &sqlite {
        // SQLite gives its -wal and -shm files the database's mode; an older
        // release's (or a copied) database may have left them wider.
        db.execute_unprepared("SELECT 1").await.ok();
        for suffix in ["-wal", "-shm"] {
            let mut side = path.clone().into_os_string();
            side.push(suffix);
            restrict(Path::new(&side), 0o600);
        }
    }
    Ok(db)
}

/// The file of a SQLite URL (`sqlite://portcullis.db?mode=rwc`,
/// `sqlite:///var/lib/portcullis/db.sqlite`); `None` for PostgreSQL and
/// in-memory databases.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") {
        return None;
    }
    Some(PathBuf::from(path))
}

/// Creates the database file mode 0600 before SQLite does (it would use
/// 0644 under the usual umask), or narrows an existing one to 0600.
fn create_private(path: &Path, create: bool) -> Result<(), ConfigError> {
    if path.exists() {
        restrict(path, 0o600);
        return Ok(());
    }
    if !create {
        return Ok(());
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(ConfigError(format!(
            "cannot use PORTCULLIS_DATABASE_URL: cannot create {}: {e}",
            path.display()
        ))),
    }
}

/// Narrows a file or directory to `mode` when others than its owner may read
/// it; a file we may not change is logged, not fatal.
pub fn restrict(path: &Path, mode: u32) {
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    if meta.permissions().mode() & 0o077 == 0 {
        return;
    }
    if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
        tracing::warn!(path = %path.display(), error = %e, "cannot restrict the file to its owner");
    }
}

/// Whether a commit costs about a statement. SQLite in WAL mode with
/// `synchronous=NORMAL` commits without flushing, so for two statements that
/// belong together a transaction's extra round trips (BEGIN, COMMIT) cost more
/// than they save, and the store commits each and undoes by hand. PostgreSQL
/// flushes its WAL at every commit: there they share one transaction. Only
/// the store asks (`store::redeem`, `store::device_writer`).
pub(crate) fn commits_are_cheap(db: &DatabaseConnection) -> bool {
    db.get_database_backend() == sea_orm::DbBackend::Sqlite
}

/// Brings the schema up to date; run at every start.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await?;
    Ok(())
}

/// For `/readyz`.
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.execute_unprepared("SELECT 1").await.is_ok()
}

/// The URL with any password replaced, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}
