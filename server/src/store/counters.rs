//! `attempt_counters`: a budget of attempts per key and fixed window, counted
//! in the database. Every attempt takes its place with one conditional
//! `UPDATE` (or the `INSERT` that starts the row) before the caller evaluates
//! it, so parallel requests and other instances cannot overrun the budget.

use entities::attempt_counters as counters;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::error::Error;

/// A budget: at most `limit` attempts per `window` seconds.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub limit: i32,
    pub window: i64,
}

/// Counts one attempt under `key`: `Ok(None)` when it fits the budget,
/// `Ok(Some(seconds))` until the window ends when the budget is spent.
pub async fn take(
    db: &impl ConnectionTrait,
    key: &str,
    budget: Budget,
    now: i64,
) -> Result<Option<i64>, Error> {
    // An insert lost to a parallel one means the row exists now: one more
    // round of the two updates decides.
    for _ in 0..2 {
        let counted = counters::Entity::update_many()
            .col_expr(
                counters::Column::Count,
                Expr::col(counters::Column::Count).add(1),
            )
            .filter(counters::Column::Key.eq(key))
            .filter(counters::Column::WindowEnds.gt(now))
            .filter(counters::Column::Count.lt(budget.limit))
            .exec(db)
            .await?;
        if counted.rows_affected == 1 {
            return Ok(None);
        }
        let restarted = counters::Entity::update_many()
            .col_expr(counters::Column::Count, Expr::value(1))
            .col_expr(counters::Column::WindowEnds, Expr::value(now + budget.window))
            .filter(counters::Column::Key.eq(key))
            .filter(counters::Column::WindowEnds.lte(now))
            .exec(db)
            .await?;
        if restarted.rows_affected == 1 {
            return Ok(None);
        }
        let first = counters::Model {
            key: key.to_string(),
            count: 1,
            window_ends: now + budget.window,
        };
        match super::insert(db, first).await {
            Ok(()) => return Ok(None),
            Err(e) if super::is_unique_violation(&e) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    let ends = super::unique(db, counters::Entity::find_by_id(key.to_string()))
        .await?
        .map_or(now + budget.window, |r| r.window_ends);
    Ok(Some(Ord::max(ends - now, 1)))
}

/// Gives back an attempt that turned out not to count (a right answer).
pub async fn refund(db: &impl ConnectionTrait, key: &str, now: i64) -> Result<(), Error> {
    counters::Entity::update_many()
        .col_expr(
            counters::Column::Count,
            Expr::col(counters::Column::Count).sub(1),
        )
        .filter(counters::Column::Key.eq(key))
        .filter(counters::Column::WindowEnds.gt(now))
        .filter(counters::Column::Count.gt(0))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes counters whose window ended before `before`.
pub async fn delete_expired(db: &impl ConnectionTrait, before: i64) -> Result<u64, Error> {
    let res = counters::Entity::delete_many()
        .filter(counters::Column::WindowEnds.lt(before))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}
