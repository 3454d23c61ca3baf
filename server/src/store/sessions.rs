//! `sessions`, looked up by token hash.

use entities::{sessions, users};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
};

use crate::domain::ids::UserId;
use crate::error::Error;

pub async fn insert(db: &impl ConnectionTrait, session: sessions::Model) -> Result<(), Error> {
    Ok(super::insert(db, session).await?)
}

/// Replaces the session still holding `old_hash` with `session` (same id, new
/// token); `false` if it is gone or its token changed meanwhile.
pub async fn replace(
    db: &impl ConnectionTrait,
    old_hash: &str,
    session: sessions::Model,
) -> Result<bool, Error> {
    let res = sessions::Entity::update_many()
        .set(session.into_active_model().reset_all())
        .filter(sessions::Column::TokenHash.eq(old_hash))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// An unexpired session and its user.
pub async fn find_live(
    db: &impl ConnectionTrait,
    token_hash: &str,
    now: i64,
) -> Result<Option<(sessions::Model, users::Model)>, Error> {
    let found = super::unique_with(
        db,
        sessions::Entity::find()
            .filter(sessions::Column::TokenHash.eq(token_hash))
            .filter(sessions::Column::ExpiresAt.gt(now))
            .find_also_related(users::Entity),
    )
    .await?;
    Ok(found.and_then(|(s, u)| u.map(|u| (s, u))))
}

pub async fn delete_by_hash(db: &impl ConnectionTrait, token_hash: &str) -> Result<(), Error> {
    sessions::Entity::delete_many()
        .filter(sessions::Column::TokenHash.eq(token_hash))
        .exec(db)
        .await?;
    Ok(())
}

/// Ends every session of a user.
pub async fn delete_for_user(db: &impl ConnectionTrait, user_id: &UserId) -> Result<(), Error> {
    sessions::Entity::delete_many()
        .filter(sessions::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}
