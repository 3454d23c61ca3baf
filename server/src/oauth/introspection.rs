//! Token introspection (RFC 7662): `active:false` for anything expired,
//! revoked, malformed, not ours — or a refresh token of another client.

use serde_json::{Value, json};

use crate::error::Error;
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
) -> Result<Value, Error> {
    // The hint only orders the lookups (RFC 7662 §2.1).
    if hint == Some("refresh_token") {
        if let Some(v) = refresh(state, caller, token).await? {
            return Ok(v);
        }
        return Ok(access(state, token).await?.unwrap_or_else(inactive));
    }
    if let Some(v) = access(state, token).await? {
        return Ok(v);
    }
    Ok(refresh(state, caller, token)
        .await?
        .unwrap_or_else(inactive))
}

fn inactive() -> Value {
    json!({ "active": false })
}

async fn access(state: &AppState, token: &str) -> Result<Option<Value>, Error> {
    let Some(at) = access_token::verify(state, token).await? else {
        return Ok(None);
    };
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
