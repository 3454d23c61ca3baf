//! `users` and `credentials`.

use entities::{credentials, users};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, TransactionSession,
    TransactionTrait,
};

use super::is_unique_violation;
use crate::domain::ids::UserId;
use crate::error::Error;

pub enum InsertError {
    EmailTaken,
    Other(Error),
}

impl From<sea_orm::DbErr> for InsertError {
    fn from(e: sea_orm::DbErr) -> Self {
        if is_unique_violation(&e) {
            InsertError::EmailTaken
        } else {
            InsertError::Other(e.into())
        }
    }
}

/// Inserts a user and, if given, their password hash, together.
pub async fn insert_with_password(
    db: &(impl ConnectionTrait + TransactionTrait),
    user: users::Model,
    password_hash: Option<String>,
) -> Result<(), InsertError> {
    let txn = db.begin().await?;
    let user_id = user.id.clone();
    let created_at = user.created_at;
    super::insert(&txn, user).await?;
    if let Some(password_hash) = password_hash {
        let credential = credentials::Model {
            user_id,
            password_hash,
            updated_at: created_at,
        };
        super::insert(&txn, credential).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// A user by (normalised) email, with their password hash if they have one.
pub async fn find_with_password(
    db: &impl ConnectionTrait,
    email: &str,
) -> Result<Option<(users::Model, Option<String>)>, Error> {
    let Some(user) = super::unique(
        db,
        users::Entity::find().filter(users::Column::Email.eq(email)),
    )
    .await?
    else {
        return Ok(None);
    };
    let hash = super::unique(db, credentials::Entity::find_by_id(user.id.clone()))
        .await?
        .map(|c| c.password_hash);
    Ok(Some((user, hash)))
}

pub async fn find(db: &impl ConnectionTrait, id: &UserId) -> Result<Option<users::Model>, Error> {
    Ok(super::unique(db, users::Entity::find_by_id(id.clone())).await?)
}

/// Marks the account verified while `email` is still its address (the one
/// the link or code was sent to): false when the address changed meanwhile,
/// and the proof then proves nothing about this account.
pub async fn mark_verified(
    db: &impl ConnectionTrait,
    user_id: &UserId,
    email: &str,
    now: i64,
) -> Result<bool, Error> {
    set_verified(db, user_id, email, now, false).await
}

/// Verifies an unverified account while `email` is still its address; true
/// for exactly one caller, the one that takes the account back.
pub async fn claim_unverified(
    db: &impl ConnectionTrait,
    user_id: &UserId,
    email: &str,
    now: i64,
) -> Result<bool, Error> {
    set_verified(db, user_id, email, now, true).await
}

async fn set_verified(
    db: &impl ConnectionTrait,
    user_id: &UserId,
    email: &str,
    now: i64,
    only_unverified: bool,
) -> Result<bool, Error> {
    use sea_orm::sea_query::Expr;
    let mut update = users::Entity::update_many()
        .col_expr(users::Column::EmailVerified, Expr::value(true))
        .col_expr(users::Column::UpdatedAt, Expr::value(now))
        .filter(users::Column::Id.eq(user_id))
        .filter(users::Column::Email.eq(email));
    if only_unverified {
        update = update.filter(users::Column::EmailVerified.eq(false));
    }
    Ok(update.exec(db).await?.rows_affected == 1)
}

/// Sets a new password hash (creating the credential if the account had none).
pub async fn set_password(
    db: &impl ConnectionTrait,
    user_id: &UserId,
    hash: String,
    now: i64,
) -> Result<(), Error> {
    use sea_orm::sea_query::OnConflict;
    let row = credentials::Model {
        user_id: user_id.clone(),
        password_hash: hash,
        updated_at: now,
    };
    credentials::Entity::insert(row.into_active_model())
        .on_conflict(
            OnConflict::column(credentials::Column::UserId)
                .update_columns([
                    credentials::Column::PasswordHash,
                    credentials::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// Changes the address of a not-yet-verified account. False when the new
/// address belongs to another account.
pub async fn change_unverified_email(
    db: &impl ConnectionTrait,
    user_id: &UserId,
    email: &str,
    now: i64,
) -> Result<bool, Error> {
    use sea_orm::sea_query::Expr;
    let res = users::Entity::update_many()
        .col_expr(users::Column::Email, Expr::value(email))
        .col_expr(users::Column::EmailVerified, Expr::value(false))
        .col_expr(users::Column::UpdatedAt, Expr::value(now))
        .filter(users::Column::Id.eq(user_id))
        .filter(users::Column::EmailVerified.eq(false))
        .exec(db)
        .await;
    match res {
        Ok(r) => Ok(r.rows_affected == 1),
        Err(e) if super::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Removes a password (the account keeps its other ways in).
pub async fn delete_password(db: &impl ConnectionTrait, user_id: &UserId) -> Result<(), Error> {
    credentials::Entity::delete_by_id(user_id.clone())
        .exec(db)
        .await?;
    Ok(())
}

/// Gives a password to an account that has none; `false` when it has one
/// (the insert, not a prior read, decides: parallel calls set one password).
pub async fn add_password(
    db: &impl ConnectionTrait,
    user_id: &UserId,
    hash: String,
    now: i64,
) -> Result<bool, Error> {
    let row = credentials::Model {
        user_id: user_id.clone(),
        password_hash: hash,
        updated_at: now,
    };
    match super::insert(db, row).await {
        Ok(()) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
