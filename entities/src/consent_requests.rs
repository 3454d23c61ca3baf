use sea_orm::entity::prelude::*;

use crate::ids::{ClientId, UserId};

/// An authorization request waiting for the user's decision on the consent screen.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consent_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: UserId,
    pub session_id: String,
    pub client_id: ClientId,
    /// The authorization request's parameters, JSON.
    #[sea_orm(column_type = "Text")]
    pub params: String,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
