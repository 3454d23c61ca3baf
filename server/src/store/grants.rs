//! Authorization codes, refresh tokens and revoked grants: the rows behind the
//! token endpoint. Single-use things are consumed with a conditional update
//! whose row count decides the winner (DESIGN §1.4).

use entities::{
    authorization_codes as codes, refresh_tokens as refresh, revoked_grants as revoked, users,
};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::config::TokenSettings;
use crate::domain::ids::{GrantId, UserId};
use crate::error::Error;

pub async fn insert_code(db: &impl ConnectionTrait, code: codes::Model) -> Result<(), Error> {
    Ok(super::insert(db, code).await?)
}

/// A code and its user, in one query.
pub async fn find_code(
    db: &impl ConnectionTrait,
    hash: &str,
) -> Result<Option<(codes::Model, Option<users::Model>)>, Error> {
    Ok(super::unique_with(
        db,
        codes::Entity::find_by_id(hash.to_string()).find_also_related(users::Entity),
    )
    .await?)
}

/// Marks a code used; true for exactly one caller.
pub async fn consume_code(db: &impl ConnectionTrait, hash: &str, now: i64) -> Result<bool, Error> {
    let res = codes::Entity::update_many()
        .col_expr(codes::Column::ConsumedAt, Expr::value(now))
        .filter(codes::Column::CodeHash.eq(hash))
        .filter(codes::Column::ConsumedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Deletes a user's unredeemed codes (the account was taken back).
pub async fn delete_unredeemed_codes(
    db: &impl ConnectionTrait,
    user_id: &UserId,
) -> Result<(), Error> {
    codes::Entity::delete_many()
        .filter(codes::Column::UserId.eq(user_id))
        .filter(codes::Column::ConsumedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

pub async fn insert_refresh(db: &impl ConnectionTrait, token: refresh::Model) -> Result<(), Error> {
    Ok(super::insert(db, token).await?)
}

pub async fn find_refresh(
    db: &impl ConnectionTrait,
    hash: &str,
) -> Result<Option<refresh::Model>, Error> {
    Ok(super::unique(db, refresh::Entity::find_by_id(hash.to_string())).await?)
}

/// Deletes a refresh token nobody was given (a redemption that lost its race).
pub async fn delete_refresh(db: &impl ConnectionTrait, hash: &str) -> Result<(), Error> {
    refresh::Entity::delete_by_id(hash.to_string())
        .exec(db)
        .await?;
    Ok(())
}

/// A refresh token and its user, in one query.
pub async fn find_refresh_with_user(
    db: &impl ConnectionTrait,
    hash: &str,
) -> Result<Option<(refresh::Model, Option<users::Model>)>, Error> {
    Ok(super::unique_with(
        db,
        refresh::Entity::find_by_id(hash.to_string()).find_also_related(users::Entity),
    )
    .await?)
}

/// Marks a refresh token used and stores the sealed response it got (for
/// retries), in one statement; true for exactly one caller, and only while
/// its grant is not on the revocation list. The list is the source of truth:
/// a successor row a concurrent revocation could not see is still refused
/// when it is used.
pub async fn claim_refresh(
    db: &impl ConnectionTrait,
    hash: &str,
    grant_id: &GrantId,
    now: i64,
    sealed: Vec<u8>,
) -> Result<bool, Error> {
    let revoked_grant = Query::select()
        .expr(Expr::val(1))
        .from(revoked::Entity)
        .and_where(revoked::Column::GrantId.eq(grant_id))
        .to_owned();
    let res = refresh::Entity::update_many()
        .col_expr(refresh::Column::UsedAt, Expr::value(now))
        .col_expr(refresh::Column::Successor, Expr::value(sealed))
        .filter(refresh::Column::TokenHash.eq(hash))
        .filter(refresh::Column::UsedAt.is_null())
        .filter(refresh::Column::RevokedAt.is_null())
        .filter(Expr::exists(revoked_grant).not())
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// How long a grant revoked at `now` stays on the revocation list: as long
/// as anything issued from it could live, a refresh token minted by a
/// rotation racing the revocation included.
pub fn revoked_until(tokens: &TokenSettings, now: i64) -> i64 {
    now + Ord::max(tokens.access_token_ttl, tokens.refresh_token_ttl) + 60
}

/// Revokes a whole grant: every refresh token of it, and (through the
/// revocation list) every access token carrying its `gid`.
pub async fn revoke_grant(
    db: &impl ConnectionTrait,
    grant_id: &GrantId,
    now: i64,
    keep_until: i64,
) -> Result<(), Error> {
    refresh::Entity::update_many()
        .col_expr(refresh::Column::RevokedAt, Expr::value(now))
        .filter(refresh::Column::GrantId.eq(grant_id))
        .filter(refresh::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    revoke_id(db, grant_id.as_str(), now, keep_until).await
}

/// Puts a grant id or access-token `jti` on the revocation list.
pub async fn revoke_id(
    db: &impl ConnectionTrait,
    id: &str,
    now: i64,
    keep_until: i64,
) -> Result<(), Error> {
    let row = revoked::ActiveModel {
        grant_id: sea_orm::ActiveValue::Set(GrantId::from(id)),
        revoked_at: sea_orm::ActiveValue::Set(now),
        expires_at: sea_orm::ActiveValue::Set(keep_until),
    };
    revoked::Entity::insert(row)
        .on_conflict_do_nothing_on([revoked::Column::GrantId])
        .exec(db)
        .await?;
    Ok(())
}

/// Whether any of the ids (grant id, jti) is revoked.
pub async fn any_revoked(db: &impl ConnectionTrait, ids: &[&str]) -> Result<bool, Error> {
    let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    Ok(revoked::Entity::find()
        .filter(revoked::Column::GrantId.is_in(ids))
        .one(db)
        .await?
        .is_some())
}

/// Records a client assertion's `jti`; false if it was seen before (RFC 7523 §3).
pub async fn record_assertion(
    db: &impl ConnectionTrait,
    jti_hash: &str,
    expires_at: i64,
) -> Result<bool, Error> {
    let row = entities::used_assertions::ActiveModel {
        jti_hash: sea_orm::ActiveValue::Set(jti_hash.to_string()),
        expires_at: sea_orm::ActiveValue::Set(expires_at),
    };
    match entities::used_assertions::Entity::insert(row)
        .exec(db)
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if super::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Revokes every grant of a user that still has refresh tokens, so their
/// refresh tokens and access tokens stop working.
pub async fn revoke_user(
    db: &impl ConnectionTrait,
    user_id: &UserId,
    now: i64,
    keep_until: i64,
) -> Result<(), Error> {
    let grants: Vec<GrantId> = refresh::Entity::find()
        .filter(refresh::Column::UserId.eq(user_id))
        .filter(refresh::Column::RevokedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.grant_id)
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    for g in grants {
        if seen.insert(g.clone()) {
            revoke_grant(db, &g, now, keep_until).await?;
        }
    }
    Ok(())
}
