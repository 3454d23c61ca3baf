//! `grant_type=refresh_token` (RFC 6749 §6) with rotation and reuse detection
//! (RFC 9700 §4.14).
//!
//! Each refresh token works once. Whoever wins the rotation
//! ([`store::redeem::rotate_refresh`]) mints the next pair and seals the
//! response under a key derived from the old token. A reuse inside the grace
//! window (network retries, concurrent tabs) gets that same response back; a
//! reuse after it revokes the whole family ([`store::redeem::replay_refresh`]).

use entities::{refresh_tokens as refresh, users};

use super::TokenRequest;
use super::issue::{Grant, TokenResponse, mint};
use crate::domain::scope::Scopes;
use crate::error::{OAuthError, OAuthErrorCode};
use crate::oauth::access_token;
use crate::oauth::client::Client;
use crate::state::AppState;
use crate::store;
use crate::store::redeem::Replay;
use crate::tokens::{opaque, seal};

fn bad() -> OAuthError {
    OAuthError::invalid_grant("the refresh token is invalid, expired or revoked")
}

#[tracing::instrument(name = "redeem", skip_all,
    fields(grant_type = "refresh_token", client_id = %client.id))]
pub async fn exchange(
    state: &AppState,
    client: &Client,
    req: &TokenRequest,
) -> Result<String, OAuthError> {
    let token = super::required(&req.refresh_token, "refresh_token")?;
    let hash = opaque::ordered_hash(token);
    let now = state.now();
    let (row, user) = store::grants::find_refresh_with_user(&state.db, &hash)
        .await?
        .ok_or_else(bad)?;
    if row.client_id != client.id || row.revoked_at.is_some() || row.expires_at <= now {
        return Err(bad());
    }
    if row.used_at.is_some() {
        return reuse(state, token, &hash).await;
    }
    let (scope, resources) = narrowed(state, client, &row, req)?;
    let user = user.ok_or_else(bad)?;
    let grant = grant(client, &user, &row, scope, resources);
    let mut minted = mint(state, &grant, true, Some(hash.clone())).await?;
    // The new refresh token keeps the whole granted scope.
    if let Some(r) = minted.refresh_row.as_mut() {
        r.scope = row.scope.clone();
        r.resources = row.resources.clone();
    }
    let json = minted.response.to_json();
    let sealed = seal::seal(token, json.as_bytes()).ok_or_else(OAuthError::server_error)?;
    let successor = minted.refresh_row;
    // Lost to a concurrent rotation or a revocation: a reuse.
    if !store::redeem::rotate_refresh(&state.db, &hash, &row.grant_id, successor, sealed, now)
        .await?
    {
        return reuse(state, token, &hash).await;
    }
    Ok(json)
}

/// The scope and resources the new tokens carry. A narrower scope may be
/// asked for; never a wider one (RFC 6749 §6).
fn narrowed(
    state: &AppState,
    client: &Client,
    row: &refresh::Model,
    req: &TokenRequest,
) -> Result<(Scopes, Vec<String>), OAuthError> {
    let granted = Scopes::parse(&row.scope);
    let scope = Scopes::within(req.requested_scopes()?, &granted)
        .map_err(|x| OAuthError::invalid_scope(format!("scope {x:?} was not granted")))?;
    let resources = super::narrowed_resources(req, &row.resources)?;
    // Checked again like every request (`scope`): a scope this deployment no
    // longer offers to a self-described client, or one whose resource was
    // narrowed away, is refused; the client may ask for a narrower scope.
    state
        .discovery
        .scopes
        .check(client.is_verified(), &scope, &resources)
        .map_err(OAuthError::invalid_scope)?;
    Ok((scope, resources))
}

fn grant<'a>(
    client: &'a Client,
    user: &'a users::Model,
    row: &refresh::Model,
    scope: Scopes,
    resources: Vec<String>,
) -> Grant<'a> {
    Grant {
        client,
        user: Some(user),
        scope,
        resources,
        grant_id: row.grant_id.clone(),
        session_id: row.session_id.clone(),
        auth_time: Some(row.auth_time),
        amr: serde_json::from_str(&row.amr).unwrap_or_default(),
        acr: row.acr.clone(),
        org_id: row.organization_id.clone(),
        nonce: None,
    }
}

/// A used token came back. Inside the grace window: the response it got the
/// first time. After it (or with no window at all): the family is revoked.
async fn reuse(state: &AppState, token: &str, hash: &str) -> Result<String, OAuthError> {
    let tokens = &state.settings.tokens;
    match store::redeem::replay_refresh(&state.db, hash, tokens, || state.now()).await? {
        Replay::Sealed(sealed) => {
            let plain = seal::open(token, &sealed).ok_or_else(bad)?;
            // Check it still parses: we never send a half-written body.
            let _: TokenResponse =
                serde_json::from_slice(&plain).map_err(|_| OAuthError::server_error())?;
            String::from_utf8(plain).map_err(|_| OAuthError::server_error())
        }
        Replay::FamilyRevoked { grant_id } => {
            access_token::forget_revocations(state);
            tracing::warn!(grant = %grant_id, "refresh token reused after the grace window; family revoked");
            Err(bad())
        }
        Replay::Refused => Err(bad()),
        Replay::InProgress => Err(OAuthError::new(
            OAuthErrorCode::TemporarilyUnavailable,
            "the refresh is still in progress; retry",
        )),
    }
}
