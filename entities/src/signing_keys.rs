use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signing_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub kid: String,
    pub alg: String,
    /// `next` (published, not signing yet), `active` or `retired`; at most
    /// one `active` and one `next` key per `alg`.
    pub status: String,
    /// PKCS#8 DER, sealed under the key-encryption key (`pcs1:…`; plaintext
    /// only in a database an older release wrote, until the next start).
    #[sea_orm(column_type = "Blob")]
    pub private_key: Vec<u8>,
    /// Public key as a JWK JSON document.
    #[sea_orm(column_type = "Text")]
    pub public_jwk: String,
    pub created_at: i64,
    /// When a `next` key starts signing (for older rows: `created_at`).
    pub activates_at: Option<i64>,
    pub retired_at: Option<i64>,
    pub not_after: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
