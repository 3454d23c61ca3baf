//! Deleting rows nobody can use any more, hourly on every instance (the
//! deletes are idempotent, so instances need not take turns).

use std::time::Duration;

use crate::domain::client_origin::ClientOrigin as Origin;
use crate::error::Error;
use crate::state::AppState;

/// How often [`spawn`]'s jobs run.
pub const INTERVAL: Duration = Duration::from_secs(60 * 60);

/// Device authorizations are kept this long past their expiry, so that a
/// device polling late still hears `expired_token`.
pub const DEVICE_GRACE_SECS: i64 = 60 * 60;

/// Codes, assertion `jti`s and sessions are kept this long past their expiry:
/// a replayed code still revokes its grant (RFC 6749 §4.1.2), an assertion
/// replayed within any clock-skew allowance is still recognised.
pub const EXPIRED_GRACE_SECS: i64 = 60 * 60;

/// Runs every job now and then every [`INTERVAL`], logging what each removed
/// and any error.
pub fn spawn(state: AppState) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(INTERVAL);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            run_once(&state).await;
        }
    });
}

/// Every job once, at the state's "now".
pub async fn run_once(state: &AppState) {
    use crate::store::expired;
    let db = &state.db;
    let now = state.now();
    let past_grace = now - EXPIRED_GRACE_SECS;
    report(
        "stale dynamic clients",
        crate::oauth::registration::remove_stale_dynamic_clients(db, now).await,
    );
    report(
        "unused metadata-document clients",
        expired::unused_clients(
            db,
            Origin::MetadataDocument.as_str(),
            now - crate::oauth::registration::STALE_AFTER_SECS,
        )
        .await,
    );
    report(
        "expired device authorizations",
        crate::store::devices::delete_expired(db, now - DEVICE_GRACE_SECS).await,
    );
    report(
        "ended attempt counters",
        crate::store::counters::delete_expired(db, now).await,
    );
    report(
        "expired upstream sign-ins",
        crate::store::upstream_logins::delete_expired(db, now).await,
    );
    report(
        "unproved SSO connections",
        crate::store::sso::delete_unproved(db, now - crate::login::sso::PROOF_TTL).await,
    );
    report(
        "expired identity transfers",
        crate::store::identities::delete_expired_transfers(db, now).await,
    );
    report("expired sessions", expired::sessions(db, past_grace).await);
    report(
        "expired authorization codes",
        expired::codes(db, past_grace).await,
    );
    report(
        "expired refresh-token families",
        expired::refresh_families(db, past_grace).await,
    );
    report(
        "expired revocation entries",
        expired::revoked_grants(db, now).await,
    );
    report(
        "expired client assertion jtis",
        expired::assertions(db, past_grace).await,
    );
    report(
        "expired consent requests",
        expired::consent_requests(db, now).await,
    );
    report(
        "expired one-time tokens",
        expired::one_time_tokens(db, now).await,
    );
    report(
        "expired passkey ceremonies",
        expired::ceremonies(db, now).await,
    );
}

fn report(what: &str, result: Result<u64, Error>) {
    match result {
        Ok(0) => {}
        Ok(n) => tracing::info!(removed = n, "removed {what}"),
        Err(e) => tracing::error!(error = %e, "removing {what} failed"),
    }
}
