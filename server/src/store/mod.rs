//! The only place with sea-orm queries. Functions take `&impl ConnectionTrait`
//! so they run on the pool or inside a transaction alike.

pub mod clients;
pub mod consents;
pub mod devices;
pub mod grants;
pub mod keys;
pub mod one_time;
pub mod orgs;
pub mod passkeys;
pub mod sessions;
pub mod two_factors;
pub mod users;

use sea_orm::DbErr;
use sea_orm::error::SqlErr;

/// Whether an insert lost a race on a unique key.
pub fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}
