use sea_orm::entity::prelude::*;

use crate::ids::{ClientId, GrantId, OrgId, UserId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "authorization_codes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub code_hash: String,
    pub client_id: ClientId,
    pub user_id: UserId,
    pub session_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub redirect_uri: String,
    #[sea_orm(column_type = "Text")]
    pub scope: String,
    /// Space separated.
    #[sea_orm(column_type = "Text")]
    pub resources: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: i64,
    /// JSON array of authentication method references.
    #[sea_orm(column_type = "Text")]
    pub amr: String,
    pub acr: Option<String>,
    pub organization_id: Option<OrgId>,
    pub created_at: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
    #[sea_orm(indexed)]
    pub grant_id: GrantId,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::clients::Entity",
        from = "Column::ClientId",
        to = "super::clients::Column::Id",
        on_delete = "Cascade"
    )]
    Client,
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::UserId",
        to = "super::users::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::clients::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Client.def()
    }
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
