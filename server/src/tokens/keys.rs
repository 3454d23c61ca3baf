//! Signing keys: generated on first start, rotated by `portcullis keys rotate`:
//! a new key is published in the JWKS first and signs only after
//! `PORTCULLIS_KEYS__PUBLISH_DELAY` (lifecycle in `store::keys`); a retired
//! one stays published until every token it signed has expired. Keys are
//! made here and sealed under the KEK; the store keeps the rows.

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
use serde_json::json;
use zeroize::Zeroizing;

pub use super::signing_key::{SigningKey, generate_pkcs8};
pub use crate::domain::alg::Alg;
use crate::error::Error;
use crate::secrets::{Kek, Slot};
use crate::store;
use crate::store::keys::{NewKey, RotateError};

/// A fresh key for `alg`, its private key sealed under `kek`, as the store
/// keeps it.
fn new_key(kek: &Kek, alg: Alg) -> Result<NewKey, Error> {
    let der = Zeroizing::new(generate_pkcs8(alg)?);
    let key = SigningKey::from_pkcs8(alg, &der)?;
    let sealed = kek.seal(Slot::SigningKey(&key.kid), &der)?;
    Ok(NewKey {
        public_jwk: key.public_jwk().to_string(),
        kid: key.kid,
        private_key: sealed,
    })
}

/// Creates an active key for each algorithm that has none (first start; see
/// `store::keys::ensure_active`).
pub async fn ensure_active(db: &impl ConnectionTrait, kek: &Kek, now: i64) -> Result<(), Error> {
    store::keys::ensure_active(db, now, |alg| new_key(kek, alg)).await
}

/// Creates a `next` key per algorithm, published now and active from
/// `now + delay_secs` (see `store::keys::rotate`).
pub async fn rotate(
    db: &(impl ConnectionTrait + TransactionTrait),
    kek: &Kek,
    now: i64,
    delay_secs: i64,
) -> Result<Vec<entities::signing_keys::Model>, RotateError> {
    store::keys::rotate(db, now, delay_secs, |alg| new_key(kek, alg)).await
}

/// The keys one instance signs with, and the JWKS it serves.
#[derive(Debug)]
pub struct KeySet {
    active: Vec<Arc<SigningKey>>,
    /// Every published key (next, active and retired), for verifying our own
    /// tokens.
    published: Vec<Arc<SigningKey>>,
    /// Pre-serialised JWKS document: next, active and still-published retired
    /// keys (shared, so an answer costs a reference count, not a copy).
    pub jwks: Bytes,
}

impl KeySet {
    pub fn active(&self, alg: Alg) -> Result<&Arc<SigningKey>, Error> {
        self.active
            .iter()
            .find(|k| k.alg == alg)
            .ok_or_else(|| Error::internal(format!("no active {} key", alg.as_str())))
    }

    /// A MAC over `data` with the active ES256 key's MAC key, base64url.
    pub fn mac(&self, data: &str) -> Result<String, Error> {
        let key = self.active(Alg::Es256)?;
        Ok(URL_SAFE_NO_PAD.encode(ring::hmac::sign(&key.mac, data.as_bytes())))
    }

    /// Whether `tag` is a MAC over `data` by any published ES256 key.
    pub fn verify_mac(&self, data: &str, tag: &str) -> bool {
        let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
            return false;
        };
        self.published
            .iter()
            .filter(|k| k.alg == Alg::Es256)
            .any(|k| ring::hmac::verify(&k.mac, data.as_bytes(), &tag).is_ok())
    }

    /// A published key by `kid`.
    pub fn by_kid(&self, kid: &str) -> Option<&Arc<SigningKey>> {
        self.published.iter().find(|k| k.kid == kid)
    }
}

/// How long an instance trusts its in-memory key set before re-reading it, so
/// a `keys rotate` run elsewhere reaches every instance.
pub const RELOAD_AFTER_SECS: i64 = 30;

/// The JWKS `Cache-Control: max-age` (`http::documents::KEYS_CACHE`).
pub const JWKS_MAX_AGE_SECS: i64 = 60;

/// A new key may sign only once every instance has re-read its key set and
/// every cache that obeys the JWKS `Cache-Control` has expired: the
/// pre-publication delay must be longer than this.
pub const MIN_PUBLISH_DELAY_SECS: i64 = JWKS_MAX_AGE_SECS + RELOAD_AFTER_SECS;

/// In-memory key set with a database-backed reload.
pub struct KeyStore {
    db: DatabaseConnection,
    kek: Arc<Kek>,
    /// How long a retired key stays published (`state::key_retention_secs`).
    retain_secs: i64,
    current: RwLock<Arc<KeySet>>,
    loaded_at: AtomicI64,
    reload: tokio::sync::Mutex<()>,
    /// Published keys that did not open and were left out, so each is
    /// logged once rather than at every reload.
    unopened: Mutex<HashSet<String>>,
}

impl KeyStore {
    /// Makes sure an active key exists per algorithm, then loads them.
    pub async fn open(
        db: DatabaseConnection,
        kek: Arc<Kek>,
        retain_secs: i64,
        now: i64,
    ) -> Result<Self, Error> {
        ensure_active(&db, &kek, now).await?;
        let unopened = Mutex::new(HashSet::new());
        // At start an active key that does not open is fatal: there is no
        // earlier set to sign with.
        let set = load(&db, &kek, retain_secs, now, &unopened).await?;
        Ok(KeyStore {
            db,
            kek,
            retain_secs,
            current: RwLock::new(Arc::new(set)),
            loaded_at: AtomicI64::new(now),
            reload: tokio::sync::Mutex::new(()),
            unopened,
        })
    }

    /// The current set, re-read from the database when older than
    /// [`RELOAD_AFTER_SECS`]. One caller reloads; the others use the old set.
    pub async fn get(&self, now: i64) -> Result<Arc<KeySet>, Error> {
        if self.due(now)
            && let Ok(_guard) = self.reload.try_lock()
        {
            // A failed reload keeps the set that worked (and is tried again
            // after the usual interval, not at every request).
            match load(&self.db, &self.kek, self.retain_secs, now, &self.unopened).await {
                Ok(set) => {
                    *self
                        .current
                        .write()
                        .map_err(|_| Error::internal("key lock poisoned"))? = Arc::new(set);
                }
                Err(e) => {
                    tracing::error!(error = %e, "key set reload failed; keeping the loaded keys")
                }
            }
            self.loaded_at.store(now, Ordering::Relaxed);
        }
        self.current
            .read()
            .map(|s| s.clone())
            .map_err(|_| Error::internal("key lock poisoned"))
    }

    /// The current set if it needs no reload at `now`: for callers that
    /// cannot wait for the database and fall back to [`KeyStore::get`].
    pub fn fresh(&self, now: i64) -> Option<Arc<KeySet>> {
        if self.due(now) {
            return None;
        }
        self.current.read().ok().map(|s| s.clone())
    }

    fn due(&self, now: i64) -> bool {
        now - self.loaded_at.load(Ordering::Relaxed) >= RELOAD_AFTER_SECS
    }
}

/// Activates the `next` keys whose time has come, then reads and opens every
/// published key. A `next` or retired key that does not open is left out
/// (logged once per kid in `unopened`): one bad row must not stop signing
/// with the good ones. An active key that does not open is an error.
async fn load(
    db: &DatabaseConnection,
    kek: &Kek,
    retain_secs: i64,
    now: i64,
    unopened: &Mutex<HashSet<String>>,
) -> Result<KeySet, Error> {
    store::keys::promote_due(db, now, retain_secs).await?;
    let rows = store::keys::published(db, now).await?;
    let mut active = Vec::new();
    let mut published = Vec::new();
    let mut jwks = Vec::new();
    for row in rows {
        let Some(alg) = Alg::parse(&row.alg) else {
            continue;
        };
        let key = match open_key(kek, alg, &row) {
            Ok(key) => Arc::new(key),
            Err(e) if row.status != store::keys::ACTIVE => {
                let first = unopened
                    .lock()
                    .map_or(true, |mut s| s.insert(row.kid.clone()));
                if first {
                    tracing::error!(error = %e, status = %row.status, "published signing key left out");
                }
                continue;
            }
            Err(e) => return Err(e),
        };
        jwks.push(key.public_jwk());
        if row.status == store::keys::ACTIVE {
            active.push(key.clone());
        }
        published.push(key);
    }
    let jwks = serde_json::to_vec(&json!({ "keys": jwks }))
        .map_err(|e| Error::internal(format!("jwks: {e}")))?
        .into();
    Ok(KeySet {
        active,
        published,
        jwks,
    })
}

/// Unseals one stored key and loads it.
fn open_key(kek: &Kek, alg: Alg, row: &entities::signing_keys::Model) -> Result<SigningKey, Error> {
    let sealed = std::str::from_utf8(&row.private_key).unwrap_or_default();
    let der: Zeroizing<Vec<u8>> = kek
        .open(Slot::SigningKey(&row.kid), sealed)
        .map_err(|e| Error::internal(format!("signing key {}: {e}", row.kid)))?;
    SigningKey::from_pkcs8(alg, &der)
        .map_err(|e| Error::internal(format!("signing key {}: {e}", row.kid)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jwks_cache_lifetime_is_the_one_the_delay_is_checked_against() {
        assert_eq!(
            crate::http::documents::KEYS_CACHE,
            format!("public, max-age={JWKS_MAX_AGE_SECS}")
        );
    }
}
