//! Token introspection (RFC 7662): `active:false` for anything expired,
//! revoked, malformed, not ours — or issued to another client.
//!
//! Only authenticated (confidential) clients may ask (RFC 7662 §2.1): a
//! public client's `client_id` is no proof of anything. A client learns about
//! its own tokens only, unless an administrator made it a resource server
//! (`client create --resource-server`), which may ask about any access token
//! presented to it (§4). Refresh tokens stay their own client's business.

use serde_json::{Value, json};

use crate::error::{Error, OAuthError};
use crate::oauth::access_token;
use crate::oauth::client::Client;
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;

pub async fn introspect(
    state: &AppState,
    caller: &Client,
    token: &str,
    hint: Option<&str>,
) -> Result<Value, OAuthError> {
    if caller.is_public() {
        return Err(OAuthError::invalid_client(
            "introspection needs an authenticated client",
        ));
    }
    // The hint only orders the lookups (RFC 7662 §2.1).
    if hint == Some("refresh_token") {
        if let Some(v) = refresh(state, caller, token).await? {
            return Ok(v);
        }
        return Ok(access(state, caller, token).await?.unwrap_or_else(inactive));
    }
    if let Some(v) = access(state, caller, token).await? {
        return Ok(v);
    }
    Ok(refresh(state, caller, token)
        .await?
        .unwrap_or_else(inactive))
}

fn inactive() -> Value {
    json!({ "active": false })
}

async fn access(state: &AppState, caller: &Client, token: &str) -> Result<Option<Value>, Error> {
    let Some(at) = access_token::verify(state, token).await? else {
        return Ok(None);
    };
    // Another client's token: as if it did not exist, so the answer does not
    // even confirm that it is live.
    if !caller.resource_server && at.str("client_id") != Some(caller.id.as_str()) {
        return Ok(Some(inactive()));
    }
    let mut v = at.claims.clone();
    v["active"] = json!(true);
    v["token_type"] = json!("Bearer");
    Ok(Some(v))
}

async fn refresh(state: &AppState, caller: &Client, token: &str) -> Result<Option<Value>, Error> {
    let Some(row) = store::grants::find_refresh(&state.db, &opaque::ordered_hash(token)).await?
    else {
        return Ok(None);
    };
    // Refresh tokens are for their client's eyes only.
    if row.client_id != caller.id
        || row.revoked_at.is_some()
        || row.used_at.is_some()
        || row.expires_at <= state.now()
        // The revocation list is the source of truth: a successor stored
        // while its grant was being revoked may not carry the mark itself.
        || store::grants::any_revoked(&state.db, &[&row.grant_id]).await?
    {
        return Ok(Some(inactive()));
    }
    let mut v = json!({
        "active": true,
        "token_type": "refresh_token",
        "client_id": row.client_id,
        "scope": row.scope,
        "iss": state.settings.issuer,
        "iat": row.created_at,
        "exp": row.expires_at,
    });
    if let Some(sub) = row.user_id {
        v["sub"] = json!(sub);
    }
    Ok(Some(v))
}
