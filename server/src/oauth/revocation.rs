//! Token revocation (RFC 7009): always 200 for a well-formed request. A
//! refresh token takes its whole family with it; an access token goes on the
//! revocation list until it would have expired anyway.

use crate::error::Error;
use crate::oauth::access_token;
use crate::oauth::client::Client;
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;

pub async fn revoke(state: &AppState, caller: &Client, token: &str) -> Result<(), Error> {
    let now = state.now();
    if let Some(row) = store::grants::find_refresh(&state.db, &opaque::hash_secret(token)).await? {
        // Only the client the token was issued to may revoke it (RFC 7009 §2.1).
        // Another client's token is left alone but still answered with 200,
        // so the endpoint does not tell clients which tokens exist.
        if row.client_id == caller.id {
            let keep = crate::oauth::token::revocation_horizon(state);
            store::grants::revoke_grant(&state.db, &row.grant_id, now, keep).await?;
        }
        return Ok(());
    }
    if let Some(at) = access_token::verify(state, token).await?
        && at.str("client_id") == Some(caller.id.as_str())
        && let Some(jti) = at.str("jti")
    {
        let exp = at
            .claims
            .get("exp")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(now);
        store::grants::revoke_id(&state.db, jti, now, exp + 60).await?;
    }
    Ok(())
}
