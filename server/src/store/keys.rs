//! `signing_keys` and their lifecycle (DESIGN §4):
//!
//! ```text
//! rotate ─► next ──(activates_at passed)──► active ──(next one activates)──► retired ─► deleted
//!           published, not signing          signing       published until not_after
//! ```
//!
//! At most one `active` and one `next` key per algorithm, each enforced by a
//! partial unique index, so instances racing at first start, or two rotations
//! at once, cannot make two. Private keys are stored sealed (`secrets`).

use entities::signing_keys::{ActiveModel, Column, Entity, Model};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, TransactionSession, TransactionTrait,
};

use super::is_unique_violation;
use crate::domain::alg::Alg;
use crate::error::Error;

pub const NEXT: &str = "next";
pub const ACTIVE: &str = "active";
pub const RETIRED: &str = "retired";

/// A key made by the caller (`tokens::keys`), as stored: its `kid`, its
/// private key already sealed, and its public JWK.
pub struct NewKey {
    pub kid: String,
    pub private_key: String,
    pub public_jwk: String,
}

/// A new key row in `status`, signing from `activates_at`.
fn new_row(key: NewKey, alg: Alg, status: &str, now: i64, activates_at: i64) -> ActiveModel {
    ActiveModel {
        kid: Set(key.kid),
        alg: Set(alg.as_str().to_string()),
        status: Set(status.to_string()),
        private_key: Set(key.private_key.into_bytes()),
        public_jwk: Set(key.public_jwk),
        created_at: Set(now),
        activates_at: Set(Some(activates_at)),
        retired_at: Set(None),
        not_after: Set(None),
    }
}

/// Creates an active key (made by `make`) for each algorithm that has none:
/// active at once, as on a first start there is nobody a key could be
/// announced to before. A concurrent instance may win the race; its key is
/// then the one we use.
pub async fn ensure_active(
    db: &impl ConnectionTrait,
    now: i64,
    make: impl Fn(Alg) -> Result<NewKey, Error>,
) -> Result<(), Error> {
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
        match Entity::insert(new_row(make(alg)?, alg, ACTIVE, now, now))
            .exec_without_returning(db)
            .await
        {
            Ok(_) => tracing::info!(alg = alg.as_str(), "created signing key"),
            Err(e) if is_unique_violation(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Makes each `next` key whose time has come the active one, retiring the
/// key it replaces (published for `retain_secs` more). Instances doing this
/// at once agree: each step is conditional, and the loser changes nothing.
pub async fn promote_due(
    db: &(impl ConnectionTrait + TransactionTrait),
    now: i64,
    retain_secs: i64,
) -> Result<(), Error> {
    let due = Entity::find()
        .filter(Column::Status.eq(NEXT))
        .filter(Column::ActivatesAt.lte(now))
        .all(db)
        .await?;
    for next in due {
        let txn = db.begin().await?;
        Entity::update_many()
            .col_expr(Column::Status, Expr::value(RETIRED))
            .col_expr(Column::RetiredAt, Expr::value(now))
            .col_expr(Column::NotAfter, Expr::value(now + retain_secs))
            .filter(Column::Alg.eq(next.alg.clone()))
            .filter(Column::Status.eq(ACTIVE))
            .filter(Column::Kid.ne(next.kid.clone()))
            .exec(&txn)
            .await?;
        let promoted = Entity::update_many()
            .col_expr(Column::Status, Expr::value(ACTIVE))
            .filter(Column::Kid.eq(next.kid.clone()))
            .filter(Column::Status.eq(NEXT))
            .exec(&txn)
            .await;
        match promoted {
            Ok(r) if r.rows_affected == 1 => {
                txn.commit().await?;
                tracing::info!(alg = next.alg, kid = next.kid, "signing key activated");
            }
            Ok(_) => txn.rollback().await?,
            Err(e) if is_unique_violation(&e) => txn.rollback().await?,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Next, active, and retired keys whose tokens may still be alive.
pub async fn published(db: &impl ConnectionTrait, now: i64) -> Result<Vec<Model>, Error> {
    Ok(Entity::find()
        .filter(
            Condition::any()
                .add(Column::Status.is_in([ACTIVE, NEXT]))
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

/// Why a rotation was not started.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error(
        "a rotation is already pending: its keys become active at {activates_at} (see `portcullis keys list`)"
    )]
    Pending { activates_at: i64 },
    #[error(transparent)]
    Other(#[from] Error),
}

/// Creates a `next` key per algorithm (made by `make`), published now and
/// active from `now + delay_secs`; drops retired keys nothing can need any
/// more.
pub async fn rotate(
    db: &(impl ConnectionTrait + TransactionTrait),
    now: i64,
    delay_secs: i64,
    make: impl Fn(Alg) -> Result<NewKey, Error>,
) -> Result<Vec<Model>, RotateError> {
    let pending = |rows: Vec<Model>| {
        rows.into_iter()
            .find(|k| k.status == NEXT)
            .map(|k| RotateError::Pending {
                activates_at: k.activates_at.unwrap_or(now),
            })
    };
    if let Some(e) = pending(all(db).await?) {
        return Err(e);
    }
    // Generate outside the transaction: RSA generation takes a moment.
    let rows = Alg::ALL
        .into_iter()
        .map(|alg| Ok(new_row(make(alg)?, alg, NEXT, now, now + delay_secs)))
        .collect::<Result<Vec<_>, Error>>()?;
    let txn = db.begin().await.map_err(Error::from)?;
    Entity::delete_many()
        .filter(Column::Status.eq(RETIRED))
        .filter(Column::NotAfter.lte(now))
        .exec(&txn)
        .await
        .map_err(Error::from)?;
    let mut created = Vec::new();
    for row in rows {
        match Entity::insert(row).exec_with_returning(&txn).await {
            Ok(m) => created.push(m),
            // Another rotation won the race (one `next` per algorithm).
            Err(e) if is_unique_violation(&e) => {
                txn.rollback().await.map_err(Error::from)?;
                return Err(pending(all(db).await?).unwrap_or(RotateError::Pending {
                    activates_at: now + delay_secs,
                }));
            }
            Err(e) => return Err(Error::from(e).into()),
        }
    }
    txn.commit().await.map_err(Error::from)?;
    Ok(created)
}
