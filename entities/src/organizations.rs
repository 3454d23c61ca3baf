use sea_orm::entity::prelude::*;

use crate::ids::{OrgId, UserId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: OrgId,
    pub name: String,
    #[sea_orm(unique)]
    pub slug: String,
    /// Set for a user's personal organisation; at most one per user.
    #[sea_orm(unique)]
    pub personal_owner_id: Option<UserId>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::PersonalOwnerId",
        to = "super::users::Column::Id",
        on_delete = "Cascade"
    )]
    PersonalOwner,
}

impl ActiveModelBehavior for ActiveModel {}
