//! Single-use redemption: an authorization code (RFC 6749 §4.1.2), a
//! refresh token (RFC 9700 §4.14.2) and an approved device authorization
//! (RFC 8628 §3.5) each hand out tokens once (DESIGN §1.4).
//!
//! Every operation here is atomic. The refresh token a redemption hands out
//! is stored, then the single-use row is claimed by a conditional UPDATE
//! whose row count decides the winner; a caller that loses leaves nothing
//! behind. How the two statements commit is chosen here, not by the caller
//! ([`crate::db::commits_are_cheap`]): where a commit costs about a
//! statement (SQLite in WAL mode), each commits on its own and a lost claim
//! deletes the row stored before it (a crash in between leaves a refresh
//! token nobody holds); where each commit waits for a flush (PostgreSQL),
//! both share one transaction that a lost claim rolls back, and a concurrent
//! claim waits on the row lock of the first before it finds the row taken.

use std::time::Duration;

use entities::refresh_tokens as refresh;
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};

use super::{devices, grants};
use crate::config::TokenSettings;
use crate::domain::ids::GrantId;
use crate::error::Error;

/// Redeems an authorization code (RFC 6749 §4.1.3): stores the refresh token
/// issued with it, if any, and marks the code used. True for exactly one
/// caller.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn redeem_code(
    db: &DatabaseConnection,
    code_hash: &str,
    issued: Option<refresh::Model>,
    now: i64,
) -> Result<bool, Error> {
    issue_once(db, issued, Claim::Code { hash: code_hash }, now).await
}

/// Rotates a refresh token (RFC 9700 §4.14.2): stores its successor and marks
/// it used, keeping `sealed` (the response, sealed under the old token) for
/// the retries [`replay_refresh`] answers. True for exactly one caller, and
/// only while the grant is not revoked: a revocation in between either marks
/// the successor too or fails the claim.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn rotate_refresh(
    db: &DatabaseConnection,
    hash: &str,
    grant_id: &GrantId,
    successor: Option<refresh::Model>,
    sealed: Vec<u8>,
    now: i64,
) -> Result<bool, Error> {
    let claim = Claim::Refresh {
        hash,
        grant_id,
        sealed,
    };
    issue_once(db, successor, claim, now).await
}

/// Consumes an approved device authorization (RFC 8628 §3.5) and stores the
/// refresh token issued for it, if any. True for exactly one caller.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn consume_device(
    db: &DatabaseConnection,
    device_code_hash: &str,
    issued: Option<refresh::Model>,
    now: i64,
) -> Result<bool, Error> {
    let claim = Claim::Device {
        hash: device_code_hash,
    };
    issue_once(db, issued, claim, now).await
}

/// The single-use row a redemption claims.
enum Claim<'a> {
    Code {
        hash: &'a str,
    },
    Refresh {
        hash: &'a str,
        grant_id: &'a GrantId,
        sealed: Vec<u8>,
    },
    Device {
        hash: &'a str,
    },
}

impl Claim<'_> {
    /// The conditional update; whether it won.
    async fn run(self, db: &impl ConnectionTrait, now: i64) -> Result<bool, Error> {
        match self {
            Claim::Code { hash } => grants::consume_code(db, hash, now).await,
            Claim::Refresh {
                hash,
                grant_id,
                sealed,
            } => grants::claim_refresh(db, hash, grant_id, now, sealed).await,
            Claim::Device { hash } => devices::consume(db, hash, now).await,
        }
    }
}

/// Stores `issued`, then claims; both or neither (see the module docs).
async fn issue_once(
    db: &DatabaseConnection,
    issued: Option<refresh::Model>,
    claim: Claim<'_>,
    now: i64,
) -> Result<bool, Error> {
    let Some(row) = issued else {
        return claim.run(db, now).await;
    };
    if crate::db::commits_are_cheap(db) {
        let hash = row.token_hash.clone();
        grants::insert_refresh(db, row).await?;
        let won = claim.run(db, now).await?;
        if !won {
            grants::delete_refresh(db, &hash).await?;
        }
        return Ok(won);
    }
    let txn = db.begin().await?;
    grants::insert_refresh(&txn, row).await?;
    let won = claim.run(&txn, now).await?;
    if won {
        txn.commit().await?;
    }
    Ok(won)
}

/// What a used refresh token that came back gets (RFC 9700 §4.14.2).
pub enum Replay {
    /// Inside the grace window: the response its first use got, sealed
    /// under the token.
    Sealed(Vec<u8>),
    /// After the window (or with no window at all): the token's whole family
    /// is revoked now.
    FamilyRevoked { grant_id: GrantId },
    /// Unknown or revoked: refused.
    Refused,
    /// The winner of the rotation has not stored its response yet.
    InProgress,
}

/// A used refresh token came back. Inside the grace window (network retries,
/// concurrent tabs) it gets the response of its first use; after it, its
/// family (the grant) is revoked. The winner may still be committing: its
/// row shows the response shortly, so the row is read again a few times
/// before giving up. `now` is read at each look.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn replay_refresh(
    db: &DatabaseConnection,
    hash: &str,
    tokens: &TokenSettings,
    now: impl Fn() -> i64,
) -> Result<Replay, Error> {
    for attempt in 0..20 {
        let Some(row) = grants::find_refresh(db, hash).await? else {
            return Ok(Replay::Refused);
        };
        if row.revoked_at.is_some() {
            return Ok(Replay::Refused);
        }
        let Some(used_at) = row.used_at else {
            return Ok(Replay::Refused);
        };
        if !inside_grace(now() - used_at, tokens.refresh_reuse_grace) {
            let at = now();
            let keep = grants::revoked_until(tokens, at);
            grants::revoke_grant(db, &row.grant_id, at, keep).await?;
            return Ok(Replay::FamilyRevoked {
                grant_id: row.grant_id,
            });
        }
        if let Some(sealed) = row.successor {
            return Ok(Replay::Sealed(sealed));
        }
        tokio::time::sleep(Duration::from_millis(10 * (attempt + 1))).await;
    }
    Ok(Replay::InProgress)
}

/// Whether a reuse `elapsed` seconds after the first use is still inside a
/// window of `grace` seconds. Times are whole seconds, so a window of 0 must
/// be checked on its own: otherwise a reuse within the same second (elapsed
/// 0) would pass `elapsed <= 0` and be answered.
fn inside_grace(elapsed: i64, grace: i64) -> bool {
    grace > 0 && elapsed <= grace
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
