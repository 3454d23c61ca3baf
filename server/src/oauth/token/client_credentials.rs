//! `grant_type=client_credentials` (RFC 6749 §4.4): confidential clients only,
//! scopes bounded by the client's and the deployment's (`scope::Allowlist`),
//! no refresh token.

use super::TokenRequest;
use super::issue::{Grant, mint};
use crate::error::{OAuthError, OAuthErrorCode};
use crate::oauth::client::Client;
use crate::oauth::{resource, scope};
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
    let allowed: Vec<String> = scope::parse(&client.metadata.scope)
        .into_iter()
        .filter(|s| !USER_ONLY.contains(&s.as_str()))
        .collect();
    let asked = req.requested_scopes()?;
    let scopes = match asked {
        Some(s) if !s.is_empty() => {
            if let Some(bad) = s.iter().find(|x| !allowed.contains(x)) {
                return Err(OAuthError::invalid_scope(format!(
                    "scope {bad:?} is not allowed for this client"
                )));
            }
            s
        }
        _ => allowed,
    };
    let resources = resource::resolve(&req.resource, &state.settings, &client.metadata.resources)
        .map_err(|d| OAuthError::new(OAuthErrorCode::InvalidTarget, d))?;
    state
        .discovery
        .scopes
        .check(client.is_verified(), &scopes, &resources)
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
