//! `grant_type=urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4):
//! poll the authorization, check it was approved, consume it once, mint.

use super::TokenRequest;
use super::issue::{Grant, mint};
use crate::domain::scope::Scopes;
use crate::error::OAuthError;
use crate::oauth::client::Client;
use crate::oauth::device::{self, Poll};
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;

#[tracing::instrument(name = "redeem", skip_all,
    fields(grant_type = "device_code", client_id = %client.id))]
pub async fn exchange(
    state: &AppState,
    client: &Client,
    req: &TokenRequest,
) -> Result<String, OAuthError> {
    let code = super::required(&req.device_code, "device_code")?;
    let Poll::Ready(row) = device::poll(state, client, code).await?;
    let used = || OAuthError::invalid_grant("the device_code was already used");
    let user_id = row.user_id.as_ref().ok_or_else(used)?;
    let user = store::users::find(&state.db, user_id)
        .await?
        .ok_or_else(used)?;
    let amr: Vec<String> = serde_json::from_str(&row.amr).unwrap_or_default();
    let grant = Grant {
        client,
        user: Some(&user),
        scope: Scopes::parse(&row.scope),
        resources: super::stored_list(&row.resources),
        grant_id: row.grant_id.clone(),
        session_id: row.session_id.clone(),
        auth_time: row.auth_time,
        amr: amr.clone(),
        acr: Some(crate::login::assurance::acr(
            &crate::domain::amr::Amr::parse_all(&amr),
            None,
        )),
        org_id: row.organization_id.clone(),
        nonce: None,
    };
    let with_refresh = super::issues_refresh_token(client, &grant.scope);
    let minted = mint(state, &grant, with_refresh, None).await?;
    // Tokens are issued once: a poll that lost the race gets none.
    let hash = opaque::ordered_hash(code);
    if !store::redeem::consume_device(&state.db, &hash, minted.refresh_row, state.now()).await? {
        return Err(used());
    }
    Ok(minted.response.to_json())
}
