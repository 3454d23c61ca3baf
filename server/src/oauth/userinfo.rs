//! The UserInfo endpoint (OIDC Core §5.3): claims about the token's user,
//! released by the token's scopes.

use serde_json::{Map, Value, json};

use crate::domain::ids::UserId;
use crate::error::{OAuthError, OAuthErrorCode};
use crate::oauth::access_token;
use crate::oauth::token::issue::user_claims;
use crate::state::AppState;
use crate::store;

pub async fn userinfo(state: &AppState, bearer: Option<&str>) -> Result<Value, OAuthError> {
    let invalid = || {
        OAuthError::new(
            OAuthErrorCode::InvalidToken,
            "the access token is missing, invalid, expired or revoked",
        )
    };
    let token = bearer.ok_or_else(invalid)?;
    let at = access_token::verify(state, token)
        .await?
        .ok_or_else(invalid)?;
    let scopes = at.scopes();
    if !scopes.iter().any(|s| s == "openid") {
        return Err(OAuthError::new(
            OAuthErrorCode::InsufficientScope,
            "the token lacks the openid scope",
        ));
    }
    let sub = at.str("sub").ok_or_else(invalid)?;
    let user = store::users::find(&state.db, &UserId::from(sub))
        .await?
        .ok_or_else(invalid)?;
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(user.id));
    user_claims(&user, &scopes, &mut claims);
    if let Some(org) = at.str("org_id") {
        claims.insert("org_id".into(), json!(org));
    }
    Ok(Value::Object(claims))
}
