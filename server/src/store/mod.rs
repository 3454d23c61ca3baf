//! The only place with sea-orm queries. Functions take `&impl ConnectionTrait`
//! so they run on the pool or inside a transaction alike.

pub mod clients;
pub mod consents;
pub mod counters;
pub mod device_writer;
pub mod devices;
pub mod expired;
pub mod grants;
pub mod identities;
pub mod keys;
pub mod one_time;
pub mod orgs;
pub mod passkeys;
pub mod redeem;
pub mod sealing;
pub mod secrets;
pub mod sessions;
pub mod sso;
pub mod two_factors;
pub mod upstream_logins;
pub mod users;

use sea_orm::error::SqlErr;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, Select, SelectTwo,
};

// Lookups by a unique key use `unique`/`unique_with` rather than sea-orm's
// `.one()`, whose `LIMIT ?` is a bound parameter: SQLite as sqlx bundles it
// (with STAT4) marks a bound LIMIT as plan-relevant and re-prepares the
// statement at every execution, which was a sixth of a code exchange's CPU.
// Without the LIMIT, a statement prepared once is reused from sqlx's cache.
// Only for filters on a primary or unique key: they match one row at most.

/// The row a unique-key `select` matches, if any.
pub async fn unique<E: EntityTrait>(
    db: &impl ConnectionTrait,
    select: Select<E>,
) -> Result<Option<E::Model>, DbErr> {
    Ok(select.all(db).await?.into_iter().next())
}

/// As [`unique`], with the related row a `find_also_related` joins.
pub async fn unique_with<E: EntityTrait, F: EntityTrait>(
    db: &impl ConnectionTrait,
    select: SelectTwo<E, F>,
) -> Result<Option<(E::Model, Option<F::Model>)>, DbErr> {
    Ok(select.all(db).await?.into_iter().next())
}

/// Inserts a row the caller already holds whole. sea-orm's `insert` reads it
/// back (`RETURNING`) to build a model nobody here uses; this skips that.
pub async fn insert<A: ActiveModelTrait + Send>(
    db: &impl ConnectionTrait,
    row: impl IntoActiveModel<A>,
) -> Result<(), DbErr> {
    A::Entity::insert(row.into_active_model())
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Whether an insert lost a race on a unique key.
pub fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}
