//! `linked_identities` and `identity_transfers`.

use entities::{credentials, identity_transfers as it, linked_identities as li, passkeys, users};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    TransactionSession, TransactionTrait,
};

use super::is_unique_violation;
use crate::domain::ids::UserId;
use crate::error::Error;

/// The identity for an upstream account, if linked.
pub async fn find(
    db: &impl ConnectionTrait,
    provider: &str,
    subject: &str,
) -> Result<Option<li::Model>, Error> {
    Ok(super::unique(
        db,
        li::Entity::find()
            .filter(li::Column::Provider.eq(provider))
            .filter(li::Column::Subject.eq(subject)),
    )
    .await?)
}

pub async fn find_by_id(db: &impl ConnectionTrait, id: &str) -> Result<Option<li::Model>, Error> {
    Ok(super::unique(db, li::Entity::find_by_id(id.to_string())).await?)
}

pub async fn for_user(
    db: &impl ConnectionTrait,
    user_id: &UserId,
) -> Result<Vec<li::Model>, Error> {
    Ok(li::Entity::find()
        .filter(li::Column::UserId.eq(user_id))
        .order_by_asc(li::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Why a link was not made.
#[derive(Debug)]
pub enum LinkError {
    /// The upstream account is linked already, or the user has one of that
    /// provider.
    Taken,
    Other(Error),
}

impl From<sea_orm::DbErr> for LinkError {
    fn from(e: sea_orm::DbErr) -> Self {
        if is_unique_violation(&e) {
            LinkError::Taken
        } else {
            LinkError::Other(e.into())
        }
    }
}

/// Links an identity; the unique indexes decide between parallel links.
pub async fn insert(db: &impl ConnectionTrait, row: li::Model) -> Result<(), LinkError> {
    Ok(super::insert(db, row).await?)
}

/// Creates a user and links their first identity, together.
pub async fn insert_user_with(
    db: &(impl ConnectionTrait + TransactionTrait),
    user: users::Model,
    identity: li::Model,
) -> Result<(), LinkError> {
    let txn = db.begin().await?;
    super::insert(&txn, user).await?;
    super::insert(&txn, identity).await?;
    txn.commit().await?;
    Ok(())
}

/// Records the address the upstream gave at this sign-in.
pub async fn touch(
    db: &impl ConnectionTrait,
    id: &str,
    email: Option<&str>,
    now: i64,
) -> Result<(), Error> {
    li::Entity::update_many()
        .col_expr(li::Column::Email, Expr::value(email.map(str::to_string)))
        .col_expr(li::Column::UpdatedAt, Expr::value(now))
        .filter(li::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// The ways `user_id` can sign in other than through `except` (an identity
/// id): a password, passkeys, other identities.
pub async fn other_sign_in_methods(
    db: &impl ConnectionTrait,
    user_id: &UserId,
    except: &str,
) -> Result<u64, Error> {
    let password = credentials::Entity::find_by_id(user_id.clone())
        .count(db)
        .await?;
    let passkeys = passkeys::Entity::find()
        .filter(passkeys::Column::UserId.eq(user_id))
        .count(db)
        .await?;
    let identities = li::Entity::find()
        .filter(li::Column::UserId.eq(user_id))
        .filter(li::Column::Id.ne(except))
        .count(db)
        .await?;
    Ok(password + passkeys + identities)
}

/// Unlinks `user_id`'s identity of `provider` unless it is their last way to
/// sign in, in one transaction (a parallel unlink of the other method waits
/// for this one on PostgreSQL's row lock, and SQLite runs one writer).
/// `None`: not linked; `Some(false)`: the last method, kept.
pub async fn unlink(
    db: &(impl ConnectionTrait + TransactionTrait),
    user_id: &UserId,
    provider: &str,
) -> Result<Option<bool>, Error> {
    let txn = db.begin().await?;
    // The user's row first, so two unlinks of the user's last two methods
    // are serialised and the second sees the first's effect.
    lock_user(&txn, user_id).await?;
    let Some(identity) = super::unique(
        &txn,
        li::Entity::find()
            .filter(li::Column::UserId.eq(user_id))
            .filter(li::Column::Provider.eq(provider)),
    )
    .await?
    else {
        txn.rollback().await?;
        return Ok(None);
    };
    if other_sign_in_methods(&txn, user_id, &identity.id).await? == 0 {
        txn.rollback().await?;
        return Ok(Some(false));
    }
    li::Entity::delete_by_id(identity.id).exec(&txn).await?;
    txn.commit().await?;
    Ok(Some(true))
}

/// Drops every identity of a user (an unverified account taken back).
pub async fn delete_for_user(db: &impl ConnectionTrait, user_id: &UserId) -> Result<(), Error> {
    li::Entity::delete_many()
        .filter(li::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn insert_transfer(db: &impl ConnectionTrait, row: it::Model) -> Result<(), Error> {
    Ok(super::insert(db, row).await?)
}

/// The live transfer a token names for `to`, without using it.
pub async fn find_transfer(
    db: &impl ConnectionTrait,
    token_hash: &str,
    to: &UserId,
    now: i64,
) -> Result<Option<it::Model>, Error> {
    Ok(
        super::unique(db, it::Entity::find_by_id(token_hash.to_string()))
            .await?
            .filter(|t| t.to_user_id == *to && t.expires_at > now),
    )
}

/// Carries out a transfer once, in one transaction: the request is used up,
/// and the identity moves only if it still belongs to the user it was asked
/// from, that user keeps another way to sign in, and the receiver has no
/// identity of that provider. The request when it moved; `None` when any of
/// that no longer holds.
pub async fn transfer(
    db: &(impl ConnectionTrait + TransactionTrait),
    token_hash: &str,
    to: &UserId,
    now: i64,
) -> Result<Option<it::Model>, Error> {
    let txn = db.begin().await?;
    let Some(request) = find_transfer(&txn, token_hash, to, now).await? else {
        txn.rollback().await?;
        return Ok(None);
    };
    let used = it::Entity::delete_many()
        .filter(it::Column::TokenHash.eq(token_hash))
        .exec(&txn)
        .await?;
    if used.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(None);
    }
    // As in `unlink`: the giving user's row first, so a parallel unlink of
    // their other method and this transfer cannot both leave them nothing.
    lock_user(&txn, &request.from_user_id).await?;
    if other_sign_in_methods(&txn, &request.from_user_id, &request.identity_id).await? == 0 {
        txn.commit().await?;
        return Ok(None);
    }
    let moved = li::Entity::update_many()
        .col_expr(li::Column::UserId, Expr::value(to.clone()))
        .col_expr(li::Column::UpdatedAt, Expr::value(now))
        .filter(li::Column::Id.eq(&request.identity_id))
        .filter(li::Column::UserId.eq(&request.from_user_id))
        .exec(&txn)
        .await;
    match moved {
        Ok(r) => {
            txn.commit().await?;
            Ok((r.rows_affected == 1).then_some(request))
        }
        // The receiver linked that provider meanwhile.
        Err(e) if is_unique_violation(&e) => {
            txn.rollback().await?;
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Takes the user's row lock (PostgreSQL; SQLite runs one writer anyway) so
/// that checks of "another way to sign in" and the change that follows them
/// are serialised per user.
async fn lock_user(db: &impl ConnectionTrait, user_id: &UserId) -> Result<(), Error> {
    users::Entity::update_many()
        .col_expr(
            users::Column::UpdatedAt,
            Expr::col(users::Column::UpdatedAt),
        )
        .filter(users::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Drops expired transfer requests (housekeeping).
pub async fn delete_expired_transfers(db: &impl ConnectionTrait, now: i64) -> Result<u64, Error> {
    Ok(it::Entity::delete_many()
        .filter(it::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?
        .rows_affected)
}
