//! Signing keys: generated on first start, rotated by `portcullis keys rotate`:
//! a new key is published in the JWKS first and signs only after
//! `PORTCULLIS_KEYS__PUBLISH_DELAY` (lifecycle in `store::keys`); a retired
//! one stays published until every token it signed has expired.
//!
//! ES256 signs access tokens (ring: ~58k signatures/s per core); RS256 signs ID
//! tokens, OIDC's default; EdDSA is offered to clients that register it.
//!
//! Every signature is made by ring at signing time: its ECDSA nonces mix fresh
//! randomness with the key and the message, so a copied process or a restored
//! VM snapshot cannot sign two messages with one nonce (which would give the
//! private key away to anyone holding both tokens).

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256,
    RsaKeyPair, RsaPublicKeyComponents,
};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::error::Error;
use crate::secrets::{Kek, Slot};
use crate::store;

/// JWS algorithms we sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Alg {
    Es256,
    Rs256,
    EdDsa,
}

impl Alg {
    pub const ALL: [Alg; 3] = [Alg::Es256, Alg::Rs256, Alg::EdDsa];

    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Es256 => "ES256",
            Alg::Rs256 => "RS256",
            Alg::EdDsa => "EdDSA",
        }
    }

    pub fn parse(s: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

enum Pair {
    Es256(EcdsaKeyPair),
    Rs256(RsaKeyPair),
    EdDsa(Ed25519KeyPair),
}

/// A private key ready to sign, with its `kid`.
pub struct SigningKey {
    pub kid: String,
    pub alg: Alg,
    pair: Pair,
    rng: SystemRandom,
    /// A MAC key derived from the private key, for values the server hands
    /// out and must recognise later (shared by every instance, rotated with it).
    mac: ring::hmac::Key,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish()
    }
}

impl SigningKey {
    /// Loads a PKCS#8 DER private key.
    pub fn from_pkcs8(alg: Alg, der: &[u8]) -> Result<Self, Error> {
        let rng = SystemRandom::new();
        let bad = |e: ring::error::KeyRejected| {
            Error::internal(format!("{} key rejected: {e}", alg.as_str()))
        };
        let pair = match alg {
            Alg::Es256 => Pair::Es256(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
                    .map_err(bad)?,
            ),
            Alg::Rs256 => Pair::Rs256(RsaKeyPair::from_pkcs8(der).map_err(bad)?),
            Alg::EdDsa => {
                Pair::EdDsa(Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(bad)?)
            }
        };
        let derived = ring::digest::digest(
            &ring::digest::SHA256,
            &[b"portcullis mac key:".as_slice(), der].concat(),
        );
        let mac = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, derived.as_ref());
        let mut key = SigningKey {
            kid: String::new(),
            alg,
            pair,
            rng,
            mac,
        };
        key.kid = thumbprint(&key.public_jwk_members());
        Ok(key)
    }

    /// Signs `message`, returning the JWS signature bytes (for ES256 the
    /// fixed-length `r ‖ s` of RFC 7518 §3.4).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let failed = |_| Error::internal(format!("{} signing failed", self.alg.as_str()));
        match &self.pair {
            Pair::Es256(k) => Ok(k
                .sign(&self.rng, message)
                .map_err(failed)?
                .as_ref()
                .to_vec()),
            Pair::Rs256(k) => {
                let mut sig = vec![0u8; k.public().modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &self.rng, message, &mut sig)
                    .map_err(failed)?;
                Ok(sig)
            }
            Pair::EdDsa(k) => Ok(k.sign(message).as_ref().to_vec()),
        }
    }

    /// Checks a signature made by this key.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        use ring::signature::{
            ECDSA_P256_SHA256_FIXED, ED25519, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey,
        };
        match &self.pair {
            Pair::Es256(k) => {
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, k.public_key().as_ref())
                    .verify(message, signature)
                    .is_ok()
            }
            Pair::Rs256(k) => {
                UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, k.public().as_ref())
                    .verify(message, signature)
                    .is_ok()
            }
            Pair::EdDsa(k) => UnparsedPublicKey::new(&ED25519, k.public_key().as_ref())
                .verify(message, signature)
                .is_ok(),
        }
    }

    /// The members that identify the public key (RFC 7638 §3.2), sorted.
    fn public_jwk_members(&self) -> BTreeMap<&'static str, String> {
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        let mut m = BTreeMap::new();
        match &self.pair {
            Pair::Es256(k) => {
                // Uncompressed point: 0x04 || x || y.
                let p = k.public_key().as_ref();
                m.insert("kty", "EC".into());
                m.insert("crv", "P-256".into());
                m.insert("x", b64(&p[1..33]));
                m.insert("y", b64(&p[33..65]));
            }
            Pair::Rs256(k) => {
                let c: RsaPublicKeyComponents<Vec<u8>> = k.public().into();
                m.insert("kty", "RSA".into());
                m.insert("n", b64(strip_zeros(&c.n)));
                m.insert("e", b64(strip_zeros(&c.e)));
            }
            Pair::EdDsa(k) => {
                m.insert("kty", "OKP".into());
                m.insert("crv", "Ed25519".into());
                m.insert("x", b64(k.public_key().as_ref()));
            }
        }
        m
    }

    /// The public JWK as published: key members plus `kid`, `alg`, `use`.
    pub fn public_jwk(&self) -> Value {
        let mut v = json!(self.public_jwk_members());
        v["kid"] = json!(self.kid);
        v["alg"] = json!(self.alg.as_str());
        v["use"] = json!("sig");
        v
    }
}

/// Big-endian integers in JWKs carry no leading zero octets (RFC 7518 §6.3.1.1).
fn strip_zeros(b: &[u8]) -> &[u8] {
    let first = b
        .iter()
        .position(|&x| x != 0)
        .unwrap_or(b.len().saturating_sub(1));
    &b[first..]
}

/// RFC 7638 thumbprint: SHA-256 of the required members, base64url.
fn thumbprint(members: &BTreeMap<&'static str, String>) -> String {
    // BTreeMap serialises in lexicographic key order with no whitespace, which
    // is exactly the canonical form RFC 7638 §3.3 asks for.
    let canonical = serde_json::to_string(members).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        canonical.as_bytes(),
    ))
}

/// Generates a new PKCS#8 DER private key. RSA comes from the `rsa` crate
/// because ring cannot generate RSA keys.
pub fn generate_pkcs8(alg: Alg) -> Result<Vec<u8>, Error> {
    let rng = SystemRandom::new();
    let failed =
        |what: String| Error::internal(format!("{} key generation failed: {what}", alg.as_str()));
    match alg {
        Alg::Es256 => EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map(|d| d.as_ref().to_vec())
            .map_err(|e| failed(e.to_string())),
        Alg::EdDsa => Ed25519KeyPair::generate_pkcs8(&rng)
            .map(|d| d.as_ref().to_vec())
            .map_err(|e| failed(e.to_string())),
        Alg::Rs256 => {
            use rsa::pkcs8::EncodePrivateKey;
            let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048)
                .map_err(|e| failed(e.to_string()))?;
            key.to_pkcs8_der()
                .map(|d| d.as_bytes().to_vec())
                .map_err(|e| failed(e.to_string()))
        }
    }
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
        store::keys::ensure_active(&db, &kek, now).await?;
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
    use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};

    /// No known answers (ring's nonces are fresh at every signature): each
    /// signature must verify with ring's verifier for the published key, for
    /// its own message only, in JWS's fixed 64-byte `r ‖ s` form.
    #[test]
    fn es256_signatures_verify_against_the_published_key() {
        let key = SigningKey::from_pkcs8(Alg::Es256, &generate_pkcs8(Alg::Es256).expect("key"))
            .expect("loads");
        let jwk = key.public_jwk();
        let coordinate = |c: &str| URL_SAFE_NO_PAD.decode(jwk[c].as_str().expect(c)).expect(c);
        let point = [vec![4u8], coordinate("x"), coordinate("y")].concat();
        let public = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point);
        let mut signatures = Vec::new();
        for i in 0..100 {
            let message = format!("header.claims-{i}");
            let sig = key.sign(message.as_bytes()).expect("signs");
            assert_eq!(sig.len(), 64, "r ‖ s (RFC 7518 §3.4)");
            assert!(public.verify(message.as_bytes(), &sig).is_ok(), "{i}");
            assert!(public.verify(b"another message", &sig).is_err());
            signatures.push(sig[..32].to_vec());
        }
        signatures.sort();
        signatures.dedup();
        assert_eq!(signatures.len(), 100, "an r repeated: a nonce was reused");
    }

    #[test]
    fn the_jwks_cache_lifetime_is_the_one_the_delay_is_checked_against() {
        assert_eq!(
            crate::http::documents::KEYS_CACHE,
            format!("public, max-age={JWKS_MAX_AGE_SECS}")
        );
    }
}
