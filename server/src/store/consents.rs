//! `consents` (what a user allowed a client) and `consent_requests` (what the
//! consent screen is asking about right now).

use entities::{consent_requests as requests, consents};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter};

use crate::domain::ids::{ClientId, UserId};
use crate::error::Error;

pub async fn find(
    db: &impl ConnectionTrait,
    user_id: &UserId,
    client_id: &ClientId,
) -> Result<Option<consents::Model>, Error> {
    Ok(super::unique(
        db,
        consents::Entity::find_by_id((user_id.clone(), client_id.clone())),
    )
    .await?)
}

/// Records (or widens) a consent.
pub async fn upsert(db: &impl ConnectionTrait, consent: consents::Model) -> Result<(), Error> {
    consents::Entity::insert(consent.into_active_model())
        .on_conflict(
            OnConflict::columns([consents::Column::UserId, consents::Column::ClientId])
                .update_columns([
                    consents::Column::Scopes,
                    consents::Column::Resources,
                    consents::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}

pub async fn insert_request(db: &impl ConnectionTrait, req: requests::Model) -> Result<(), Error> {
    Ok(super::insert(db, req).await?)
}

/// Takes a pending request: returns it and deletes it, so a decision is made once.
pub async fn take_request(
    db: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<requests::Model>, Error> {
    let Some(found) = super::unique(db, requests::Entity::find_by_id(id.to_string())).await? else {
        return Ok(None);
    };
    let deleted = requests::Entity::delete_many()
        .filter(requests::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok((deleted.rows_affected == 1).then_some(found))
}

/// Drops a user's pending requests (the account was taken back).
pub async fn delete_requests_for_user(
    db: &impl ConnectionTrait,
    user_id: &UserId,
) -> Result<(), Error> {
    requests::Entity::delete_many()
        .filter(requests::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}
