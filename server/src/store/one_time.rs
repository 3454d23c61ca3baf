//! `one_time_tokens`.

use entities::one_time_tokens as ott;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::domain::ids::UserId;
use crate::error::Error;

/// Stores a new token and drops the older unused ones of the same kind sent
/// to the same address: only the newest link works.
pub async fn replace(db: &impl ConnectionTrait, row: ott::Model) -> Result<(), Error> {
    ott::Entity::delete_many()
        .filter(ott::Column::Email.eq(row.email.clone()))
        .filter(ott::Column::Kind.eq(row.kind.clone()))
        .filter(ott::Column::ConsumedAt.is_null())
        .exec(db)
        .await?;
    Ok(super::insert(db, row).await?)
}

/// Consumes an unexpired, unused token of `kind`; the row for exactly one caller.
pub async fn consume(
    db: &impl ConnectionTrait,
    hash: &str,
    kind: &str,
    now: i64,
) -> Result<Option<ott::Model>, Error> {
    let res = ott::Entity::update_many()
        .col_expr(ott::Column::ConsumedAt, Expr::value(now))
        .filter(ott::Column::TokenHash.eq(hash))
        .filter(ott::Column::Kind.eq(kind))
        .filter(ott::Column::ConsumedAt.is_null())
        .filter(ott::Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    if res.rows_affected != 1 {
        return Ok(None);
    }
    Ok(super::unique(db, ott::Entity::find_by_id(hash.to_string())).await?)
}

/// An unexpired, unused token of `kind`, without consuming it.
pub async fn find_live(
    db: &impl ConnectionTrait,
    hash: &str,
    kind: &str,
    now: i64,
) -> Result<Option<ott::Model>, Error> {
    Ok(super::unique(db, ott::Entity::find_by_id(hash.to_string()))
        .await?
        .filter(|r| r.kind == kind && r.consumed_at.is_none() && r.expires_at > now))
}

/// The newest live token of `kind` for a user.
pub async fn pending_for_user(
    db: &impl ConnectionTrait,
    user_id: &UserId,
    kind: &str,
    now: i64,
) -> Result<Option<ott::Model>, Error> {
    use sea_orm::QueryOrder;
    Ok(ott::Entity::find()
        .filter(ott::Column::UserId.eq(user_id))
        .filter(ott::Column::Kind.eq(kind))
        .filter(ott::Column::ConsumedAt.is_null())
        .filter(ott::Column::ExpiresAt.gt(now))
        .order_by_desc(ott::Column::CreatedAt)
        .one(db)
        .await?)
}

/// Takes one of a code's `max` attempts, before the guess is compared: one
/// conditional update, so parallel guesses cannot all read the same count.
/// `false` when none is left (or the code was used, replaced or expired).
pub async fn take_attempt(
    db: &impl ConnectionTrait,
    hash: &str,
    max: i32,
    now: i64,
) -> Result<bool, Error> {
    let res = ott::Entity::update_many()
        .col_expr(
            ott::Column::Attempts,
            Expr::col(ott::Column::Attempts).add(1),
        )
        .filter(ott::Column::TokenHash.eq(hash))
        .filter(ott::Column::Attempts.lt(max))
        .filter(ott::Column::ConsumedAt.is_null())
        .filter(ott::Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Drops a user's unused tokens of the given kinds (their address changed).
pub async fn drop_for_user(
    db: &impl ConnectionTrait,
    user_id: &UserId,
    kinds: &[&str],
) -> Result<(), Error> {
    ott::Entity::delete_many()
        .filter(ott::Column::UserId.eq(user_id))
        .filter(ott::Column::Kind.is_in(kinds.iter().map(|k| k.to_string())))
        .filter(ott::Column::ConsumedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}
