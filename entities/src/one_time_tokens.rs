use sea_orm::entity::prelude::*;

use crate::ids::UserId;

/// A single-use token sent by mail; only its SHA-256 is stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "one_time_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    /// `verify-email`, `reset-password`, …
    pub kind: String,
    /// None for a magic link to an address without an account yet.
    pub user_id: Option<UserId>,
    /// The address the token was sent to.
    pub email: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
    /// Wrong guesses so far (6-digit codes).
    pub attempts: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
