//! `signing_keys`: at most one active key per algorithm, enforced by a partial
//! unique index, so instances racing at first start cannot both create one.

use entities::signing_keys::{ActiveModel, Column, Entity, Model};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, TransactionSession, TransactionTrait,
};

use super::is_unique_violation;
use crate::error::Error;
use crate::tokens::keys::{Alg, SigningKey, generate_pkcs8};

pub const ACTIVE: &str = "active";
pub const RETIRED: &str = "retired";

fn new_row(alg: Alg, now: i64) -> Result<ActiveModel, Error> {
    let der = generate_pkcs8(alg)?;
    let key = SigningKey::from_pkcs8(alg, &der)?;
    Ok(ActiveModel {
        kid: Set(key.kid.clone()),
        alg: Set(alg.as_str().to_string()),
        status: Set(ACTIVE.to_string()),
        private_key: Set(der),
        public_jwk: Set(key.public_jwk().to_string()),
        created_at: Set(now),
        retired_at: Set(None),
        not_after: Set(None),
    })
}

/// Creates an active key for each algorithm that has none. A concurrent
/// instance may win the race; its key is then the one we use.
pub async fn ensure_active(db: &impl ConnectionTrait, now: i64) -> Result<(), Error> {
    let present: Vec<String> = Entity::find()
        .filter(Column::Status.eq(ACTIVE))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.alg)
        .collect();
    for alg in Alg::ALL {
        if present.iter().any(|a| a == alg.as_str()) {
            continue;
        }
        match Entity::insert(new_row(alg, now)?).exec(db).await {
            Ok(_) => tracing::info!(alg = alg.as_str(), "created signing key"),
            Err(e) if is_unique_violation(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Active keys and retired keys whose tokens may still be alive.
pub async fn published(db: &impl ConnectionTrait, now: i64) -> Result<Vec<Model>, Error> {
    Ok(Entity::find()
        .filter(
            Condition::any()
                .add(Column::Status.eq(ACTIVE))
                .add(Column::NotAfter.gt(now)),
        )
        .order_by_asc(Column::CreatedAt)
        .all(db)
        .await?)
}

/// Every key, newest first (`keys list`).
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<Model>, Error> {
    Ok(Entity::find()
        .order_by_desc(Column::CreatedAt)
        .all(db)
        .await?)
}

/// Retires the active keys (published for `retain_secs` more) and creates new
/// ones, in one transaction; drops retired keys nothing can need any more.
pub async fn rotate(
    db: &(impl ConnectionTrait + TransactionTrait),
    now: i64,
    retain_secs: i64,
) -> Result<Vec<Model>, Error> {
    // Generate outside the transaction: RSA generation takes a moment.
    let rows = Alg::ALL
        .into_iter()
        .map(|alg| new_row(alg, now))
        .collect::<Result<Vec<_>, _>>()?;
    let txn = db.begin().await?;
    Entity::update_many()
        .col_expr(Column::Status, Expr::value(RETIRED))
        .col_expr(Column::RetiredAt, Expr::value(now))
        .col_expr(Column::NotAfter, Expr::value(now + retain_secs))
        .filter(Column::Status.eq(ACTIVE))
        .exec(&txn)
        .await?;
    Entity::delete_many()
        .filter(Column::Status.eq(RETIRED))
        .filter(Column::NotAfter.lte(now))
        .exec(&txn)
        .await?;
    let mut created = Vec::new();
    for row in rows {
        created.push(Entity::insert(row).exec_with_returning(&txn).await?);
    }
    txn.commit().await?;
    Ok(created)
}
