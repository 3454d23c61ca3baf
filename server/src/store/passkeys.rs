//! `passkeys` and `webauthn_ceremonies`.

use entities::{passkeys, webauthn_ceremonies as ceremonies};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::domain::ids::UserId;
use crate::error::Error;

/// Stores a new passkey. `Ok(false)` when the credential ID is already
/// registered (to anyone): WebAuthn §7.1 step 22 says refuse it.
pub async fn insert(db: &impl ConnectionTrait, row: passkeys::Model) -> Result<bool, Error> {
    match super::insert(db, row).await {
        Ok(_) => Ok(true),
        Err(e) if super::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

pub async fn for_user(
    db: &impl ConnectionTrait,
    user_id: &UserId,
) -> Result<Vec<passkeys::Model>, Error> {
    Ok(passkeys::Entity::find()
        .filter(passkeys::Column::UserId.eq(user_id))
        .order_by_asc(passkeys::Column::CreatedAt)
        .all(db)
        .await?)
}

pub async fn find(db: &impl ConnectionTrait, id: &str) -> Result<Option<passkeys::Model>, Error> {
    Ok(super::unique(db, passkeys::Entity::find_by_id(id.to_string())).await?)
}

/// Records a successful use. The counter only moves forward: a concurrent use
/// that saw a higher counter wins, and `false` says this one lost the race.
pub async fn record_use(
    db: &impl ConnectionTrait,
    id: &str,
    seen_counter: i64,
    counter: i64,
    credential: String,
    backup_eligible: bool,
    now: i64,
) -> Result<bool, Error> {
    let res = passkeys::Entity::update_many()
        .col_expr(passkeys::Column::Counter, Expr::value(counter))
        .col_expr(
            passkeys::Column::BackupEligible,
            Expr::value(backup_eligible),
        )
        .col_expr(passkeys::Column::Credential, Expr::value(credential))
        .col_expr(passkeys::Column::LastUsedAt, Expr::value(now))
        .filter(passkeys::Column::Id.eq(id))
        .filter(passkeys::Column::Counter.eq(seen_counter))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Renames one of the user's passkeys; `false` if they have no such passkey.
pub async fn rename(
    db: &impl ConnectionTrait,
    user_id: &UserId,
    id: &str,
    name: &str,
) -> Result<bool, Error> {
    let res = passkeys::Entity::update_many()
        .col_expr(passkeys::Column::Name, Expr::value(name))
        .filter(passkeys::Column::Id.eq(id))
        .filter(passkeys::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Deletes one of the user's passkeys; `false` if they have no such passkey.
pub async fn delete(db: &impl ConnectionTrait, user_id: &UserId, id: &str) -> Result<bool, Error> {
    let res = passkeys::Entity::delete_many()
        .filter(passkeys::Column::Id.eq(id))
        .filter(passkeys::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Drops every passkey of a user (an unproven account changing hands).
pub async fn delete_for_user(db: &impl ConnectionTrait, user_id: &UserId) -> Result<(), Error> {
    passkeys::Entity::delete_many()
        .filter(passkeys::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn insert_ceremony(
    db: &impl ConnectionTrait,
    row: ceremonies::Model,
) -> Result<(), Error> {
    // Abandoned ceremonies are swept as new ones start.
    ceremonies::Entity::delete_many()
        .filter(ceremonies::Column::ExpiresAt.lt(row.expires_at - 3600))
        .exec(db)
        .await?;
    Ok(super::insert(db, row).await?)
}

/// Takes (deletes and returns) an unexpired ceremony of `kind`: each
/// challenge is answered at most once.
pub async fn take_ceremony(
    db: &impl ConnectionTrait,
    id_hash: &str,
    kind: &str,
    now: i64,
) -> Result<Option<ceremonies::Model>, Error> {
    let Some(row) = super::unique(db, ceremonies::Entity::find_by_id(id_hash.to_string())).await?
    else {
        return Ok(None);
    };
    let res = ceremonies::Entity::delete_many()
        .filter(ceremonies::Column::IdHash.eq(id_hash))
        .exec(db)
        .await?;
    Ok((res.rows_affected == 1 && row.kind == kind && row.expires_at > now).then_some(row))
}
