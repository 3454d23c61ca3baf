//! Where the key-encryption key comes from, in this order:
//! 1. `PORTCULLIS_SECRETS__KEY`: 32 bytes in base64;
//! 2. the key file: `PORTCULLIS_SECRETS__KEY_FILE`, or by default beside the
//!    SQLite database (`portcullis.db` → `portcullis.key`), or for PostgreSQL
//!    `portcullis.key` in the working directory. A missing file is created
//!    once, mode 0600 — but never for a database that already holds sealed
//!    secrets: a new key would not open them, so start-up refuses instead.
//!
//! `PORTCULLIS_SECRETS__OLD_KEYS` lists keys still accepted for opening; at
//! every start (and by `portcullis secrets rotate-kek`) whatever they sealed is
//! re-sealed under the current key, in one transaction.

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sea_orm::DatabaseConnection;
use zeroize::Zeroizing;

use super::{KEY_LEN, Kek, decode_key, new_key_text};
use crate::config::Settings;
use crate::store::sealing::{self, SealError, Sealed};

/// The key file used when none is configured.
pub fn default_key_file(database_url: &str) -> PathBuf {
    match crate::db::sqlite_path(database_url) {
        Some(db) => db.with_extension("key"),
        None => PathBuf::from("portcullis.key"),
    }
}

/// The key file this configuration uses (when no key is set directly).
pub fn key_file(settings: &Settings) -> PathBuf {
    settings
        .secrets
        .key_file
        .clone()
        .unwrap_or_else(|| default_key_file(&settings.database_url))
}

/// Resolves the KEK, checks that it opens what the database already holds,
/// and seals (or re-seals under the current key) every secret that is not.
/// Every failure is one line that says what to do.
pub async fn unlock(
    settings: &Settings,
    db: &DatabaseConnection,
    now: i64,
) -> anyhow::Result<(Arc<Kek>, Sealed)> {
    let mut old = Vec::new();
    for text in &settings.secrets.old_keys {
        old.push(decode_key(text).ok_or_else(|| {
            anyhow::anyhow!("invalid PORTCULLIS_SECRETS__OLD_KEYS: each must be 32 bytes in base64")
        })?);
    }
    let (current, source) = match &settings.secrets.key {
        Some(text) => (
            decode_key(text).ok_or_else(|| {
                anyhow::anyhow!("invalid PORTCULLIS_SECRETS__KEY: expected 32 bytes in base64")
            })?,
            "PORTCULLIS_SECRETS__KEY".to_string(),
        ),
        None => {
            let path = key_file(settings);
            let key = read_or_create(&path, db).await?;
            (key, format!("the secrets key file {}", path.display()))
        }
    };
    let kek = Kek::new(&current, &old).ok_or_else(|| anyhow::anyhow!("secrets key rejected"))?;
    match sealing::seal_at_rest(db, &kek, now).await {
        Ok(sealed) => Ok((Arc::new(kek), sealed)),
        Err(SealError::WrongKey(e)) => Err(anyhow::anyhow!(
            "{source} (key id {}) does not open this database's secrets ({e}): configure the key they were sealed with",
            kek.id()
        )),
        Err(SealError::Other(e)) => Err(e.into()),
    }
}

/// The key in `path`; a new one when the file does not exist and nothing in
/// the database is sealed yet.
async fn read_or_create(
    path: &Path,
    db: &DatabaseConnection,
) -> anyhow::Result<Zeroizing<[u8; KEY_LEN]>> {
    // A link (even a dangling one) is not a missing file: `read` refuses it.
    let missing = || {
        matches!(
            std::fs::symlink_metadata(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound
        )
    };
    if missing() {
        // An instance starting beside this one may have created the file and
        // sealed with it since we looked: nothing is sealed before its key
        // file exists, so a second look after seeing sealed rows is decisive.
        if sealing::holds_sealed(db).await? && missing() {
            anyhow::bail!(
                "the secrets key file {} is missing, but this database holds sealed secrets: restore the file or set PORTCULLIS_SECRETS__KEY (a new key could not open them)",
                path.display()
            );
        }
        create(path)?;
    }
    read(path)
}

/// Writes a fresh key, mode 0600. The key is written whole to a file of its
/// own, then linked into place (which fails if the name exists): processes
/// racing at first start all end up reading the one complete file that won.
fn create(path: &Path) -> anyhow::Result<()> {
    let cannot = |e: std::io::Error| {
        anyhow::anyhow!(
            "cannot create the secrets key file {}: {e} (set PORTCULLIS_SECRETS__KEY_FILE or PORTCULLIS_SECRETS__KEY)",
            path.display()
        )
    };
    let mut draft = path.as_os_str().to_owned();
    draft.push(format!(".{}.new", crate::tokens::opaque::new_id()));
    let draft = PathBuf::from(draft);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&draft)
        .and_then(|mut f| {
            f.write_all(format!("{}\n", new_key_text().as_str()).as_bytes())?;
            f.sync_all()
        });
    let linked = written.and_then(|_| std::fs::hard_link(&draft, path));
    let _ = std::fs::remove_file(&draft);
    match linked {
        Ok(()) => {
            tracing::info!(path = %path.display(), "created the secrets key file: back it up, the database's secrets cannot be read without it");
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(cannot(e)),
    }
}

/// Reads the key from a regular file of our own that nobody else may read or
/// write. A symbolic link is not followed (`O_NOFOLLOW`), and the checks are
/// made on the file opened, not on its name: whoever can swap the name or
/// write the file could make the server seal its secrets under their key.
fn read(path: &Path) -> anyhow::Result<Zeroizing<[u8; KEY_LEN]>> {
    use rustix::fs::{Mode, OFlags};
    let refuse = |why: &str| anyhow::anyhow!("the secrets key file {} {why}", path.display());
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )
    .map_err(|e| match e {
        rustix::io::Errno::LOOP => {
            refuse("is a symbolic link: point PORTCULLIS_SECRETS__KEY_FILE at the file itself")
        }
        e => anyhow::anyhow!("cannot read the secrets key file {}: {e}", path.display()),
    })?;
    let stat = rustix::fs::fstat(&fd)
        .map_err(|e| anyhow::anyhow!("cannot read the secrets key file {}: {e}", path.display()))?;
    let kind = rustix::fs::FileType::from_raw_mode(stat.st_mode);
    if kind != rustix::fs::FileType::RegularFile {
        return Err(refuse("is not a regular file"));
    }
    if stat.st_uid != rustix::process::geteuid().as_raw() {
        return Err(refuse(
            "is not owned by the user the server runs as: chown it",
        ));
    }
    if stat.st_mode & 0o077 != 0 {
        return Err(refuse("is open to others than its owner: chmod 600 it"));
    }
    let mut text = Zeroizing::new(String::new());
    std::fs::File::from(fd)
        .read_to_string(&mut text)
        .map_err(|e| anyhow::anyhow!("cannot read the secrets key file {}: {e}", path.display()))?;
    decode_key(&text).ok_or_else(|| {
        anyhow::anyhow!(
            "the secrets key file {} does not hold 32 bytes in base64",
            path.display()
        )
    })
}
