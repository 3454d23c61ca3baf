//! Everything a request needs, built once at start and passed explicitly.

use std::ops::Deref;
use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::clock::Clock;
use crate::config::Settings;
use crate::login::password::PasswordHasher;
use crate::login::session::SessionCache;
use crate::metrics::Metrics;
use crate::oauth::discovery::Discovery;
use crate::tokens::keys::KeyStore;

/// Cheap to clone: one `Arc`.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub db: DatabaseConnection,
    pub settings: Settings,
    pub clock: Arc<dyn Clock>,
    pub keys: KeyStore,
    pub passwords: PasswordHasher,
    pub sessions: SessionCache,
    pub clients: crate::oauth::client::ClientCache,
    /// Metadata documents that failed recently (not fetched again yet).
    pub refused_documents: crate::oauth::client_metadata::RefusedDocuments,
    pub discovery: Discovery,
    pub metrics: Metrics,
    pub limiter: crate::ratelimit::RateLimiter,
    pub device_pacer: crate::oauth::device::pacer::Pacer,
    pub mailer: crate::mail::Mailer,
    pub passkeys: crate::login::passkey::RelyingParty,
    pub verified_tokens: crate::oauth::access_token::VerifiedTokens,
    pub device_inserts: crate::store::device_writer::DeviceWriter,
    pub user_codes: crate::tokens::user_codes::UserCodes,
    /// Seals and opens the secrets the database holds.
    pub secrets: Arc<crate::secrets::Kek>,
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
        let keys = KeyStore::open(
            db.clone(),
            secrets.clone(),
            key_retention_secs(&settings),
            now,
        )
        .await?;
        let user_codes = {
            use crate::secrets::Slot;
            use crate::tokens::user_codes::{SECRET_NAME, UserCodes};
            let slot = Slot::ServerSecret(SECRET_NAME);
            let fresh = secrets.seal(slot, UserCodes::new_secret().as_bytes())?;
            let sealed = crate::store::secrets::get_or_create(&db, SECRET_NAME, fresh, now).await?;
            let secret = secrets
                .open_text(slot, &sealed)
                .map_err(|e| anyhow::anyhow!("server secret {SECRET_NAME}: {e}"))?;
            UserCodes::from_secret(&secret)?
        };
        let passwords = PasswordHasher::new(settings.password.max_concurrent_hashes).await?;
        let discovery = Discovery::new(&settings)?;
        Ok(AppState(Arc::new(Inner {
            db,
            sessions: SessionCache::new(),
            clients: crate::oauth::client::new_cache(),
            refused_documents: Default::default(),
            keys,
            passwords,
            discovery,
            metrics,
            limiter: crate::ratelimit::RateLimiter::new(settings.rate_limit.clone()),
            device_pacer: Default::default(),
            mailer: crate::mail::Mailer::start(&settings)?,
            passkeys: crate::login::passkey::RelyingParty::from_issuer(&settings.issuer),
            verified_tokens: Default::default(),
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
}

pub fn key_retention_secs(settings: &Settings) -> i64 {
    let t = &settings.tokens;
    t.access_token_ttl.max(t.id_token_ttl) + crate::tokens::keys::RELOAD_AFTER_SECS + 60
}
