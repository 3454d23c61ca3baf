use sea_orm::entity::prelude::*;

use crate::ids::{ClientId, GrantId, OrgId, UserId};

/// An RFC 8628 device authorization: pending until the user approves or
/// denies it on `/device`, then consumed once by the token endpoint.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "device_authorizations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub device_code_hash: String,
    /// The user code's sequence number; the code shown to people is a keyed
    /// permutation of it (`tokens::user_codes`).
    #[sea_orm(unique)]
    pub user_code_seq: i64,
    pub client_id: ClientId,
    #[sea_orm(column_type = "Text")]
    pub scope: String,
    #[sea_orm(column_type = "Text")]
    pub resources: String,
    pub status: DeviceStatus,
    pub user_id: Option<UserId>,
    pub session_id: Option<String>,
    pub auth_time: Option<i64>,
    #[sea_orm(column_type = "Text")]
    pub amr: String,
    pub organization_id: Option<OrgId>,
    pub grant_id: GrantId,
    pub created_at: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
}

/// Where an authorization stands (RFC 8628 §3.3): pending until the user
/// answers on `/device`, then approved or denied. Stored as the strings
/// `pending`, `approved` and `denied`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum DeviceStatus {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "approved")]
    Approved,
    #[sea_orm(string_value = "denied")]
    Denied,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
