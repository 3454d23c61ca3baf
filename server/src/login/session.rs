//! Browser sessions: a 256-bit random token in an `HttpOnly` cookie, stored as
//! its SHA-256, served from a short-lived moka cache.
//!
//! The cache is a cache: its 30 s TTL bounds how long another instance may
//! still accept a session signed out elsewhere; this instance forgets at once.

use std::sync::Arc;
use std::time::Duration;

use entities::{sessions, users};
use moka::future::Cache;

use crate::account::organisations;
use crate::error::Error;
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;

/// A signed-in session and its user.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub session: sessions::Model,
    pub user: users::Model,
}

pub struct SessionCache {
    by_hash: Cache<String, Arc<SessionInfo>>,
}

impl SessionCache {
    pub fn new() -> Self {
        SessionCache {
            by_hash: Cache::builder()
                .support_invalidation_closures()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(30))
                .build(),
        }
    }
}

impl Default for SessionCache {
    fn default() -> Self {
        Self::new()
    }
}

/// Where a sign-in came from, for the session row.
#[derive(Debug, Default, Clone)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Starts a session for `user`, creating their personal organisation on first
/// sign-in and making it the active one (seed 000). Returns the cookie value.
pub async fn start(
    state: &AppState,
    user: users::Model,
    amr: &[&str],
    client: ClientInfo,
) -> Result<(String, SessionInfo), Error> {
    let now = state.now();
    let org = organisations::ensure_personal(&state.db, &user, now).await?;
    let token = opaque::new_secret();
    let session = sessions::Model {
        id: opaque::new_id(),
        token_hash: opaque::hash_secret(&token),
        user_id: user.id.clone(),
        active_organization_id: Some(org),
        amr: serde_json::to_string(amr).unwrap_or_else(|_| "[]".into()),
        auth_time: now,
        created_at: now,
        expires_at: now + state.settings.session.ttl,
        ip: client.ip,
        user_agent: client.user_agent.map(|ua| ua.chars().take(512).collect()),
    };
    store::sessions::insert(&state.db, session.clone()).await?;
    let info = SessionInfo { session, user };
    state
        .sessions
        .by_hash
        .insert(info.session.token_hash.clone(), Arc::new(info.clone()))
        .await;
    Ok((token, info))
}

/// The live session for a cookie value, if any.
pub async fn lookup(state: &AppState, token: &str) -> Result<Option<Arc<SessionInfo>>, Error> {
    let hash = opaque::hash_secret(token);
    let now = state.now();
    if let Some(info) = state.sessions.by_hash.get(&hash).await {
        if info.session.expires_at > now {
            return Ok(Some(info));
        }
        state.sessions.by_hash.invalidate(&hash).await;
        return Ok(None);
    }
    let Some((session, user)) = store::sessions::find_live(&state.db, &hash, now).await? else {
        return Ok(None);
    };
    let info = Arc::new(SessionInfo { session, user });
    state.sessions.by_hash.insert(hash, info.clone()).await;
    Ok(Some(info))
}

/// Ends the session behind a cookie value. Idempotent.
pub async fn end(state: &AppState, token: &str) -> Result<(), Error> {
    let hash = opaque::hash_secret(token);
    state.sessions.by_hash.invalidate(&hash).await;
    store::sessions::delete_by_hash(&state.db, &hash).await
}

/// Ends every session of a user (after a password reset).
pub async fn end_all(state: &AppState, user_id: &str) -> Result<(), Error> {
    forget_user(state, user_id);
    store::sessions::delete_for_user(&state.db, user_id).await
}

/// Drops this instance's cached sessions of a user after their account changed.
pub fn forget_user(state: &AppState, user_id: &str) {
    let uid = user_id.to_string();
    let _ = state
        .sessions
        .by_hash
        .invalidate_entries_if(move |_, info| info.user.id == uid);
}
