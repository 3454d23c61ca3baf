//! Deleting rows nobody can use any more, hourly on every instance (the
//! deletes are idempotent, so instances need not take turns).

use std::time::Duration;

use crate::error::Error;
use crate::state::AppState;

/// How often [`spawn`]'s jobs run.
pub const INTERVAL: Duration = Duration::from_secs(60 * 60);

/// Device authorizations are kept this long past their expiry, so that a
/// device polling late still hears `expired_token`.
pub const DEVICE_GRACE_SECS: i64 = 60 * 60;

/// Runs every job now and then every [`INTERVAL`], logging what each removed
/// and any error.
pub fn spawn(state: AppState) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(INTERVAL);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let now = state.now();
            report(
                "stale dynamic clients",
                crate::oauth::registration::remove_stale_dynamic_clients(&state.db, now).await,
            );
            report(
                "expired device authorizations",
                crate::store::devices::delete_expired(&state.db, now - DEVICE_GRACE_SECS).await,
            );
            report(
                "ended attempt counters",
                crate::store::counters::delete_expired(&state.db, now).await,
            );
        }
    });
}

fn report(what: &str, result: Result<u64, Error>) {
    match result {
        Ok(0) => {}
        Ok(n) => tracing::info!(removed = n, "removed {what}"),
        Err(e) => tracing::error!(error = %e, "removing {what} failed"),
    }
}
