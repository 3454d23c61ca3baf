//! `device_authorizations`.

use entities::device_authorizations as devices;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter};

use crate::domain::device::DeviceStatus;
use crate::domain::ids::UserId;
use crate::error::Error;
use crate::tokens::opaque;

/// Inserts; false when the user code's sequence number is already taken
/// (retry with another).
pub async fn insert(db: &impl ConnectionTrait, row: devices::Model) -> Result<bool, Error> {
    match super::insert(db, row).await {
        Ok(_) => Ok(true),
        Err(e) if super::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Inserts many rows in one statement: all or none. Without RETURNING, which
/// sea-orm's `exec` adds to read back keys that the caller already has.
pub async fn insert_many(
    db: &impl ConnectionTrait,
    rows: Vec<devices::Model>,
) -> Result<(), Error> {
    devices::Entity::insert_many(rows.into_iter().map(IntoActiveModel::into_active_model))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub async fn by_device_code(
    db: &impl ConnectionTrait,
    hash: &str,
) -> Result<Option<devices::Model>, Error> {
    Ok(super::unique(db, devices::Entity::find_by_id(hash.to_string())).await?)
}

/// The authorization behind one of `seqs`, the numbers a typed user code can
/// stand for (`tokens::user_codes`).
pub async fn by_user_code_seq(
    db: &impl ConnectionTrait,
    seqs: Vec<u64>,
) -> Result<Option<devices::Model>, Error> {
    let seqs = seqs.into_iter().map(|s| s as i64);
    Ok(super::unique(
        db,
        devices::Entity::find().filter(devices::Column::UserCodeSeq.is_in(seqs)),
    )
    .await?)
}

/// Deletes authorizations that expired before `before` (unix seconds). Their
/// ordered device-code hashes start with the time they were made, so the rows
/// are found by a range of the primary key instead of a scan.
pub async fn delete_expired(db: &impl ConnectionTrait, before: i64) -> Result<u64, Error> {
    let made_before = opaque::order_prefix(before.max(0) as u64 * 1000);
    let res = devices::Entity::delete_many()
        .filter(devices::Column::DeviceCodeHash.lt(made_before))
        .filter(devices::Column::ExpiresAt.lt(before))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Records the user's decision on a still-pending, unexpired authorization;
/// true for exactly one caller.
pub async fn decide(
    db: &impl ConnectionTrait,
    decided: devices::Model,
    now: i64,
) -> Result<bool, Error> {
    let res = devices::Entity::update_many()
        .col_expr(devices::Column::Status, Expr::value(decided.status))
        .col_expr(devices::Column::UserId, Expr::value(decided.user_id))
        .col_expr(devices::Column::SessionId, Expr::value(decided.session_id))
        .col_expr(devices::Column::AuthTime, Expr::value(decided.auth_time))
        .col_expr(devices::Column::Amr, Expr::value(decided.amr))
        .col_expr(
            devices::Column::OrganizationId,
            Expr::value(decided.organization_id),
        )
        .filter(devices::Column::DeviceCodeHash.eq(decided.device_code_hash))
        .filter(devices::Column::Status.eq(DeviceStatus::Pending))
        .filter(devices::Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Marks an approved authorization used; true for exactly one caller.
pub async fn consume(db: &impl ConnectionTrait, hash: &str, now: i64) -> Result<bool, Error> {
    let res = devices::Entity::update_many()
        .col_expr(devices::Column::ConsumedAt, Expr::value(now))
        .filter(devices::Column::DeviceCodeHash.eq(hash))
        .filter(devices::Column::Status.eq(DeviceStatus::Approved))
        .filter(devices::Column::ConsumedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Denies a user's approved authorizations no token was issued for yet (the
/// account was taken back: whoever approved them is not its owner).
pub async fn deny_unconsumed_for_user(
    db: &impl ConnectionTrait,
    user_id: &UserId,
) -> Result<(), Error> {
    devices::Entity::update_many()
        .col_expr(devices::Column::Status, Expr::value(DeviceStatus::Denied))
        .filter(devices::Column::UserId.eq(user_id))
        .filter(devices::Column::Status.eq(DeviceStatus::Approved))
        .filter(devices::Column::ConsumedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}
