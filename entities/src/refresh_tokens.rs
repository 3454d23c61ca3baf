use sea_orm::entity::prelude::*;

use crate::ids::{ClientId, GrantId, OrgId, UserId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    #[sea_orm(indexed)]
    pub grant_id: GrantId,
    pub parent_hash: Option<String>,
    pub client_id: ClientId,
    #[sea_orm(indexed)]
    pub user_id: Option<UserId>,
    pub session_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub scope: String,
    /// Space separated.
    #[sea_orm(column_type = "Text")]
    pub resources: String,
    pub auth_time: i64,
    /// JSON array of authentication method references.
    #[sea_orm(column_type = "Text")]
    pub amr: String,
    pub acr: Option<String>,
    pub organization_id: Option<OrgId>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    #[sea_orm(column_type = "Blob", nullable)]
    pub successor: Option<Vec<u8>>,
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
