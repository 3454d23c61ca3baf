//! The recently refused documents, held by the application state: nothing
//! here reaches back for it.

use std::sync::Arc;
use std::time::Duration;

/// How long a refused document is not fetched again: every authorize request
/// naming a broken (or hostile) document would otherwise make a connection.
pub const REFUSED_CACHE_SECS: u64 = 30;

/// Document URLs refused recently, with why (for the log) and whether the
/// refusal was about reaching it rather than what it said.
#[derive(Clone)]
pub struct RefusedDocuments(moka::future::Cache<String, (Arc<str>, Reach)>);

/// Whether a refusal came from getting the document (a budget, the network,
/// its host) or from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Unreachable,
    Refused,
}

impl Default for RefusedDocuments {
    fn default() -> Self {
        RefusedDocuments(
            moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(REFUSED_CACHE_SECS))
                .build(),
        )
    }
}

impl RefusedDocuments {
    /// Why `url` was refused, if it was within [`REFUSED_CACHE_SECS`].
    pub async fn get(&self, url: &str) -> Option<(Arc<str>, Reach)> {
        self.0.get(url).await
    }

    /// Remembers a refusal of `url`.
    pub async fn insert(&self, url: String, refusal: (Arc<str>, Reach)) {
        self.0.insert(url, refusal).await;
    }
}
