use sea_orm::entity::prelude::*;

use crate::ids::UserId;

/// A WebAuthn passkey. `id` is the credential ID (base64url).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "passkeys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: UserId,
    /// The WebAuthn user handle (a UUID) the credential was created for.
    pub user_handle: String,
    pub name: String,
    /// webauthn-rs' `Passkey`, serialised.
    #[sea_orm(column_type = "Text")]
    pub credential: String,
    /// The last signature counter seen; only ever moves forward.
    pub counter: i64,
    /// Backup-eligible (synced) credentials are software-secured (`swk`).
    pub backup_eligible: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
