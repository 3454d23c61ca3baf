//! Token introspection (RFC 7662): `active:false` for anything expired,
//! revoked, malformed, not ours — or issued to another client.
//!
//! Only authenticated (confidential) clients may ask (RFC 7662 §2.1): a
//! public client's `client_id` is no proof of anything. A client learns about
//! its own tokens only, unless an administrator made it a resource server
//! (`client create --resource-server --resource R`), which may also ask about
//! access tokens for the resources it was registered for (§4): a token for
//! another audience is none of its business. Refresh tokens stay their own
//! client's.

use serde_json::{Value, json};

use crate::error::{Error, OAuthError};
use crate::oauth::client::Client;
use crate::oauth::{access_token, resource};
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
    // Another client's token, not for this resource server: as if it did not
    // exist, so the answer does not even confirm that it is live.
    if at.str("client_id") != Some(caller.id.as_str()) && !is_audience(caller, &at) {
        return Ok(Some(inactive()));
    }
    let mut v = at.claims.clone();
    v["active"] = json!(true);
    v["token_type"] = json!("Bearer");
    Ok(Some(v))
}

/// Whether `caller` is a resource server the token was issued for.
fn is_audience(caller: &Client, at: &access_token::AccessToken) -> bool {
    if !caller.resource_server {
        return false;
    }
    let audiences: Vec<&str> = match at.claims.get("aud") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    audiences.iter().any(|aud| {
        caller
            .metadata
            .resources
            .iter()
            .any(|r| resource::same(r, aud))
    })
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
        || store::grants::any_revoked(&state.db, &[row.grant_id.as_str()]).await?
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
