//! `two_factors`.

use entities::two_factors;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionSession, TransactionTrait,
};

use crate::domain::ids::UserId;
use crate::error::Error;

pub async fn find(
    db: &impl ConnectionTrait,
    user_id: &UserId,
) -> Result<Option<two_factors::Model>, Error> {
    Ok(super::unique(db, two_factors::Entity::find_by_id(user_id.clone())).await?)
}

/// Whether the user has a confirmed TOTP factor.
pub async fn is_enabled(db: &impl ConnectionTrait, user_id: &UserId) -> Result<bool, Error> {
    Ok(find(db, user_id).await?.is_some_and(|t| t.enabled))
}

/// Starts (or restarts) an enrolment: a new secret and backup codes, not yet
/// enabled. `false` when a confirmed factor is in the way (or another
/// enrolment won a race).
pub async fn replace_pending(
    db: &(impl ConnectionTrait + TransactionTrait),
    row: two_factors::Model,
) -> Result<bool, Error> {
    let txn = db.begin().await?;
    two_factors::Entity::delete_many()
        .filter(two_factors::Column::UserId.eq(row.user_id.clone()))
        .filter(two_factors::Column::Enabled.eq(false))
        .exec(&txn)
        .await?;
    match super::insert(&txn, row).await {
        Ok(_) => {}
        Err(e) if super::is_unique_violation(&e) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    txn.commit().await?;
    Ok(true)
}

/// Takes an attempt at a code before it is evaluated: one conditional update
/// that counts it, and the one that makes `limit` in a row also locks the
/// factor until `until` (and starts the count again). `false` while locked
/// (or when the factor is gone), so parallel guesses cannot outrun the limit.
pub async fn take_attempt(
    db: &impl ConnectionTrait,
    user_id: &UserId,
    limit: i32,
    now: i64,
    until: i64,
) -> Result<bool, Error> {
    // Both CASEs read the row as it was before this update (SQL semantics).
    let reaches_limit = || Expr::col(two_factors::Column::Failures).add(1).gte(limit);
    let res = two_factors::Entity::update_many()
        .col_expr(
            two_factors::Column::Failures,
            Expr::case(reaches_limit(), 0)
                .finally(Expr::col(two_factors::Column::Failures).add(1))
                .into(),
        )
        .col_expr(
            two_factors::Column::LockedUntil,
            Expr::case(reaches_limit(), until)
                .finally(Expr::col(two_factors::Column::LockedUntil))
                .into(),
        )
        .filter(two_factors::Column::UserId.eq(user_id))
        .filter(two_factors::Column::LockedUntil.lte(now))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// A right code: the count of wrong ones starts again, and a lock that
/// parallel wrong guesses set meanwhile is lifted (as it would be had the
/// right code come first).
pub async fn clear_failures(db: &impl ConnectionTrait, user_id: &UserId) -> Result<(), Error> {
    two_factors::Entity::update_many()
        .col_expr(two_factors::Column::Failures, Expr::value(0))
        .col_expr(two_factors::Column::LockedUntil, Expr::value(0))
        .filter(two_factors::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Accepts a TOTP code of `step`: only if no code of that step or a later one
/// was accepted before (compare-and-set, so two requests racing with the same
/// code cannot both win). Enables the factor when it was pending.
pub async fn accept_step(
    db: &impl ConnectionTrait,
    user_id: &UserId,
    step: i64,
    now: i64,
) -> Result<bool, Error> {
    let res = two_factors::Entity::update_many()
        .col_expr(two_factors::Column::LastUsedStep, Expr::value(step))
        .col_expr(two_factors::Column::Enabled, Expr::value(true))
        .col_expr(two_factors::Column::UpdatedAt, Expr::value(now))
        .filter(two_factors::Column::UserId.eq(user_id))
        .filter(two_factors::Column::LastUsedStep.lt(step))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Replaces the backup-code list if it is still `expected` (so a code is used
/// once even when two requests race).
pub async fn swap_backup_codes(
    db: &impl ConnectionTrait,
    user_id: &UserId,
    expected: &str,
    codes: &str,
    now: i64,
) -> Result<bool, Error> {
    let res = two_factors::Entity::update_many()
        .col_expr(two_factors::Column::BackupCodes, Expr::value(codes))
        .col_expr(two_factors::Column::UpdatedAt, Expr::value(now))
        .filter(two_factors::Column::UserId.eq(user_id))
        .filter(two_factors::Column::BackupCodes.eq(expected))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn delete(db: &impl ConnectionTrait, user_id: &UserId) -> Result<(), Error> {
    two_factors::Entity::delete_many()
        .filter(two_factors::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}
