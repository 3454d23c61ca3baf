//! `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6).

use super::TokenRequest;
use super::issue::{Grant, mint};
use sea_orm::{ConnectionTrait, TransactionTrait};

use crate::error::{Error, OAuthError, OAuthErrorCode};
use crate::oauth::client::Client;
use crate::oauth::{pkce, redirect, resource, scope};
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;

pub async fn exchange(
    state: &AppState,
    client: &Client,
    req: &TokenRequest,
) -> Result<String, OAuthError> {
    let code = req
        .code
        .as_deref()
        .ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let hash = opaque::ordered_hash(code);
    let now = state.now();
    let bad =
        || OAuthError::invalid_grant("the authorization code is invalid, expired or already used");
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
    // redirect_uri must repeat what the authorization request sent (RFC 6749 §4.1.3).
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
    match (row.code_challenge.as_deref(), req.code_verifier.as_deref()) {
        (Some(challenge), Some(verifier)) if pkce::verify_s256(verifier, challenge) => {}
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier does not match the code_challenge",
            ));
        }
        (Some(_), None) => return Err(OAuthError::invalid_grant("code_verifier is required")),
        // A verifier for a code issued without a challenge: a downgrade attempt.
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier sent but no code_challenge was used",
            ));
        }
        // Codes are issued without a challenge only to exempted clients;
        // checked again in case the exemption was lifted since.
        (None, None) if client.requires_pkce() => {
            return Err(OAuthError::invalid_grant(
                "PKCE is required for this client",
            ));
        }
        (None, None) => {}
    }
    let user = user.ok_or_else(bad)?;
    let granted = scope::parse(&row.resources);
    let resources = resource::narrow(&req.resource, &granted)
        .map_err(|d| OAuthError::new(OAuthErrorCode::InvalidTarget, d))?;
    let amr: Vec<String> = serde_json::from_str(&row.amr).unwrap_or_default();
    let grant = Grant {
        client,
        user: Some(&user),
        scope: scope::parse(&row.scope),
        resources,
        grant_id: row.grant_id.clone(),
        session_id: row.session_id.clone(),
        auth_time: Some(row.auth_time),
        amr,
        acr: row.acr.clone(),
        org_id: row.organization_id.clone(),
        nonce: row.nonce.clone(),
    };
    let with_refresh = super::issues_refresh_token(client, &grant.scope);
    let minted = mint(state, &grant, with_refresh, None).await?;

    // The refresh token is stored first and the code consumed second: each
    // committing on its own where commits are cheap (a lost race revokes the
    // grant, the refresh token just stored with it), else in one transaction.
    let refresh = minted.refresh_row.clone();
    let won = if refresh.is_none() || crate::db::commits_are_cheap(&state.db) {
        redeem(&state.db, refresh, &hash, now).await?
    } else {
        let txn = state.db.begin().await.map_err(Error::from)?;
        let won = redeem(&txn, refresh, &hash, now).await?;
        if won {
            txn.commit().await.map_err(Error::from)?;
        }
        won
    };
    if !won {
        return Err(replayed(state, &row.grant_id).await?);
    }
    Ok(minted.response.to_json())
}

/// Stores the refresh token, then consumes the code; whether the code was
/// still unused.
async fn redeem(
    db: &impl ConnectionTrait,
    refresh: Option<entities::refresh_tokens::Model>,
    hash: &str,
    now: i64,
) -> Result<bool, Error> {
    if let Some(r) = refresh {
        store::grants::insert_refresh(db, r).await?;
    }
    store::grants::consume_code(db, hash, now).await
}

/// A code used twice: what the first use issued is revoked (RFC 9700 §4.5).
async fn replayed(state: &AppState, grant_id: &str) -> Result<OAuthError, OAuthError> {
    crate::oauth::revocation::revoke_grant(state, grant_id).await?;
    Ok(OAuthError::invalid_grant(
        "the authorization code is invalid, expired or already used",
    ))
}
