use sea_orm::entity::prelude::*;

/// How many attempts of one kind (named by `key`, e.g.
/// `email-code:<user id>`) were counted in the window ending at `window_ends`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "attempt_counters")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub count: i32,
    /// Unix seconds; from then on the count starts again.
    pub window_ends: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
