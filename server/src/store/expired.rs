//! Deleting rows that can no longer be used, a bounded batch per statement so
//! that no delete holds the database (SQLite has one writer) for long. Each
//! function deletes every such row, batch after batch, and says how many.

use entities::{
    authorization_codes as codes, clients, consent_requests, consents, device_authorizations,
    one_time_tokens, refresh_tokens as refresh, revoked_grants, sessions, used_assertions,
    webauthn_ceremonies,
};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::error::Error;

/// Rows per delete statement.
pub const BATCH: u64 = 1000;

/// Deletes the rows of `E` whose primary key `pk` is among those `batch`
/// selects (at most [`BATCH`] each time) until a batch comes back short.
async fn in_batches<E, C>(
    db: &impl ConnectionTrait,
    pk: C,
    batch: impl Fn() -> SelectStatement,
) -> Result<u64, Error>
where
    E: EntityTrait,
    C: ColumnTrait + Copy,
{
    let mut total = 0;
    loop {
        let mut select = batch();
        select.limit(BATCH);
        let n = E::delete_many()
            .filter(pk.in_subquery(select))
            .exec(db)
            .await?
            .rows_affected;
        total += n;
        if n < BATCH {
            return Ok(total);
        }
        // Let requests waiting for the database go between batches.
        tokio::task::yield_now().await;
    }
}

/// The primary keys of `E`'s rows matching `cond`.
fn keys_where<E: EntityTrait>(pk: impl ColumnTrait, cond: SimpleExpr) -> SelectStatement {
    Query::select()
        .column(pk)
        .from(E::default())
        .and_where(cond)
        .to_owned()
}

/// Rows of a table with an `expires_at` whose expiry is before `before`.
macro_rules! expired_before {
    ($name:ident, $module:ident, $pk:ident, $what:literal) => {
        #[doc = concat!("Deletes ", $what, " that expired before `before` (unix seconds).")]
        pub async fn $name(db: &impl ConnectionTrait, before: i64) -> Result<u64, Error> {
            in_batches::<$module::Entity, _>(db, $module::Column::$pk, || {
                keys_where::<$module::Entity>(
                    $module::Column::$pk,
                    $module::Column::ExpiresAt.lt(before),
                )
            })
            .await
        }
    };
}

expired_before!(sessions, sessions, Id, "sessions");
expired_before!(codes, codes, CodeHash, "authorization codes");
expired_before!(
    assertions,
    used_assertions,
    JtiHash,
    "the `jti`s of client assertions"
);
expired_before!(
    consent_requests,
    consent_requests,
    Id,
    "consent requests nobody answered"
);
expired_before!(
    one_time_tokens,
    one_time_tokens,
    TokenHash,
    "mailed tokens and codes"
);
expired_before!(
    ceremonies,
    webauthn_ceremonies,
    IdHash,
    "passkey ceremonies"
);
expired_before!(
    revoked_grants,
    revoked_grants,
    GrantId,
    "revocation-list entries"
);

/// Deletes refresh-token families (grants) every token of which expired
/// before `before`. A family goes whole: a used token stays while any of its
/// successors lives, so that its reuse is still detected (RFC 9700 §4.14.2).
pub async fn refresh_families(db: &impl ConnectionTrait, before: i64) -> Result<u64, Error> {
    let (old, live) = (Alias::new("old"), Alias::new("live"));
    in_batches::<refresh::Entity, _>(db, refresh::Column::TokenHash, || {
        let living = Query::select()
            .expr(Expr::val(1))
            .from_as(refresh::Entity, live.clone())
            .and_where(
                Expr::col((live.clone(), refresh::Column::GrantId))
                    .equals((old.clone(), refresh::Column::GrantId)),
            )
            .and_where(Expr::col((live.clone(), refresh::Column::ExpiresAt)).gte(before))
            .to_owned();
        Query::select()
            .column((old.clone(), refresh::Column::TokenHash))
            .from_as(refresh::Entity, old.clone())
            .and_where(Expr::col((old.clone(), refresh::Column::ExpiresAt)).lt(before))
            .and_where(Expr::exists(living).not())
            .to_owned()
    })
    .await
}

/// Deletes the clients of `origin` last written before `before` that nothing
/// still needs: no user consented to them, and they hold no refresh token or
/// device authorization (deleting a client deletes those with it).
pub async fn unused_clients(
    db: &impl ConnectionTrait,
    origin: &str,
    before: i64,
) -> Result<u64, Error> {
    let of_client = |col: SimpleExpr| col.equals((clients::Entity, clients::Column::Id));
    in_batches::<clients::Entity, _>(db, clients::Column::Id, || {
        let consented = Query::select()
            .expr(Expr::val(1))
            .from(consents::Entity)
            .and_where(of_client(Expr::col((
                consents::Entity,
                consents::Column::ClientId,
            ))))
            .to_owned();
        let tokens = Query::select()
            .expr(Expr::val(1))
            .from(refresh::Entity)
            .and_where(of_client(Expr::col((
                refresh::Entity,
                refresh::Column::ClientId,
            ))))
            .to_owned();
        let devices = Query::select()
            .expr(Expr::val(1))
            .from(device_authorizations::Entity)
            .and_where(of_client(Expr::col((
                device_authorizations::Entity,
                device_authorizations::Column::ClientId,
            ))))
            .to_owned();
        Query::select()
            .column(clients::Column::Id)
            .from(clients::Entity)
            .and_where(clients::Column::Origin.eq(origin))
            .and_where(clients::Column::CreatedAt.lt(before))
            .and_where(Expr::exists(consented).not())
            .and_where(Expr::exists(tokens).not())
            .and_where(Expr::exists(devices).not())
            .to_owned()
    })
    .await
}
