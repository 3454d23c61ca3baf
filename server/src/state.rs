//! Everything a request needs, built once at start and passed explicitly:
//! the database, settings and clock, the keys and secrets, and a few named
//! services ([`Caches`], [`Limits`], mail, passkeys, device codes).
//!
//! This file imports only types whose files do not import it back, so the
//! services stay below the code that uses them.

use std::ops::Deref;
use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::clock::Clock;
use crate::config::Settings;
use crate::login::passkey::relying_party::RelyingParty;
use crate::login::password::PasswordHasher;
use crate::login::session::cache::SessionCache;
use crate::login::social::providers::Upstreams;
use crate::mail::Mailer;
use crate::metrics::Metrics;
use crate::oauth::discovery::Discovery;
use crate::ratelimit::{Family, RateLimiter, RetryAfter};
use crate::secrets::Kek;
use crate::tokens::keys::KeyStore;
use crate::tokens::user_codes::UserCodes;
use crate::tokens::verified::VerifiedTokens;

/// Cheap to clone: one `Arc`.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub db: DatabaseConnection,
    pub settings: Settings,
    pub clock: Arc<dyn Clock>,
    pub keys: KeyStore,
    /// Seals and opens the secrets the database holds.
    pub secrets: Arc<Kek>,
    pub passwords: PasswordHasher,
    pub metrics: Metrics,
    pub mailer: Mailer,
    pub discovery: Discovery,
    pub passkeys: RelyingParty,
    /// Upstream sign-in providers and the client that calls them.
    pub upstreams: Upstreams,
    pub caches: Caches,
    pub limits: Limits,
    /// Device authorizations: user codes and the batched writer of new ones.
    pub user_codes: UserCodes,
    pub device_inserts: crate::store::device_writer::DeviceWriter,
}

/// What this instance remembers to spare the database and the CPU. Caches
/// are caches: short-lived, and correctness never depends on them.
pub struct Caches {
    pub sessions: SessionCache,
    pub clients: crate::oauth::client::model::ClientCache,
    /// Metadata documents that failed recently (not fetched again yet).
    pub refused_documents: crate::oauth::client_metadata::refused::RefusedDocuments,
    pub verified_tokens: VerifiedTokens,
}

/// What paces and bounds requests on this instance.
pub struct Limits {
    pub limiter: RateLimiter,
    pub device_pacer: crate::oauth::device::pacer::Pacer,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Connects, migrates, unlocks and seals the secrets at rest, makes sure
    /// signing keys exist, and warms what the hot paths need.
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let db = crate::db::connect(&settings.database_url).await?;
        crate::db::migrate(&db).await?;
        Self::with_db(settings, clock, db).await
    }

    /// As [`build`](Self::build) on an already migrated connection.
    pub async fn with_db(
        settings: Settings,
        clock: Arc<dyn Clock>,
        mut db: DatabaseConnection,
    ) -> anyhow::Result<Self> {
        let now = clock.now();
        let metrics = Metrics::default();
        metrics.count_statements(&mut db);
        let device_inserts = crate::store::device_writer::DeviceWriter::new(db.clone());
        let (secrets, sealed) = crate::secrets::key_source::unlock(&settings, &db, now).await?;
        if sealed.values > 0 {
            tracing::info!(
                values = sealed.values,
                "sealed secrets under the current key"
            );
        }
        let retention = key_retention_secs(&settings);
        let keys = KeyStore::open(db.clone(), secrets.clone(), retention, now).await?;
        let user_codes = user_codes(&secrets, &db, now).await?;
        Ok(AppState(Arc::new(Inner {
            passwords: PasswordHasher::new(settings.password.max_concurrent_hashes).await?,
            discovery: Discovery::new(&settings)?,
            mailer: Mailer::start(&settings)?,
            passkeys: RelyingParty::from_issuer(&settings.issuer),
            upstreams: Upstreams::new(&settings)?,
            caches: Caches {
                sessions: SessionCache::new(),
                clients: crate::oauth::client::model::new_cache(),
                refused_documents: Default::default(),
                verified_tokens: VerifiedTokens::new(),
            },
            limits: Limits {
                limiter: RateLimiter::new(settings.rate_limit.clone()),
                device_pacer: Default::default(),
            },
            db,
            keys,
            metrics,
            device_inserts,
            user_codes,
            secrets,
            settings,
            clock,
        })))
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// How long a retired key stays in the JWKS: longer than any token it
    /// signed can live, plus the time other instances may still sign with it.
    pub fn key_retention_secs(&self) -> i64 {
        key_retention_secs(&self.settings)
    }

    /// Takes one token from each key's bucket in `family`; the longest wait
    /// if any is empty.
    pub fn limit(&self, family: Family, keys: &[String]) -> Result<(), RetryAfter> {
        self.limits
            .limiter
            .check_all(family, keys, self.now() as f64)
    }
}

/// User codes, keyed by the shared server secret that makes them (created on
/// the first start, sealed under the KEK).
async fn user_codes(kek: &Kek, db: &DatabaseConnection, now: i64) -> anyhow::Result<UserCodes> {
    use crate::tokens::user_codes::SECRET_NAME;
    let secret =
        crate::secrets::server_secret(kek, db, SECRET_NAME, UserCodes::new_secret, now).await?;
    Ok(UserCodes::from_secret(&secret)?)
}

pub fn key_retention_secs(settings: &Settings) -> i64 {
    let t = &settings.tokens;
    t.access_token_ttl.max(t.id_token_ttl) + crate::tokens::keys::RELOAD_AFTER_SECS + 60
}
