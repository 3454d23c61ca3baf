use sea_orm::entity::prelude::*;

use crate::ids::UserId;

/// An upstream account (GitHub, Google, an OIDC provider) linked to a user.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "linked_identities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: UserId,
    /// The provider's id: `github`, `google`, `microsoft`, a configured
    /// `[[oidc_providers]]` id, or `sso-<connection id>`.
    pub provider: String,
    /// The upstream's stable id for the account (`sub`, GitHub's numeric id).
    pub subject: String,
    /// The address the upstream gave at the last sign-in (display only).
    pub email: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
