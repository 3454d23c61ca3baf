//! Secrets at rest: signing keys, the user-code key and TOTP secrets are
//! sealed under a key-encryption key (KEK) that never lives in the database,
//! so a copy of the database alone reveals none of them.
//!
//! A sealed value is text: `pcs1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`.
//! - AES-256-GCM (ring) with a fresh random 96-bit nonce per value: the NIST
//!   bound for random nonces (2³² messages per key, SP 800-38D §8.3) is far
//!   above the handful of secrets a deployment holds.
//! - The associated data names the row the value belongs to ([`Slot`]), so a
//!   sealed value copied into another row (another user's TOTP secret, another
//!   key's private key) does not open.
//! - The key id (a hash of the KEK, not the KEK) says which key sealed a value,
//!   so old keys can be accepted while everything is re-sealed under a new one
//!   (`PORTCULLIS_SECRETS__OLD_KEYS`, `portcullis secrets rotate-kek`).
//! - `pcs1:` cannot begin a PKCS#8 document (0x30), a base32 TOTP secret or a
//!   base64url key, so sealed and older plaintext values never look alike.
//!
//! Where the KEK comes from is [`key_source`].

pub mod key_source;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

/// The version prefix of a sealed value.
const PREFIX: &str = "pcs1:";

/// Length of a KEK in bytes (AES-256).
pub const KEY_LEN: usize = 32;

/// The row a sealed value belongs to: its associated data.
#[derive(Debug, Clone, Copy)]
pub enum Slot<'a> {
    /// `signing_keys.private_key` of the key with this `kid`.
    SigningKey(&'a str),
    /// `server_secrets.secret` named so.
    ServerSecret(&'a str),
    /// `two_factors.secret` of this user.
    TotpSecret(&'a str),
    /// `sso_connections.client_secret` of this connection.
    SsoClientSecret(&'a str),
}

impl Slot<'_> {
    fn aad(&self) -> String {
        match self {
            Slot::SigningKey(kid) => format!("portcullis signing_keys.private_key {kid}"),
            Slot::ServerSecret(name) => format!("portcullis server_secrets.secret {name}"),
            Slot::TotpSecret(user) => format!("portcullis two_factors.secret {user}"),
            Slot::SsoClientSecret(id) => format!("portcullis sso_connections.client_secret {id}"),
        }
    }
}

/// Why a value did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("the value is not sealed")]
    NotSealed,
    #[error("the value was sealed under key id {0}, which is not configured")]
    UnknownKey(String),
    #[error("the value does not open with its key (wrong key, or moved from another row)")]
    Rejected,
}

/// Decodes a configured KEK: 32 bytes in base64 (standard, as
/// `openssl rand -base64 32` prints it, or base64url).
pub fn decode_key(text: &str) -> Option<Zeroizing<[u8; KEY_LEN]>> {
    let text = text.trim();
    let bytes = Zeroizing::new(
        STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text))
            .ok()?,
    );
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    if bytes.len() != KEY_LEN {
        return None;
    }
    key.copy_from_slice(&bytes);
    Some(key)
}

/// A fresh KEK, base64 as a key file holds it.
pub fn new_key_text() -> Zeroizing<String> {
    let key = Zeroizing::new(crate::tokens::opaque::random_bytes::<KEY_LEN>());
    Zeroizing::new(STANDARD.encode(key.as_slice()))
}

struct Key {
    id: String,
    aead: LessSafeKey,
}

impl Key {
    fn new(bytes: &[u8; KEY_LEN]) -> Option<Key> {
        let digest = ring::digest::digest(
            &ring::digest::SHA256,
            &[b"portcullis kek id:".as_slice(), bytes].concat(),
        );
        let id = digest.as_ref()[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let aead = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, bytes).ok()?);
        Some(Key { id, aead })
    }
}

/// The key-encryption key, and older ones still accepted for opening.
pub struct Kek {
    current: Key,
    old: Vec<Key>,
    rng: SystemRandom,
}

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kek")
            .field("id", &self.current.id)
            .field("old", &self.old.iter().map(|k| &k.id).collect::<Vec<_>>())
            .finish()
    }
}

impl Kek {
    pub fn new(current: &[u8; KEY_LEN], old: &[Zeroizing<[u8; KEY_LEN]>]) -> Option<Kek> {
        Some(Kek {
            current: Key::new(current)?,
            old: old.iter().map(|k| Key::new(k)).collect::<Option<_>>()?,
            rng: SystemRandom::new(),
        })
    }

    /// The id of the key new values are sealed under.
    pub fn id(&self) -> &str {
        &self.current.id
    }

    /// The prefix of every value sealed under the current key.
    pub fn current_prefix(&self) -> String {
        format!("{PREFIX}{}:", self.current.id)
    }

    /// Seals `plain` for `slot` under the current key.
    pub fn seal(&self, slot: Slot<'_>, plain: &[u8]) -> Result<String, crate::error::Error> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| crate::error::Error::internal("no randomness for a nonce"))?;
        let mut buf = Zeroizing::new(Vec::with_capacity(NONCE_LEN + plain.len() + 16));
        buf.extend_from_slice(plain);
        self.current
            .aead
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(slot.aad().as_bytes()),
                &mut *buf,
            )
            .map_err(|_| crate::error::Error::internal("sealing failed"))?;
        let mut out = Vec::with_capacity(NONCE_LEN + buf.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buf);
        Ok(format!(
            "{}{}",
            self.current_prefix(),
            URL_SAFE_NO_PAD.encode(out)
        ))
    }

    /// Opens a value sealed for `slot` under the current or an old key.
    pub fn open(&self, slot: Slot<'_>, sealed: &str) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        let rest = sealed.strip_prefix(PREFIX).ok_or(OpenError::NotSealed)?;
        let (id, body) = rest.split_once(':').ok_or(OpenError::Rejected)?;
        let key = std::iter::once(&self.current)
            .chain(&self.old)
            .find(|k| k.id == id)
            .ok_or_else(|| OpenError::UnknownKey(id.to_string()))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| OpenError::Rejected)?;
        if bytes.len() < NONCE_LEN {
            return Err(OpenError::Rejected);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError::Rejected)?;
        let mut buf = Zeroizing::new(ciphertext.to_vec());
        let plain = key
            .aead
            .open_in_place(nonce, Aad::from(slot.aad().as_bytes()), &mut buf)
            .map_err(|_| OpenError::Rejected)?;
        Ok(Zeroizing::new(plain.to_vec()))
    }

    /// As [`open`](Self::open), for a value that is UTF-8 text.
    pub fn open_text(&self, slot: Slot<'_>, sealed: &str) -> Result<Zeroizing<String>, OpenError> {
        let plain = self.open(slot, sealed)?;
        String::from_utf8(plain.to_vec())
            .map(Zeroizing::new)
            .map_err(|_| OpenError::Rejected)
    }
}

/// Whether a stored value is sealed (under any key).
pub fn is_sealed(value: &[u8]) -> bool {
    value.starts_with(PREFIX.as_bytes())
}

/// The server secret `name` (`server_secrets`, sealed under `kek`), opened:
/// the stored one, or `fresh()` stored first if there is none yet (instances
/// starting together all read the one insert that won).
pub async fn server_secret(
    kek: &Kek,
    db: &impl sea_orm::ConnectionTrait,
    name: &str,
    fresh: impl FnOnce() -> String,
    now: i64,
) -> anyhow::Result<Zeroizing<String>> {
    let slot = Slot::ServerSecret(name);
    let sealed_fresh = kek.seal(slot, fresh().as_bytes())?;
    let sealed = crate::store::secrets::get_or_create(db, name, sealed_fresh, now).await?;
    kek.open_text(slot, &sealed)
        .map_err(|e| anyhow::anyhow!("server secret {name}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kek(byte: u8) -> Kek {
        Kek::new(&[byte; KEY_LEN], &[]).expect("kek")
    }

    #[test]
    fn a_sealed_value_opens_only_in_its_own_slot_and_under_its_key() {
        let k = kek(1);
        let sealed = k
            .seal(Slot::TotpSecret("alice"), b"JBSWY3DPEHPK3PXP")
            .expect("seal");
        assert!(is_sealed(sealed.as_bytes()));
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_eq!(
            k.open(Slot::TotpSecret("alice"), &sealed)
                .expect("opens")
                .as_slice(),
            b"JBSWY3DPEHPK3PXP"
        );
        assert_eq!(
            k.open(Slot::TotpSecret("mallory"), &sealed),
            Err(OpenError::Rejected),
            "moved to another row"
        );
        assert_eq!(
            k.open(Slot::ServerSecret("alice"), &sealed),
            Err(OpenError::Rejected),
            "moved to another table"
        );
        assert!(matches!(
            kek(2).open(Slot::TotpSecret("alice"), &sealed),
            Err(OpenError::UnknownKey(_))
        ));
        assert_eq!(
            k.open(Slot::TotpSecret("alice"), "JBSWY3DPEHPK3PXP"),
            Err(OpenError::NotSealed)
        );
        let two = k
            .seal(Slot::TotpSecret("alice"), b"JBSWY3DPEHPK3PXP")
            .expect("seal");
        assert_ne!(sealed, two, "a fresh nonce per value");
    }

    #[test]
    fn an_old_key_still_opens_what_it_sealed() {
        let old = [7u8; KEY_LEN];
        let sealed = Kek::new(&old, &[])
            .expect("kek")
            .seal(Slot::SigningKey("k1"), b"der")
            .expect("seal");
        let rotated = Kek::new(&[8; KEY_LEN], &[Zeroizing::new(old)]).expect("kek");
        assert_eq!(
            rotated
                .open(Slot::SigningKey("k1"), &sealed)
                .expect("opens")
                .as_slice(),
            b"der"
        );
        assert!(!sealed.starts_with(&rotated.current_prefix()));
    }

    #[test]
    fn keys_decode_from_base64_of_32_bytes_only() {
        assert!(decode_key(&new_key_text()).is_some());
        assert!(decode_key(&format!("{}\n", STANDARD.encode([3u8; 32]))).is_some());
        assert!(decode_key(&URL_SAFE_NO_PAD.encode([3u8; 32])).is_some());
        assert!(decode_key(&STANDARD.encode([3u8; 16])).is_none());
        assert!(decode_key("not a key").is_none());
    }
}
