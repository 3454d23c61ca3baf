use sea_orm::entity::prelude::*;

use crate::ids::UserId;

/// A sign-in started at an upstream provider, waiting for its callback.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "upstream_logins")]
pub struct Model {
    /// SHA-256 of the `state` sent upstream.
    #[sea_orm(primary_key, auto_increment = false)]
    pub state_hash: String,
    /// SHA-256 of the browser's binding cookie.
    pub binding_hash: String,
    pub provider: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// A same-origin path to go on to afterwards.
    #[sea_orm(column_type = "Text", nullable)]
    pub return_to: Option<String>,
    /// Set when a signed-in user links another provider.
    pub link_user_id: Option<UserId>,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
