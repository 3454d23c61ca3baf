//! Compact JWS (RFC 7515) signed with ring. Every access token is signed, and
//! jsonwebtoken's pure-Rust ES256 is far slower than ring (figures in
//! tests/perf/RESULTS.md, "Design notes"); the compact form is three
//! base64url parts, so we write it here rather than route every token
//! through it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use super::keys::SigningKey;
use crate::error::Error;

#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

/// Signs `claims` as a compact JWS with the given `typ` (`at+jwt` for access
/// tokens, RFC 9068 §2.1; `JWT` for ID tokens).
pub fn sign<C: Serialize>(key: &SigningKey, typ: &str, claims: &C) -> Result<String, Error> {
    let header = serde_json::to_vec(&Header {
        alg: key.alg.as_str(),
        typ,
        kid: &key.kid,
    })
    .map_err(|e| Error::internal(format!("jws header: {e}")))?;
    let payload =
        serde_json::to_vec(claims).map_err(|e| Error::internal(format!("jws claims: {e}")))?;
    let mut out = String::with_capacity(64 + payload.len() * 4 / 3 + 400);
    URL_SAFE_NO_PAD.encode_string(&header, &mut out);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(&payload, &mut out);
    let signature = key.sign(out.as_bytes())?;
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(&signature, &mut out);
    Ok(out)
}
