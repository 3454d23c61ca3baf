//! `clients`: registered OAuth clients, metadata as JSON.

use entities::clients::{self, ClientOrigin};
use entities::consents;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
};

use crate::domain::ids::ClientId;
use crate::error::Error;

pub async fn insert(db: &impl ConnectionTrait, client: clients::Model) -> Result<(), Error> {
    Ok(super::insert(db, client).await?)
}

pub async fn find(
    db: &impl ConnectionTrait,
    id: &ClientId,
) -> Result<Option<clients::Model>, Error> {
    Ok(super::unique(db, clients::Entity::find_by_id(id.clone())).await?)
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<clients::Model>, Error> {
    Ok(clients::Entity::find()
        .order_by_asc(clients::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Deletes a client (and, by cascade, its codes, tokens and consents).
/// Returns whether it existed.
pub async fn delete(db: &impl ConnectionTrait, id: &ClientId) -> Result<bool, Error> {
    Ok(clients::Entity::delete_by_id(id.clone())
        .exec(db)
        .await?
        .rows_affected
        > 0)
}

/// Replaces a client's name, secret hash and metadata (RFC 7592 §2.2).
/// Returns whether the client still existed.
pub async fn update(
    db: &impl ConnectionTrait,
    id: &ClientId,
    name: String,
    secret_hash: Option<String>,
    metadata: String,
) -> Result<bool, Error> {
    let res = clients::Entity::update_many()
        .col_expr(clients::Column::Name, Expr::value(name))
        .col_expr(clients::Column::SecretHash, Expr::value(secret_hash))
        .col_expr(clients::Column::Metadata, Expr::value(metadata))
        .filter(clients::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Deletes the clients of `origin` created before `created_before` that no
/// user has ever consented to (a correlated `NOT EXISTS`, portable across
/// SQLite and PostgreSQL). Returns how many went.
pub async fn delete_unconsented(
    db: &impl ConnectionTrait,
    origin: ClientOrigin,
    created_before: i64,
) -> Result<u64, Error> {
    let consented = Query::select()
        .expr(Expr::value(1))
        .from(consents::Entity)
        .and_where(
            Expr::col((consents::Entity, consents::Column::ClientId))
                .equals((clients::Entity, clients::Column::Id)),
        )
        .to_owned();
    let res = clients::Entity::delete_many()
        .filter(clients::Column::Origin.eq(origin))
        .filter(clients::Column::CreatedAt.lt(created_before))
        .filter(Expr::not_exists(consented))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Inserts or refreshes the row of a client described by a metadata document.
/// Its `created_at` is the time of the latest fetch, which happens on every
/// use once the cached client is older than `CLIENT_CACHE_SECS`: housekeeping
/// removes rows nobody used for a while by it.
pub async fn upsert_document_client(
    db: &impl ConnectionTrait,
    row: clients::Model,
) -> Result<(), Error> {
    use sea_orm::sea_query::OnConflict;
    clients::Entity::insert(row.into_active_model())
        .on_conflict(
            OnConflict::column(clients::Column::Id)
                .update_columns([
                    clients::Column::Name,
                    clients::Column::Metadata,
                    clients::Column::CreatedAt,
                ])
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}
