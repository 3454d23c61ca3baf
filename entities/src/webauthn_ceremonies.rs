use sea_orm::entity::prelude::*;

use crate::ids::UserId;

/// A WebAuthn ceremony in progress: the challenge state stays here, the
/// browser only holds a handle to it (stored as SHA-256).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webauthn_ceremonies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id_hash: String,
    /// `register` or `authenticate`.
    pub kind: String,
    /// The signed-in user adding a passkey, or the account an email-scoped
    /// authentication is for.
    pub user_id: Option<UserId>,
    /// Passkey-first sign-up: the address the new account gets.
    pub email: Option<String>,
    /// webauthn-rs' ceremony state, serialised.
    #[sea_orm(column_type = "Text")]
    pub state: String,
    pub expires_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
