//! Client authentication at the token, introspection, revocation and device
//! endpoints (RFC 6749 §2.3): `client_secret_basic`, `client_secret_post`,
//! `private_key_jwt` (RFC 7523 §2.2) and `none` for public clients.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::domain::ids::ClientId;
use crate::error::OAuthError;
use crate::oauth::client::{self, Client};
use crate::state::AppState;
use crate::store;
use crate::tokens::{jwt, opaque};

pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// What the request presented, gathered by the HTTP layer.
#[derive(Default)]
pub struct Presented {
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<String>,
}

impl std::fmt::Debug for Presented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presented")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

fn invalid() -> OAuthError {
    OAuthError::invalid_client("client authentication failed")
}

/// `client_secret_basic`: the id and secret are form-urlencoded before
/// base64 (RFC 6749 §2.3.1), so both must be decoded.
fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, value) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(value.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| -> Option<String> {
        // Generated ids and secrets have nothing to unescape.
        if !s.contains(['%', '+']) {
            return Some(s.to_string());
        }
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

/// The longest a client assertion may be valid (`exp - iat`): a captured
/// assertion is useless once it expires, and clients mint a fresh one per
/// request anyway (five minutes is what the most conservative libraries send).
pub const MAX_ASSERTION_LIFETIME_SECS: i64 = 300;

/// How far a client's clock may run ahead of ours (`iat`, `nbf`).
const CLOCK_SKEW_SECS: i64 = 60;

/// Authenticates the client at any of the endpoints that take client
/// credentials. The endpoint's `_path` no longer matters: a client
/// assertion's `aud` is the issuer wherever it is sent.
pub async fn authenticate(
    state: &AppState,
    p: &Presented,
    _path: &str,
) -> Result<Arc<Client>, OAuthError> {
    let basic = match p.authorization.as_deref() {
        Some(h)
            if h.trim_start()
                .get(..5)
                .is_some_and(|s| s.eq_ignore_ascii_case("basic")) =>
        {
            Some(parse_basic(h).ok_or_else(invalid)?)
        }
        _ => None,
    };
    let methods = [
        basic.is_some(),
        p.client_secret.is_some(),
        p.client_assertion.is_some(),
    ];
    if methods.iter().filter(|m| **m).count() > 1 {
        return Err(OAuthError::invalid_request(
            "use exactly one client authentication method (RFC 6749 §2.3)",
        ));
    }
    if let Some((id, secret)) = basic {
        if p.client_id.as_deref().is_some_and(|c| c != id) {
            return Err(OAuthError::invalid_request(
                "client_id differs from the authenticated client",
            ));
        }
        return by_secret(state, &ClientId::from(id), &secret).await;
    }
    if let Some(secret) = &p.client_secret {
        let id = p.client_id.as_deref().ok_or_else(invalid)?;
        return by_secret(state, &ClientId::from(id), secret).await;
    }
    if let Some(assertion) = &p.client_assertion {
        if p.client_assertion_type.as_deref() != Some(JWT_BEARER_ASSERTION) {
            return Err(OAuthError::invalid_request(
                "client_assertion_type must be the JWT bearer type (RFC 7523 §2.2)",
            ));
        }
        return by_assertion(state, p.client_id.as_deref(), assertion).await;
    }
    // `none`: a public client names itself.
    let id = p.client_id.as_deref().ok_or_else(invalid)?;
    let client = client::find(state, &ClientId::from(id))
        .await?
        .ok_or_else(invalid)?;
    if !client.is_public() {
        return Err(invalid());
    }
    Ok(client)
}

/// Whether `aud` names this server and nothing else: the issuer, as a string
/// or as the only element of an array. Endpoint URLs are refused: a client
/// tricked into signing an assertion for another server's "token endpoint"
/// that is really ours (the 2025 audience-injection finding, fixed by
/// draft-ietf-oauth-rfc7523bis) must not be able to log in here with it, and
/// an array with other members would be valid at those other servers too.
fn names_only_us(aud: Option<&serde_json::Value>, issuer: &str) -> bool {
    use serde_json::Value;
    match aud {
        Some(Value::String(s)) => s == issuer,
        Some(Value::Array(a)) => matches!(a.as_slice(), [Value::String(s)] if s == issuer),
        _ => false,
    }
}

/// Whether an assertion's times are acceptable at `now`: unexpired, issued
/// (and valid from) no later than a minute ahead of us, valid for at most
/// [`MAX_ASSERTION_LIFETIME_SECS`] in all, and so ending no later than that
/// (and a minute) from now. The claims are any i64 the client sends: the
/// arithmetic is checked, so extreme values are refused, not wrapped.
fn fresh(iat: i64, exp: i64, nbf: Option<i64>, now: i64) -> bool {
    let latest = now.saturating_add(MAX_ASSERTION_LIFETIME_SECS + CLOCK_SKEW_SECS);
    let ahead = now.saturating_add(CLOCK_SKEW_SECS);
    exp > now
        && exp <= latest
        && iat <= ahead
        && nbf.is_none_or(|nbf| nbf <= ahead)
        && exp
            .checked_sub(iat)
            .is_some_and(|d| (0..=MAX_ASSERTION_LIFETIME_SECS).contains(&d))
}

async fn by_secret(
    state: &AppState,
    id: &ClientId,
    secret: &str,
) -> Result<Arc<Client>, OAuthError> {
    let client = client::find(state, id).await?.ok_or_else(invalid)?;
    let Some(stored) = &client.secret_hash else {
        return Err(invalid());
    };
    if !matches!(
        client.metadata.token_endpoint_auth_method.as_str(),
        "client_secret_basic" | "client_secret_post"
    ) {
        return Err(invalid());
    }
    if !opaque::constant_time_eq(&opaque::hash_secret(secret), stored) {
        return Err(invalid());
    }
    Ok(client)
}

/// RFC 7523 §3: `iss` and `sub` are the client, `aud` is our issuer alone,
/// `iat` and `exp` bound a short validity that has not ended, `jti` is used
/// once, and the signature checks out against the client's registered keys.
async fn by_assertion(
    state: &AppState,
    claimed: Option<&str>,
    assertion: &str,
) -> Result<Arc<Client>, OAuthError> {
    let parsed = jwt::parse(assertion).ok_or_else(invalid)?;
    let iss = parsed.str_claim("iss").ok_or_else(invalid)?;
    if parsed.str_claim("sub") != Some(iss) || claimed.is_some_and(|c| c != iss) {
        return Err(invalid());
    }
    let client = client::find(state, &ClientId::from(iss))
        .await?
        .ok_or_else(invalid)?;
    if client.metadata.token_endpoint_auth_method != "private_key_jwt" {
        return Err(invalid());
    }
    let jwks = client.metadata.jwks.as_ref().ok_or_else(invalid)?;
    if !parsed.verify_with_jwks(jwks) {
        return Err(invalid());
    }
    if !names_only_us(parsed.claims.get("aud"), &state.settings.issuer) {
        return Err(invalid());
    }
    let exp = parsed.int_claim("exp").ok_or_else(invalid)?;
    let iat = parsed.int_claim("iat").ok_or_else(invalid)?;
    if !fresh(iat, exp, parsed.int_claim("nbf"), state.now()) {
        return Err(invalid());
    }
    let jti = parsed.str_claim("jti").ok_or_else(invalid)?;
    let key = opaque::hash_secret(&format!("{iss}\u{0}{jti}"));
    if !store::grants::record_assertion(&state.db, &key, exp).await? {
        return Err(OAuthError::invalid_client(
            "client assertion already used (jti replay)",
        ));
    }
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::{fresh, names_only_us, parse_basic};
    use serde_json::json;

    #[test]
    fn only_the_issuer_alone_is_an_acceptable_audience() {
        let iss = "https://id.example";
        assert!(names_only_us(Some(&json!(iss)), iss));
        assert!(names_only_us(Some(&json!([iss])), iss));
        for bad in [
            json!("https://id.example/oauth2/token"),
            json!("https://id.example/"),
            json!([iss, "https://other.example"]),
            json!([iss, iss]),
            json!([]),
            json!(42),
        ] {
            assert!(!names_only_us(Some(&bad), iss), "{bad}");
        }
        assert!(!names_only_us(None, iss));
    }

    #[test]
    fn assertions_are_short_lived() {
        let now = 1_000_000;
        assert!(fresh(now, now + 60, None, now));
        assert!(fresh(now - 10, now + 290, Some(now), now));
        assert!(!fresh(now, now + 301, None, now), "too long");
        assert!(!fresh(now - 400, now + 10, None, now), "too long in all");
        assert!(!fresh(now - 60, now, None, now), "expired");
        assert!(!fresh(-1, i64::MAX, None, now), "overflowing lifetime");
        assert!(
            !fresh(i64::MIN, now + 60, None, now),
            "overflowing lifetime"
        );
        assert!(!fresh(now + 60, now + 30, None, now), "ends before issued");
        assert!(!fresh(now + 60, now + 361, None, now), "ends too far ahead");
        assert!(fresh(now + 60, now + 360, None, now), "a minute's skew");
        assert!(!fresh(0, 60, None, i64::MAX), "no overflow at any now");
        assert!(
            !fresh(now + 120, now + 180, None, now),
            "issued in the future"
        );
        assert!(!fresh(now, now + 60, Some(now + 120), now), "not yet valid");
    }

    #[test]
    fn basic_credentials_are_urlencoded_before_base64() {
        // id "a:b" and secret "p+ss w%rd" encoded as RFC 6749 §2.3.1 says.
        use base64::Engine;
        let raw = "a%3Ab:p%2Bss+w%25rd";
        let header = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        );
        assert_eq!(
            parse_basic(&header),
            Some(("a:b".into(), "p+ss w%rd".into()))
        );
        assert_eq!(parse_basic("Bearer x"), None);
    }
}
