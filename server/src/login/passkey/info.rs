//! A stored passkey as its owner sees it in the list (Better Auth's
//! `passkey` shape): no credential, no user handle.

use entities::passkeys;

/// What the API shows of one of a person's passkeys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyInfo {
    /// The credential ID (base64url).
    pub id: String,
    pub name: String,
    pub counter: i64,
    pub backup_eligible: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl PasskeyInfo {
    pub fn of(p: &passkeys::Model) -> Self {
        PasskeyInfo {
            id: p.id.clone(),
            name: p.name.clone(),
            counter: p.counter,
            backup_eligible: p.backup_eligible,
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        }
    }
}
