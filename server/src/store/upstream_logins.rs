//! `upstream_logins`: sign-ins waiting for an upstream's callback.

use entities::upstream_logins as ul;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::error::Error;

pub async fn insert(db: &impl ConnectionTrait, row: ul::Model) -> Result<(), Error> {
    Ok(super::insert(db, row).await?)
}

/// Takes the row for a `state` hash started by the browser whose binding
/// hashes to `binding_hash`: of parallel callbacks with the same state,
/// exactly one gets it, and a callback from another browser takes nothing
/// (it cannot spoil the rightful one). Expired rows are taken too (and
/// refused by the caller), so a late callback ends the attempt for good.
pub async fn take(
    db: &impl ConnectionTrait,
    state_hash: &str,
    binding_hash: &str,
) -> Result<Option<ul::Model>, Error> {
    let Some(row) = super::unique(db, ul::Entity::find_by_id(state_hash.to_string()))
        .await?
        .filter(|r| r.binding_hash == binding_hash)
    else {
        return Ok(None);
    };
    let deleted = ul::Entity::delete_many()
        .filter(ul::Column::StateHash.eq(state_hash))
        .filter(ul::Column::BindingHash.eq(binding_hash))
        .exec(db)
        .await?;
    Ok((deleted.rows_affected == 1).then_some(row))
}

/// Drops the rows that expired before `now` (housekeeping).
pub async fn delete_expired(db: &impl ConnectionTrait, now: i64) -> Result<u64, Error> {
    Ok(ul::Entity::delete_many()
        .filter(ul::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?
        .rows_affected)
}
