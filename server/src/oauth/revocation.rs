//! Token revocation (RFC 7009): always 200 for a well-formed request. A
//! refresh token takes its whole family with it; an access token goes on the
//! revocation list until it would have expired anyway.
//!
//! Every revocation, once written, drops this instance's cached verdicts
//! (`VerifiedTokens::forget_revocations`, see `access_token`), so it takes
//! effect here at once and on other instances within
//! `REVOCATION_CACHE_SECS`. Besides this endpoint and a replayed code's
//! grant ([`revoke_grant`]), that is the store's revocations of a user's
//! grants (`store::grants::revoke_user`: password reset, account taken back)
//! and of a refresh family reused after its grace window
//! (`store::redeem::replay_refresh`), whose callers drop the verdicts too.

use crate::domain::ids::GrantId;
use crate::error::Error;
use crate::oauth::access_token;
use crate::oauth::client::Client;
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;

pub async fn revoke(state: &AppState, caller: &Client, token: &str) -> Result<(), Error> {
    let now = state.now();
    if let Some(row) = store::grants::find_refresh(&state.db, &opaque::ordered_hash(token)).await? {
        // Only the client the token was issued to may revoke it (RFC 7009 §2.1).
        // Another client's token is left alone but still answered with 200,
        // so the endpoint does not tell clients which tokens exist.
        if row.client_id == caller.id {
            revoke_grant(state, &row.grant_id).await?;
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
        access_token::forget_revocations(state);
    }
    Ok(())
}

/// Revokes a grant: its refresh tokens, and the access tokens carrying its `gid`.
pub async fn revoke_grant(state: &AppState, grant_id: &GrantId) -> Result<(), Error> {
    let now = state.now();
    let keep = store::grants::revoked_until(&state.settings.tokens, now);
    store::grants::revoke_grant(&state.db, grant_id, now, keep).await?;
    access_token::forget_revocations(state);
    Ok(())
}
