//! `clients`: registered OAuth clients, metadata as JSON.

use entities::clients;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryOrder};

use crate::error::Error;

pub async fn insert(db: &impl ConnectionTrait, client: clients::Model) -> Result<(), Error> {
    client.into_active_model().insert(db).await?;
    Ok(())
}

pub async fn find(db: &impl ConnectionTrait, id: &str) -> Result<Option<clients::Model>, Error> {
    Ok(clients::Entity::find_by_id(id.to_string()).one(db).await?)
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<clients::Model>, Error> {
    Ok(clients::Entity::find()
        .order_by_asc(clients::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Deletes a client (and, by cascade, its codes, tokens and consents).
/// Returns whether it existed.
pub async fn delete(db: &impl ConnectionTrait, id: &str) -> Result<bool, Error> {
    Ok(clients::Entity::delete_by_id(id.to_string())
        .exec(db)
        .await?
        .rows_affected
        > 0)
}
