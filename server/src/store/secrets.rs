//! `server_secrets`: random values made once and shared by every instance.

use entities::server_secrets as secrets;
use sea_orm::{ConnectionTrait, EntityTrait};

use crate::error::Error;

/// The secret called `name`; `fresh` is stored first if there is none. When
/// two instances start at once, one insert wins and both read the winner's.
pub async fn get_or_create(
    db: &impl ConnectionTrait,
    name: &str,
    fresh: String,
    now: i64,
) -> Result<String, Error> {
    let row = secrets::ActiveModel {
        name: sea_orm::ActiveValue::Set(name.to_string()),
        secret: sea_orm::ActiveValue::Set(fresh),
        created_at: sea_orm::ActiveValue::Set(now),
    };
    secrets::Entity::insert(row)
        .on_conflict_do_nothing_on([secrets::Column::Name])
        .exec_without_returning(db)
        .await?;
    super::unique(db, secrets::Entity::find_by_id(name.to_string()))
        .await?
        .map(|r| r.secret)
        .ok_or_else(|| Error::internal(format!("server secret {name} is missing")))
}
