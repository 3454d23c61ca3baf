//! Organisations. Every user has a personal one, created on first sign-in by
//! any method (seed 000) and made the session's active organisation.

use entities::users;
use sea_orm::ConnectionTrait;
use sea_orm::TransactionTrait;

use crate::domain::ids::OrgId;
use crate::error::Error;
use crate::store;

/// The organisation a new session starts in: the user's first membership,
/// creating their personal organisation if they have none.
pub async fn ensure_personal(
    db: &(impl ConnectionTrait + TransactionTrait),
    user: &users::Model,
    now: i64,
) -> Result<OrgId, Error> {
    if let Some(org) = store::orgs::first_membership(db, &user.id).await? {
        return Ok(org);
    }
    let name = if user.name.trim().is_empty() {
        format!(
            "{}'s organisation",
            user.email.split('@').next().unwrap_or("My")
        )
    } else {
        format!("{}'s organisation", user.name.trim())
    };
    let id = OrgId::from(crate::tokens::opaque::new_id());
    store::orgs::create_personal(db, id, &user.id, &name, now).await
}
