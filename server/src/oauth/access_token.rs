//! Checking access tokens we issued (RFC 9068 §4): signature by a published
//! key, `typ: at+jwt`, our `iss`, unexpired, and neither the token (`jti`)
//! nor its grant (`gid`) revoked.
//!
//! Resource servers introspect the same token again and again, so
//! `tokens::verified` keeps the repeat cheap: a verified token's claims, and
//! the revocation verdict for its `jti`/`gid`, for `tokens::verified::REVOCATION_CACHE_SECS`.
//! Revoking through `oauth::revocation` clears this instance's verdicts at
//! once.

use serde_json::Value;
use std::sync::Arc;

use crate::error::Error;
use crate::state::AppState;
use crate::store;
use crate::tokens::jwt;

/// A valid access token's claims.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub claims: Value,
}

impl AccessToken {
    pub fn str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }
    pub fn scopes(&self) -> Vec<String> {
        crate::domain::scope::Scopes::parse(self.str("scope").unwrap_or("")).into_vec()
    }
}

/// Drops this instance's revocation verdicts (something was just revoked).
pub fn forget_revocations(state: &AppState) {
    state.caches.verified_tokens.forget_revocations();
}

/// `Ok(None)` for anything that is not a live access token of ours.
pub async fn verify(state: &AppState, token: &str) -> Result<Option<AccessToken>, Error> {
    let claims = match state.caches.verified_tokens.claims(token) {
        Some(c) => c,
        None => {
            let Some(c) = check_signature(state, token).await? else {
                return Ok(None);
            };
            state
                .caches
                .verified_tokens
                .remember_claims(token, c.clone());
            c
        }
    };
    let now = state.now();
    if claims
        .get("exp")
        .and_then(Value::as_i64)
        .is_none_or(|exp| exp <= now)
    {
        return Ok(None);
    }
    let ids: Vec<&str> = ["jti", "gid"]
        .into_iter()
        .filter_map(|k| claims.get(k).and_then(Value::as_str))
        .collect();
    let key = ids.join(" ");
    let revoked = match state.caches.verified_tokens.revoked(&key) {
        Some(r) => r,
        None => {
            let r = store::grants::any_revoked(&state.db, &ids).await?;
            state.caches.verified_tokens.remember_verdict(key, r);
            r
        }
    };
    if revoked {
        return Ok(None);
    }
    Ok(Some(AccessToken {
        claims: (*claims).clone(),
    }))
}

/// Signature by one of our published keys, `typ: at+jwt` and our `iss`: the
/// claims, or `None`.
async fn check_signature(state: &AppState, token: &str) -> Result<Option<Arc<Value>>, Error> {
    let Some(parsed) = jwt::parse(token) else {
        return Ok(None);
    };
    if !parsed
        .header
        .typ
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("at+jwt"))
    {
        return Ok(None);
    }
    let keys = state.keys.get(state.now()).await?;
    if !parsed.verify_own(&keys) {
        return Ok(None);
    }
    if parsed.str_claim("iss") != Some(state.settings.issuer.as_str()) {
        return Ok(None);
    }
    Ok(Some(Arc::new(parsed.claims.clone())))
}
