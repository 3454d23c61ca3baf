//! `grant_type=client_credentials` (RFC 6749 §4.4): confidential clients only,
//! scopes bounded by the client's and the deployment's (`scope::Allowlist`),
//! no refresh token.

use super::TokenRequest;
use super::issue::{Grant, mint};
use crate::domain::ids::GrantId;
use crate::domain::scope::Scopes;
use crate::error::{OAuthError, OAuthErrorCode};
use crate::oauth::client::Client;
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
    let asked = req.requested_scopes()?;
    let (scopes, resources) = crate::oauth::grant_scope::scopes_and_resources(
        state,
        client,
        asked,
        &allowed,
        &req.resource,
    )?;
    let grant = Grant {
        client,
        user: None,
        scope: scopes,
        resources,
        grant_id: GrantId::from(opaque::new_id()),
        session_id: None,
        auth_time: None,
        amr: vec![],
        acr: None,
        org_id: None,
        nonce: None,
    };
    Ok(mint(state, &grant, false, None).await?.response.to_json())
}
