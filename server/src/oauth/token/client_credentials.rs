//! `grant_type=client_credentials` (RFC 6749 §4.4): confidential clients only,
//! scopes bounded by the client's and the deployment's (`scope::Allowlist`),
//! no refresh token.

use super::TokenRequest;
use super::issue::{Grant, mint};
use crate::domain::scope::Scopes;
use crate::error::{OAuthError, OAuthErrorCode};
use crate::oauth::client::Client;
use crate::oauth::resource;
use crate::state::AppState;
use crate::tokens::opaque;

/// Scopes that only make sense with a user.
const USER_ONLY: &[&str] = &["openid", "offline_access"];

pub async fn exchange(
    state: &AppState,
    client: &Client,
    req: &TokenRequest,
) -> Result<String, OAuthError> {
    if client.is_public() {
        return Err(OAuthError::new(
            OAuthErrorCode::UnauthorizedClient,
            "public clients cannot use client_credentials",
        ));
    }
    let allowed = Scopes::parse(&client.metadata.scope).without(USER_ONLY);
    let scopes = Scopes::within(req.requested_scopes()?, &allowed).map_err(|bad| {
        OAuthError::invalid_scope(format!("scope {bad:?} is not allowed for this client"))
    })?;
    let resources = resource::resolve(&req.resource, &state.settings.resources(), client)
        .map_err(|d| OAuthError::new(OAuthErrorCode::InvalidTarget, d))?;
    state
        .discovery
        .scopes
        .check(client, &scopes, &resources)
        .map_err(OAuthError::invalid_scope)?;
    let grant = Grant {
        client,
        user: None,
        scope: scopes,
        resources,
        grant_id: opaque::new_id(),
        session_id: None,
        auth_time: None,
        amr: vec![],
        acr: None,
        org_id: None,
        nonce: None,
    };
    Ok(mint(state, &grant, false, None).await?.response.to_json())
}
