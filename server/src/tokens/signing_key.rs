//! One private signing key, ready to sign: loaded from PKCS#8, with its
//! public JWK and RFC 7638 thumbprint as `kid`. ES256 signs access tokens;
//! RS256 signs ID tokens, OIDC's default; EdDSA is offered to clients that
//! register it.
//!
//! Every signature is made by ring at signing time: its ECDSA nonces mix fresh
//! randomness with the key and the message, so a copied process or a restored
//! VM snapshot cannot sign two messages with one nonce (which would give the
//! private key away to anyone holding both tokens).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256,
    RsaKeyPair, RsaPublicKeyComponents,
};
use serde_json::{Value, json};

use crate::domain::alg::Alg;
use crate::error::Error;

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
    pub(super) mac: ring::hmac::Key,
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
}
