//! Reading compact JWS: our own tokens (checked against the published keys)
//! and client assertions (checked against a client's JWKS, RFC 7523).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ED25519, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents,
    UnparsedPublicKey,
};
use serde::Deserialize;
use serde_json::Value;

use super::keys::KeySet;

/// The parts of a compact JWS, decoded but not yet trusted.
pub struct Parsed<'a> {
    pub header: Header,
    pub claims: Value,
    signing_input: &'a str,
    signature: Vec<u8>,
}

#[derive(Debug, Deserialize)]
pub struct Header {
    pub alg: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub typ: Option<String>,
}

/// Splits and decodes a compact JWS. `None` for anything malformed.
pub fn parse(token: &str) -> Option<Parsed<'_>> {
    let mut parts = token.split('.');
    let (h, c, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header: Header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).ok()?).ok()?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(c).ok()?).ok()?;
    if !claims.is_object() {
        return None;
    }
    let signature = URL_SAFE_NO_PAD.decode(s).ok()?;
    Some(Parsed {
        header,
        claims,
        signing_input: &token[..h.len() + 1 + c.len()],
        signature,
    })
}

impl Parsed<'_> {
    /// Verified against one of our published keys (matching `kid` and `alg`).
    pub fn verify_own(&self, keys: &KeySet) -> bool {
        let Some(kid) = &self.header.kid else {
            return false;
        };
        let Some(key) = keys.by_kid(kid) else {
            return false;
        };
        key.alg.as_str() == self.header.alg
            && key.verify(self.signing_input.as_bytes(), &self.signature)
    }

    /// Verified against any usable key of a JWKS (RFC 7517), honouring `kid`
    /// when the header names one. `none` and HMAC algorithms are never accepted.
    pub fn verify_with_jwks(&self, jwks: &Value) -> bool {
        let Some(keys) = jwks.get("keys").and_then(Value::as_array) else {
            return false;
        };
        keys.iter()
            .filter(
                |k| match (&self.header.kid, k.get("kid").and_then(Value::as_str)) {
                    (Some(want), Some(have)) => want == have,
                    _ => true,
                },
            )
            .filter(|k| {
                k.get("alg")
                    .and_then(Value::as_str)
                    .is_none_or(|a| a == self.header.alg)
            })
            .any(|k| {
                verify_jwk(
                    k,
                    &self.header.alg,
                    self.signing_input.as_bytes(),
                    &self.signature,
                )
            })
    }

    pub fn str_claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    pub fn int_claim(&self, name: &str) -> Option<i64> {
        self.claims.get(name).and_then(Value::as_i64)
    }

    /// `aud` as a list (it may be a string or an array, RFC 7519 §4.1.3).
    pub fn audiences(&self) -> Vec<&str> {
        match self.claims.get("aud") {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        }
    }
}

fn b64(v: Option<&Value>) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(v?.as_str()?).ok()
}

fn verify_jwk(jwk: &Value, alg: &str, message: &[u8], signature: &[u8]) -> bool {
    let kty = jwk.get("kty").and_then(Value::as_str);
    match (alg, kty) {
        ("ES256", Some("EC")) if jwk.get("crv").and_then(Value::as_str) == Some("P-256") => {
            let (Some(x), Some(y)) = (b64(jwk.get("x")), b64(jwk.get("y"))) else {
                return false;
            };
            if x.len() != 32 || y.len() != 32 {
                return false;
            }
            let mut point = Vec::with_capacity(65);
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                .verify(message, signature)
                .is_ok()
        }
        ("RS256", Some("RSA")) => {
            let (Some(n), Some(e)) = (b64(jwk.get("n")), b64(jwk.get("e"))) else {
                return false;
            };
            RsaPublicKeyComponents { n, e }
                .verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
                .is_ok()
        }
        ("EdDSA", Some("OKP")) if jwk.get("crv").and_then(Value::as_str) == Some("Ed25519") => {
            let Some(x) = b64(jwk.get("x")) else {
                return false;
            };
            UnparsedPublicKey::new(&ED25519, x)
                .verify(message, signature)
                .is_ok()
        }
        _ => false,
    }
}
