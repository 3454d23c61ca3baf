//! `grant_type=urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4).

use super::TokenRequest;
use super::issue::{Grant, mint};
use crate::error::{Error, OAuthError};
use crate::oauth::client::Client;
use crate::oauth::device::{self, Poll};
use crate::oauth::scope;
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;
use sea_orm::TransactionTrait;

pub async fn exchange(
    state: &AppState,
    client: &Client,
    req: &TokenRequest,
) -> Result<String, OAuthError> {
    let code = req
        .device_code
        .as_deref()
        .ok_or_else(|| OAuthError::invalid_request("device_code is required"))?;
    let Poll::Ready(row) = device::poll(state, client, code).await?;
    let used = || OAuthError::invalid_grant("the device_code was already used");
    let user_id = row.user_id.as_deref().ok_or_else(used)?;
    let user = store::users::find(&state.db, user_id)
        .await?
        .ok_or_else(used)?;
    let amr: Vec<String> = serde_json::from_str(&row.amr).unwrap_or_default();
    let grant = Grant {
        client,
        user: Some(&user),
        scope: scope::parse(&row.scope),
        resources: scope::parse(&row.resources),
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
    // Tokens are issued once: the consuming update and the refresh token commit together.
    let txn = state.db.begin().await.map_err(Error::from)?;
    if !store::devices::consume(&txn, &opaque::ordered_hash(code), state.now()).await? {
        return Err(used());
    }
    if let Some(r) = minted.refresh_row {
        store::grants::insert_refresh(&txn, r).await?;
    }
    txn.commit().await.map_err(Error::from)?;
    Ok(minted.response.to_json())
}
