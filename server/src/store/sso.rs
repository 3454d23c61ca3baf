//! `sso_connections`.

use entities::sso_connections as sc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::is_unique_violation;
use crate::domain::ids::OrgId;
use crate::error::Error;

pub async fn insert(db: &impl ConnectionTrait, row: sc::Model) -> Result<(), Error> {
    Ok(super::insert(db, row).await?)
}

pub async fn find(db: &impl ConnectionTrait, id: &str) -> Result<Option<sc::Model>, Error> {
    Ok(super::unique(db, sc::Entity::find_by_id(id.to_string())).await?)
}

/// The proved connection of a domain, if any (at most one: a partial
/// unique index).
pub async fn proved_for_domain(
    db: &impl ConnectionTrait,
    domain: &str,
) -> Result<Option<sc::Model>, Error> {
    Ok(sc::Entity::find()
        .filter(sc::Column::Domain.eq(domain))
        .filter(sc::Column::VerifiedAt.is_not_null())
        .all(db)
        .await?
        .into_iter()
        .next())
}

pub async fn for_org(db: &impl ConnectionTrait, org: &OrgId) -> Result<Vec<sc::Model>, Error> {
    Ok(sc::Entity::find()
        .filter(sc::Column::OrganizationId.eq(org))
        .order_by_asc(sc::Column::CreatedAt)
        .all(db)
        .await?)
}

/// The unproved connection a domain proof names, issued after `since`.
pub async fn find_unproved(
    db: &impl ConnectionTrait,
    token_hash: &str,
    since: i64,
) -> Result<Option<sc::Model>, Error> {
    Ok(sc::Entity::find()
        .filter(sc::Column::VerificationToken.eq(token_hash))
        .filter(sc::Column::VerifiedAt.is_null())
        .filter(sc::Column::CreatedAt.gt(since))
        .all(db)
        .await?
        .into_iter()
        .next())
}

/// How a proof ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Proved {
    Now,
    /// The proof was used, expired, or never issued.
    Unknown,
    /// Another connection proved the domain first.
    DomainTaken,
}

/// Marks the connection a proof names as proved, once: the conditional
/// update decides between parallel confirmations, and the partial unique
/// index between two organisations proving one domain.
pub async fn prove(
    db: &impl ConnectionTrait,
    token_hash: &str,
    since: i64,
    now: i64,
) -> Result<Proved, Error> {
    let done = sc::Entity::update_many()
        .col_expr(sc::Column::VerifiedAt, Expr::value(now))
        .filter(sc::Column::VerificationToken.eq(token_hash))
        .filter(sc::Column::VerifiedAt.is_null())
        .filter(sc::Column::CreatedAt.gt(since))
        .exec(db)
        .await;
    match done {
        Ok(r) if r.rows_affected == 1 => Ok(Proved::Now),
        Ok(_) => Ok(Proved::Unknown),
        Err(e) if is_unique_violation(&e) => Ok(Proved::DomainTaken),
        Err(e) => Err(e.into()),
    }
}

/// Drops connections whose domain was not proved before `before`
/// (housekeeping): an unproved claim routes nobody and should not linger.
pub async fn delete_unproved(db: &impl ConnectionTrait, before: i64) -> Result<u64, Error> {
    Ok(sc::Entity::delete_many()
        .filter(sc::Column::VerifiedAt.is_null())
        .filter(sc::Column::CreatedAt.lte(before))
        .exec(db)
        .await?
        .rows_affected)
}
