//! `attempt_counters`: a budget of attempts per key and fixed window, counted
//! in the database. Every attempt takes its place with one conditional
//! upsert before the caller evaluates it, so parallel requests and other
//! instances cannot overrun the budget.

use entities::attempt_counters as counters;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

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
    // One statement for every case: the first attempt inserts the row; a
    // later one counts itself, or starts a new window when the last one
    // ended, or (the WHERE) changes nothing when the budget is spent.
    let col = |c: counters::Column| Expr::col((counters::Entity, c));
    let ended = || col(counters::Column::WindowEnds).lte(now);
    let first = counters::ActiveModel {
        key: Set(key.to_string()),
        count: Set(1),
        window_ends: Set(now + budget.window),
    };
    let counted = counters::Entity::insert(first)
        .on_conflict(
            OnConflict::column(counters::Column::Key)
                .value(
                    counters::Column::Count,
                    Expr::case(ended(), 1).finally(col(counters::Column::Count).add(1)),
                )
                .value(
                    counters::Column::WindowEnds,
                    Expr::case(ended(), now + budget.window)
                        .finally(col(counters::Column::WindowEnds)),
                )
                .action_and_where(ended().or(col(counters::Column::Count).lt(budget.limit)))
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    if counted == 1 {
        return Ok(None);
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
