use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "clients")]
pub struct Model {
    /// The `client_id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub secret_hash: Option<String>,
    /// Client metadata as a JSON document.
    #[sea_orm(column_type = "Text")]
    pub metadata: String,
    /// `admin`, `dynamic` or `metadata_document`.
    pub origin: String,
    pub trusted: bool,
    pub registration_token_hash: Option<String>,
    pub created_at: i64,
    /// May introspect tokens issued to other clients (RFC 7662 §4).
    pub resource_server: bool,
    /// Exempt from PKCE in the code flow (set by an administrator only).
    pub pkce_optional: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
