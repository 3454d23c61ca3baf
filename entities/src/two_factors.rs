use sea_orm::entity::prelude::*;

use crate::ids::UserId;

/// A user's TOTP factor (RFC 6238) and backup codes.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "two_factors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: UserId,
    /// Base32 shared secret, sealed under the key-encryption key (`pcs1:…`).
    pub secret: String,
    /// False until a valid code confirms the enrolment.
    pub enabled: bool,
    /// JSON array of SHA-256 hashes of the unused backup codes.
    #[sea_orm(column_type = "Text")]
    pub backup_codes: String,
    /// The last time step a code was accepted for: codes of that step or
    /// earlier are refused (RFC 6238 §5.2, no replay).
    pub last_used_step: i64,
    /// Wrong codes in a row; reset by a right one.
    pub failures: i32,
    /// After too many wrong codes, none is accepted before this time.
    pub locked_until: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
