use sea_orm::entity::prelude::*;

use crate::ids::{OrgId, UserId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub user_id: UserId,
    pub active_organization_id: Option<OrgId>,
    /// JSON array of authentication method references.
    #[sea_orm(column_type = "Text")]
    pub amr: String,
    pub auth_time: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub ip: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub user_agent: Option<String>,
    /// Signed in with a first factor; the second is still owed. Such a
    /// session authorises nothing but `/login/2fa`.
    pub second_factor_pending: bool,
    /// Started by creating the account: verifying the address from this
    /// session keeps what it set up (see `login::mailbox`).
    pub began_with_sign_up: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::UserId",
        to = "super::users::Column::Id",
        on_delete = "Cascade"
    )]
    User,
    #[sea_orm(
        belongs_to = "super::organizations::Entity",
        from = "Column::ActiveOrganizationId",
        to = "super::organizations::Column::Id",
        on_delete = "SetNull"
    )]
    ActiveOrganization,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl Related<super::organizations::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ActiveOrganization.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
