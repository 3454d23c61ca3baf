//! Checking access tokens we issued (RFC 9068 §4): signature by a published
//! key, `typ: at+jwt`, our `iss`, unexpired, and neither the token (`jti`)
//! nor its grant (`gid`) revoked.

use serde_json::Value;

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
        crate::oauth::scope::parse(self.str("scope").unwrap_or(""))
    }
}

/// `Ok(None)` for anything that is not a live access token of ours.
pub async fn verify(state: &AppState, token: &str) -> Result<Option<AccessToken>, Error> {
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
    if parsed.int_claim("exp").is_none_or(|exp| exp <= state.now()) {
        return Ok(None);
    }
    let ids: Vec<&str> = [parsed.str_claim("jti"), parsed.str_claim("gid")]
        .into_iter()
        .flatten()
        .collect();
    if store::grants::any_revoked(&state.db, &ids).await? {
        return Ok(None);
    }
    Ok(Some(AccessToken {
        claims: parsed.claims.clone(),
    }))
}
