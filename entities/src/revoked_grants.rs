use sea_orm::entity::prelude::*;

use crate::ids::GrantId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "revoked_grants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub grant_id: GrantId,
    pub revoked_at: i64,
    pub expires_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
