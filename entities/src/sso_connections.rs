use sea_orm::entity::prelude::*;

use crate::ids::{OrgId, UserId};

/// An organisation's OpenID Connect connection for an email domain.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sso_connections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub organization_id: OrgId,
    /// Lowercase, without a trailing dot.
    pub domain: String,
    pub issuer: String,
    pub client_id: String,
    /// Sealed under the KEK (`secrets`).
    #[sea_orm(column_type = "Text")]
    pub client_secret: String,
    /// Space-separated.
    #[sea_orm(column_type = "Text")]
    pub scopes: String,
    /// The value the domain's `_portcullis-challenge` TXT record must hold.
    pub verification_token: String,
    /// Set once the domain is proved; only then does the domain route to it.
    pub verified_at: Option<i64>,
    pub created_by: UserId,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
