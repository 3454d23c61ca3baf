use sea_orm::entity::prelude::*;

use crate::ids::ClientId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "clients")]
pub struct Model {
    /// The `client_id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: ClientId,
    pub name: String,
    pub secret_hash: Option<String>,
    /// Client metadata as a JSON document.
    #[sea_orm(column_type = "Text")]
    pub metadata: String,
    /// Who described the client (stored as `admin`, `dynamic` or
    /// `metadata_document`).
    pub origin: ClientOrigin,
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

/// Where a client came from: an administrator, dynamic registration
/// (RFC 7591), or a client ID metadata document. Stored as the strings the
/// column has always held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum ClientOrigin {
    #[sea_orm(string_value = "admin")]
    Admin,
    #[sea_orm(string_value = "dynamic")]
    Dynamic,
    #[sea_orm(string_value = "metadata_document")]
    MetadataDocument,
}

impl ClientOrigin {
    /// The stored (and printed) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientOrigin::Admin => "admin",
            ClientOrigin::Dynamic => "dynamic",
            ClientOrigin::MetadataDocument => "metadata_document",
        }
    }
}

impl std::fmt::Display for ClientOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// Compares with the stored spelling.
impl PartialEq<&str> for ClientOrigin {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}
