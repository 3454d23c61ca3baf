//! `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6): parse
//! the code, check it against the request, redeem it once, mint.

use entities::{authorization_codes as codes, users};

use super::TokenRequest;
use super::issue::{Grant, mint};
use crate::domain::ids::GrantId;
use crate::domain::scope::Scopes;
use crate::error::OAuthError;
use crate::oauth::client::Client;
use crate::oauth::{pkce, redirect};
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;

fn bad() -> OAuthError {
    OAuthError::invalid_grant("the authorization code is invalid, expired or already used")
}

#[tracing::instrument(name = "redeem", skip_all,
    fields(grant_type = "authorization_code", client_id = %client.id))]
pub async fn exchange(
    state: &AppState,
    client: &Client,
    req: &TokenRequest,
) -> Result<String, OAuthError> {
    let code = super::required(&req.code, "code")?;
    let hash = opaque::ordered_hash(code);
    let now = state.now();
    let (row, user) = store::grants::find_code(&state.db, &hash)
        .await?
        .ok_or_else(bad)?;
    if row.client_id != client.id {
        return Err(bad());
    }
    // A second use is an attack or a bug: revoke what the first use issued
    // (RFC 6749 §4.1.2, RFC 9700 §4.5).
    if row.consumed_at.is_some() {
        return Err(replayed(state, &row.grant_id).await?);
    }
    if row.expires_at <= now {
        return Err(bad());
    }
    check_redirect_uri(client, &row, req)?;
    check_pkce(client, &row, req)?;
    let user = user.ok_or_else(bad)?;
    let grant = grant(client, &user, &row, req)?;
    let with_refresh = super::issues_refresh_token(client, &grant.scope);
    let minted = mint(state, &grant, with_refresh, None).await?;
    // Lost to a concurrent use of the same code: a replay like any other.
    if !store::redeem::redeem_code(&state.db, &hash, minted.refresh_row, now).await? {
        return Err(replayed(state, &row.grant_id).await?);
    }
    Ok(minted.response.to_json())
}

/// `redirect_uri` must repeat what the authorization request sent
/// (RFC 6749 §4.1.3); a request that sent none may name any registered one.
fn check_redirect_uri(
    client: &Client,
    row: &codes::Model,
    req: &TokenRequest,
) -> Result<(), OAuthError> {
    let redirect_ok = match (row.redirect_uri.as_str(), req.redirect_uri.as_deref()) {
        ("", None) => true,
        ("", Some(r)) => client
            .metadata
            .redirect_uris
            .iter()
            .any(|reg| redirect::matches(reg, r)),
        (stored, Some(r)) => stored == r,
        (_, None) => false,
    };
    if !redirect_ok {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    Ok(())
}

/// The verifier must match the challenge the code was issued with
/// (RFC 7636 §4.6).
fn check_pkce(client: &Client, row: &codes::Model, req: &TokenRequest) -> Result<(), OAuthError> {
    match (row.code_challenge.as_deref(), req.code_verifier.as_deref()) {
        (Some(challenge), Some(verifier)) if pkce::verify_s256(verifier, challenge) => Ok(()),
        (Some(_), Some(_)) => Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge",
        )),
        (Some(_), None) => Err(OAuthError::invalid_grant("code_verifier is required")),
        // A verifier for a code issued without a challenge: a downgrade attempt.
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "code_verifier sent but no code_challenge was used",
        )),
        // Codes are issued without a challenge only to exempted clients;
        // checked again in case the exemption was lifted since.
        (None, None) if client.requires_pkce() => Err(OAuthError::invalid_grant(
            "PKCE is required for this client",
        )),
        (None, None) => Ok(()),
    }
}

/// What the code grants: its scope, and the resources it was granted for,
/// narrowed to those the token request names (RFC 8707 §2.2).
fn grant<'a>(
    client: &'a Client,
    user: &'a users::Model,
    row: &codes::Model,
    req: &TokenRequest,
) -> Result<Grant<'a>, OAuthError> {
    let resources = super::narrowed_resources(req, &row.resources)?;
    Ok(Grant {
        client,
        user: Some(user),
        scope: Scopes::parse(&row.scope),
        resources,
        grant_id: row.grant_id.clone(),
        session_id: row.session_id.clone(),
        auth_time: Some(row.auth_time),
        amr: serde_json::from_str(&row.amr).unwrap_or_default(),
        acr: row.acr.clone(),
        org_id: row.organization_id.clone(),
        nonce: row.nonce.clone(),
    })
}

/// A code used twice: what the first use issued is revoked (RFC 9700 §4.5).
async fn replayed(state: &AppState, grant_id: &GrantId) -> Result<OAuthError, OAuthError> {
    crate::oauth::revocation::revoke_grant(state, grant_id).await?;
    Ok(bad())
}
