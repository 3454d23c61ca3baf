use sea_orm::entity::prelude::*;

use crate::ids::UserId;

/// A request to move a linked identity from one user to another, waiting for
/// the receiving user's confirmation.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "identity_transfers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    pub identity_id: String,
    pub from_user_id: UserId,
    pub to_user_id: UserId,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
