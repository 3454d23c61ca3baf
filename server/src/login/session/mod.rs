//! Browser sessions: a 256-bit random token in an `HttpOnly` cookie, stored as
//! its SHA-256, served from a short-lived cache ([`cache`]).
//!
//! ```text
//! first factor ─► start ─► TOTP on? ──no──► session (amr: pwd | otp)
//!                              │yes
//!                              ▼
//!                  pending session (10 min, authorises only /login/2fa)
//!                              │ code accepted
//!                              ▼
//!                  elevate ─► session (amr + otp + mfa, auth_time = now)
//! ```
//! A full session is elevated the same way for step-up (`acr_values`).

pub mod cache;

use std::sync::Arc;

use entities::{sessions, users};

pub use self::cache::{SessionCache, SessionInfo};
use crate::account::organisations;
use crate::domain::amr::Amr;
use crate::domain::ids::UserId;
use crate::error::Error;
use crate::login::assurance;
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;

/// Where a sign-in came from, for the session row.
#[derive(Debug, Default, Clone)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// How long a session waiting for its second factor lives.
pub const PENDING_TTL: i64 = 600;

/// Starts a session for `user`, creating their personal organisation on first
/// sign-in and making it the active one (seed 000). Returns the cookie value.
/// When the user has TOTP on and `amr` is a single factor, the session is
/// pending until [`elevate`] accepts a second one.
pub async fn start(
    state: &AppState,
    user: users::Model,
    amr: &[Amr],
    client: ClientInfo,
) -> Result<(String, SessionInfo), Error> {
    begin(state, user, amr, client, false).await
}

/// [`start`] for the account just created: the session is marked as the
/// creator's, so verifying the address from it keeps what it set up.
pub async fn start_after_sign_up(
    state: &AppState,
    user: users::Model,
    amr: &[Amr],
    client: ClientInfo,
) -> Result<(String, SessionInfo), Error> {
    begin(state, user, amr, client, true).await
}

async fn begin(
    state: &AppState,
    user: users::Model,
    amr: &[Amr],
    client: ClientInfo,
    began_with_sign_up: bool,
) -> Result<(String, SessionInfo), Error> {
    let now = state.now();
    let org = organisations::ensure_personal(&state.db, &user, now).await?;
    let pending = !amr.contains(&assurance::MFA)
        && store::two_factors::is_enabled(&state.db, &user.id).await?;
    let token = opaque::new_secret();
    let session = sessions::Model {
        id: opaque::new_id(),
        token_hash: opaque::hash_secret(&token),
        user_id: user.id.clone(),
        active_organization_id: Some(org),
        amr: Amr::to_json(amr),
        auth_time: now,
        created_at: now,
        expires_at: now
            + if pending {
                PENDING_TTL
            } else {
                state.settings.session.ttl
            },
        ip: client.ip,
        user_agent: client.user_agent.map(|ua| ua.chars().take(512).collect()),
        second_factor_pending: pending,
        began_with_sign_up,
    };
    store::sessions::insert(&state.db, session.clone()).await?;
    let info = SessionInfo::new(session, user);
    state.caches.sessions.insert(Arc::new(info.clone())).await;
    Ok((token, info))
}

/// The live, fully signed-in session for a cookie value, if any.
pub async fn lookup(state: &AppState, token: &str) -> Result<Option<Arc<SessionInfo>>, Error> {
    Ok(lookup_any(state, token).await?.filter(|s| !s.pending()))
}

/// The live session for a cookie value, pending or not (for `/login/2fa`).
pub async fn lookup_any(state: &AppState, token: &str) -> Result<Option<Arc<SessionInfo>>, Error> {
    let hash = opaque::hash_secret(token);
    let now = state.now();
    if let Some(info) = state.caches.sessions.get(&hash).await {
        if info.session.expires_at > now {
            return Ok(Some(info));
        }
        state.caches.sessions.forget(&hash).await;
        return Ok(None);
    }
    let Some((session, user)) = store::sessions::find_live(&state.db, &hash, now).await? else {
        return Ok(None);
    };
    let info = Arc::new(SessionInfo::new(session, user));
    state.caches.sessions.insert(info.clone()).await;
    Ok(Some(info))
}

/// Records a second factor on a session: `method` and `mfa` join its `amr`,
/// `auth_time` becomes now, and a pending session becomes a full one. The
/// session gets a new token (its privileges changed); `None` if it ended
/// meanwhile. The new cookie value comes back with it.
pub async fn elevate(
    state: &AppState,
    info: &SessionInfo,
    method: Amr,
) -> Result<Option<(String, Arc<SessionInfo>)>, Error> {
    let now = state.now();
    let amr = assurance::add_factor(&info.amr(), method);
    let token = opaque::new_secret();
    let session = sessions::Model {
        token_hash: opaque::hash_secret(&token),
        amr: Amr::to_json(&amr),
        auth_time: now,
        // A step-up does not make a session live longer.
        expires_at: if info.pending() {
            now + state.settings.session.ttl
        } else {
            info.session.expires_at
        },
        second_factor_pending: false,
        ..info.session.clone()
    };
    let old_hash = &info.session.token_hash;
    state.caches.sessions.forget(old_hash).await;
    if !store::sessions::replace(&state.db, old_hash, session.clone()).await? {
        return Ok(None);
    }
    let updated = Arc::new(SessionInfo::new(session, info.user.clone()));
    state.caches.sessions.insert(updated.clone()).await;
    Ok(Some((token, updated)))
}

/// Ends the session behind a cookie value. Idempotent.
pub async fn end(state: &AppState, token: &str) -> Result<(), Error> {
    let hash = opaque::hash_secret(token);
    state.caches.sessions.forget(&hash).await;
    store::sessions::delete_by_hash(&state.db, &hash).await
}

/// Ends every session of a user (after a password reset).
pub async fn end_all(state: &AppState, user_id: &UserId) -> Result<(), Error> {
    forget_user(state, user_id);
    store::sessions::delete_for_user(&state.db, user_id).await
}

/// Drops this instance's cached sessions of a user after their account changed.
pub fn forget_user(state: &AppState, user_id: &UserId) {
    state.caches.sessions.forget_user(user_id);
}
