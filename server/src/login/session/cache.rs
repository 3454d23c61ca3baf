//! This instance's memory of live sessions, by token hash. A cache, not the
//! truth: its TTL bounds how long another instance may still accept a
//! session signed out elsewhere; this instance forgets at once.

use std::sync::Arc;
use std::time::Duration;

use entities::{sessions, users};
use moka::future::Cache;

use crate::domain::amr::Amr;
use crate::domain::ids::UserId;

/// A signed-in session and its user.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub session: sessions::Model,
    pub user: users::Model,
    /// `session.amr`, parsed once.
    amr: Vec<Amr>,
}

impl SessionInfo {
    pub fn new(session: sessions::Model, user: users::Model) -> Self {
        let amr = Amr::from_json(&session.amr);
        SessionInfo { session, user, amr }
    }

    /// How the session was authenticated (RFC 8176), parsed when the
    /// session was read.
    pub fn amr(&self) -> Vec<Amr> {
        self.amr.clone()
    }

    pub fn pending(&self) -> bool {
        self.session.second_factor_pending
    }
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

    pub async fn get(&self, hash: &str) -> Option<Arc<SessionInfo>> {
        self.by_hash.get(hash).await
    }

    pub async fn insert(&self, info: Arc<SessionInfo>) {
        let hash = info.session.token_hash.clone();
        self.by_hash.insert(hash, info).await;
    }

    pub async fn forget(&self, hash: &str) {
        self.by_hash.invalidate(hash).await;
    }

    /// Forgets every cached session of a user.
    pub fn forget_user(&self, user_id: &UserId) {
        let uid = user_id.clone();
        let _ = self
            .by_hash
            .invalidate_entries_if(move |_, info| info.user.id == uid);
    }
}

impl Default for SessionCache {
    fn default() -> Self {
        Self::new()
    }
}
