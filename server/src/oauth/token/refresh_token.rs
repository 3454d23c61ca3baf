//! `grant_type=refresh_token` (RFC 6749 §6) with rotation and reuse detection
//! (RFC 9700 §4.14).
//!
//! Each refresh token works once. Whoever wins the conditional update mints
//! the next pair and seals the response under a key derived from the old
//! token. A reuse inside the grace window (network retries, concurrent tabs)
//! gets that same response back; a reuse after it revokes the whole family.

use std::time::Duration;

use super::TokenRequest;
use super::issue::{Grant, TokenResponse, mint};
use sea_orm::{ConnectionTrait, TransactionTrait};

use crate::error::{Error, OAuthError, OAuthErrorCode};
use crate::oauth::client::Client;
use crate::oauth::{resource, scope};
use crate::state::AppState;
use crate::store;
use crate::tokens::{opaque, seal};

fn bad() -> OAuthError {
    OAuthError::invalid_grant("the refresh token is invalid, expired or revoked")
}

pub async fn exchange(
    state: &AppState,
    client: &Client,
    req: &TokenRequest,
) -> Result<String, OAuthError> {
    let token = req
        .refresh_token
        .as_deref()
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
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

    // A narrower scope may be asked for; never a wider one (RFC 6749 §6).
    let granted = scope::parse(&row.scope);
    let asked = req.requested_scopes()?;
    let scopes = match asked {
        Some(s) if !s.is_empty() => {
            if let Some(x) = s.iter().find(|x| !granted.contains(x)) {
                return Err(OAuthError::invalid_scope(format!(
                    "scope {x:?} was not granted"
                )));
            }
            s
        }
        _ => granted.clone(),
    };
    let resources = resource::narrow(&req.resource, &scope::parse(&row.resources))
        .map_err(|d| OAuthError::new(OAuthErrorCode::InvalidTarget, d))?;
    // Checked again like every request (`scope`): a scope this deployment no
    // longer offers to a self-described client, or one whose resource was
    // narrowed away, is refused; the client may ask for a narrower scope.
    state
        .discovery
        .scopes
        .check(client.is_verified(), &scopes, &resources)
        .map_err(OAuthError::invalid_scope)?;
    let user = user.ok_or_else(bad)?;
    let grant = Grant {
        client,
        user: Some(&user),
        scope: scopes,
        resources,
        grant_id: row.grant_id.clone(),
        session_id: row.session_id.clone(),
        auth_time: Some(row.auth_time),
        amr: serde_json::from_str(&row.amr).unwrap_or_default(),
        acr: row.acr.clone(),
        org_id: row.organization_id.clone(),
        nonce: None,
    };
    let mut minted = mint(state, &grant, true, Some(hash.clone())).await?;
    // The new refresh token keeps the whole granted scope.
    if let Some(r) = minted.refresh_row.as_mut() {
        r.scope = row.scope.clone();
        r.resources = row.resources.clone();
    }
    let json = minted.response.to_json();
    let sealed = seal::seal(token, json.as_bytes()).ok_or_else(OAuthError::server_error)?;

    // The successor is stored first and the old token claimed second. Where
    // commits are cheap (`db::commits_are_cheap`) each commits on its own and
    // a claim that loses (a concurrent rotation, a revoked grant) deletes the
    // successor again; a crash in between leaves a token nobody holds.
    // Elsewhere both share a transaction that a lost claim rolls back. A
    // revocation in between either marks the successor too or fails the claim.
    let successor = minted.refresh_row.clone();
    let won = if crate::db::commits_are_cheap(&state.db) {
        let won = rotate(
            &state.db,
            successor.clone(),
            &hash,
            &row.grant_id,
            now,
            sealed,
        )
        .await?;
        if let (false, Some(r)) = (won, &successor) {
            store::grants::delete_refresh(&state.db, &r.token_hash).await?;
        }
        won
    } else {
        let txn = state.db.begin().await.map_err(Error::from)?;
        let won = rotate(&txn, successor, &hash, &row.grant_id, now, sealed).await?;
        if won {
            txn.commit().await.map_err(Error::from)?;
        }
        won
    };
    if !won {
        return reuse(state, token, &hash).await;
    }
    Ok(json)
}

/// Stores the successor, then claims the old token; whether the claim won.
async fn rotate(
    db: &impl ConnectionTrait,
    successor: Option<entities::refresh_tokens::Model>,
    hash: &str,
    grant_id: &str,
    now: i64,
    sealed: Vec<u8>,
) -> Result<bool, Error> {
    if let Some(r) = successor {
        store::grants::insert_refresh(db, r).await?;
    }
    store::grants::claim_refresh(db, hash, grant_id, now, sealed).await
}

/// Whether a reuse `elapsed` seconds after the first use is still inside a
/// window of `grace` seconds. Times are whole seconds, so a window of 0 must
/// be checked on its own: otherwise a reuse within the same second (elapsed
/// 0) would pass `elapsed <= 0` and be answered.
fn inside_grace(elapsed: i64, grace: i64) -> bool {
    grace > 0 && elapsed <= grace
}

/// A used token came back. Inside the grace window: the response it got the
/// first time. After it (or with no window at all): the family is revoked.
async fn reuse(state: &AppState, token: &str, hash: &str) -> Result<String, OAuthError> {
    let grace = state.settings.tokens.refresh_reuse_grace;
    // The winner may still be committing; its row shows the successor shortly.
    for attempt in 0..20 {
        let row = store::grants::find_refresh(&state.db, hash)
            .await?
            .ok_or_else(bad)?;
        if row.revoked_at.is_some() {
            return Err(bad());
        }
        let Some(used_at) = row.used_at else {
            return Err(bad());
        };
        if !inside_grace(state.now() - used_at, grace) {
            crate::oauth::revocation::revoke_grant(state, &row.grant_id).await?;
            tracing::warn!(grant = %row.grant_id, "refresh token reused after the grace window; family revoked");
            return Err(bad());
        }
        if let Some(sealed) = row.successor {
            let plain = seal::open(token, &sealed).ok_or_else(bad)?;
            // Check it still parses: we never send a half-written body.
            let _: TokenResponse =
                serde_json::from_slice(&plain).map_err(|_| OAuthError::server_error())?;
            return String::from_utf8(plain).map_err(|_| OAuthError::server_error());
        }
        tokio::time::sleep(Duration::from_millis(10 * (attempt + 1))).await;
    }
    Err(OAuthError::new(
        OAuthErrorCode::TemporarilyUnavailable,
        "the refresh is still in progress; retry",
    ))
}

#[cfg(test)]
mod tests {
    use super::inside_grace;

    #[test]
    fn a_window_of_zero_seconds_answers_no_reuse() {
        assert!(!inside_grace(0, 0));
        assert!(inside_grace(0, 10));
        assert!(inside_grace(10, 10));
        assert!(!inside_grace(11, 10));
    }
}
