//! What this instance remembers about access tokens it has checked: a
//! verified token's claims (the signature check is the expensive part), and
//! the revocation verdict for its `jti`/`gid` (a database read), for
//! [`REVOCATION_CACHE_SECS`]. The checks themselves live in
//! `oauth::access_token`; this is only the memory, so `AppState` can hold it
//! without depending on the code that uses it.

use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;
use serde_json::Value;

/// How long another instance may still call a revoked token active.
pub const REVOCATION_CACHE_SECS: u64 = 10;

pub struct VerifiedTokens {
    /// token → its claims, once the signature, `typ` and `iss` checked out.
    claims: Cache<String, Arc<Value>>,
    /// "jti gid" → revoked?
    revoked: Cache<String, bool>,
}

impl VerifiedTokens {
    pub fn new() -> Self {
        VerifiedTokens {
            claims: Cache::builder()
                .max_capacity(50_000)
                .time_to_live(Duration::from_secs(300))
                .build(),
            revoked: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(REVOCATION_CACHE_SECS))
                .build(),
        }
    }

    /// The claims of `token` if its signature was checked recently.
    pub fn claims(&self, token: &str) -> Option<Arc<Value>> {
        self.claims.get(token)
    }

    pub fn remember_claims(&self, token: &str, claims: Arc<Value>) {
        self.claims.insert(token.to_string(), claims);
    }

    /// The recent revocation verdict for `ids` ("jti gid"), if any.
    pub fn revoked(&self, ids: &str) -> Option<bool> {
        self.revoked.get(ids)
    }

    pub fn remember_verdict(&self, ids: String, revoked: bool) {
        self.revoked.insert(ids, revoked);
    }

    /// Drops every revocation verdict (something was just revoked).
    pub fn forget_revocations(&self) {
        self.revoked.invalidate_all();
    }
}

impl Default for VerifiedTokens {
    fn default() -> Self {
        Self::new()
    }
}
