//! Sealing the response a refresh token got, under a key only its holder can
//! derive (SHA-256 of the token itself). A retry inside the grace window can be
//! answered identically from any instance, while the database never holds a
//! usable token in the clear.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::digest::{SHA256, digest};

fn key(secret: &str) -> Option<LessSafeKey> {
    let k = digest(&SHA256, format!("portcullis successor:{secret}").as_bytes());
    UnboundKey::new(&AES_256_GCM, k.as_ref())
        .ok()
        .map(LessSafeKey::new)
}

/// Each key seals exactly one message, so a fixed nonce is safe.
const NONCE: [u8; 12] = [0; 12];

pub fn seal(secret: &str, plaintext: &[u8]) -> Option<Vec<u8>> {
    let mut buf = plaintext.to_vec();
    key(secret)?
        .seal_in_place_append_tag(Nonce::assume_unique_for_key(NONCE), Aad::empty(), &mut buf)
        .ok()?;
    Some(buf)
}

pub fn open(secret: &str, sealed: &[u8]) -> Option<Vec<u8>> {
    let mut buf = sealed.to_vec();
    let plain = key(secret)?
        .open_in_place(Nonce::assume_unique_for_key(NONCE), Aad::empty(), &mut buf)
        .ok()?;
    Some(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_key() {
        let sealed = seal("token-a", b"{\"x\":1}").unwrap();
        assert_eq!(open("token-a", &sealed).unwrap(), b"{\"x\":1}");
        assert!(open("token-b", &sealed).is_none());
    }
}
