//! Opaque secrets (session tokens, client secrets, codes, refresh tokens):
//! 256 bits from the OS generator, shown once, stored as SHA-256. A KDF adds
//! nothing for secrets with this much entropy (DESIGN §1.2).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};

/// `n` random bytes from the OS.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // SystemRandom reads getrandom(2); it only fails if the OS cannot supply
    // randomness, and then nothing secure can be done at all.
    #[allow(clippy::expect_used)]
    SystemRandom::new()
        .fill(&mut buf)
        .expect("the OS random generator failed");
    buf
}

/// Characters of a [`new_secret`]: 256 bits in base64url without padding.
const SECRET_CHARS: usize = 43;

/// A fresh 256-bit secret, base64url without padding (43 characters).
pub fn new_secret() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// A secret with a readable prefix, e.g. `pcs_…` for client secrets.
pub fn new_prefixed_secret(prefix: &str) -> String {
    format!("{prefix}{}", new_secret())
}

/// What we store instead of a secret: SHA-256, base64url.
pub fn hash_secret(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, secret.as_bytes()))
}

/// Hex digits of the millisecond clock in front of an ordered secret.
const ORDER_PREFIX: usize = 12;

/// A 256-bit secret led by the time it was made (`now_ms`, milliseconds since
/// the epoch from [`Clock::now_ms`](crate::clock::Clock::now_ms), 12 hex
/// digits), for rows found by their secret's hash (device codes, authorization
/// codes, refresh tokens): see [`ordered_hash`]. The prefix orders the
/// stored keys, and lets housekeeping find the expired device codes by a key
/// range (`store::devices::delete_expired`); nothing else reads it.
pub fn new_ordered_secret(now_ms: u64) -> String {
    format!("{}{}", order_prefix(now_ms), new_secret())
}

/// The clock prefix of secrets made at `ms` (milliseconds since the epoch);
/// every secret made earlier sorts before it.
pub fn order_prefix(ms: u64) -> String {
    format!("{:012x}", ms & 0xffff_ffff_ffff)
}

/// The stored key of an ordered secret: its clock prefix, then the SHA-256 of
/// the whole secret. A plain hash lands each new row on a random index page,
/// one page written per row; keys that start with the time land together, so
/// rows written in the same moment share their index pages. Anything not
/// shaped like an ordered secret gets the plain hash, which matches no row
/// stored under an ordered key.
pub fn ordered_hash(secret: &str) -> String {
    match secret.get(..ORDER_PREFIX) {
        Some(prefix)
            if secret.len() == ORDER_PREFIX + SECRET_CHARS
                && prefix.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            format!("{prefix}{}", hash_secret(secret))
        }
        _ => hash_secret(secret),
    }
}

/// Compares two equal-purpose strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A new identifier: a UUIDv7 (time-ordered, so indexes stay compact).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_256_bit_and_distinct() {
        let (a, b) = (new_secret(), new_secret());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert_eq!(hash_secret(&a), hash_secret(&a));
        assert_ne!(hash_secret(&a), hash_secret(&b));
    }

    #[test]
    fn ordered_secrets_sort_by_time_and_keep_their_prefix() {
        let a = new_ordered_secret(crate::clock::wall_ms());
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_ordered_secret(crate::clock::wall_ms());
        assert_eq!(a.len(), ORDER_PREFIX + SECRET_CHARS);
        assert!(
            ordered_hash(&a) < ordered_hash(&b),
            "later secrets sort later"
        );
        assert_eq!(ordered_hash(&a)[..ORDER_PREFIX], a[..ORDER_PREFIX]);
        assert_eq!(ordered_hash(&a)[ORDER_PREFIX..], hash_secret(&a));
        assert_ne!(ordered_hash(&a), ordered_hash(&b));
        // Codes and refresh tokens issued before they were ordered still match.
        let plain = new_secret();
        assert_eq!(ordered_hash(&plain), hash_secret(&plain));
    }

    #[test]
    fn constant_time_eq_matches_eq() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }
}
