//! Sealing the secrets the database holds (see `secrets`): at every start,
//! anything stored in plaintext by an older release, or sealed under a key
//! that is now only in `PORTCULLIS_SECRETS__OLD_KEYS`, is sealed under the
//! current key — in one transaction, each row with a compare-and-set on its
//! old value, so instances starting together never overwrite each other.
//!
//! A check value (`server_secrets` row [`CHECK`]) is sealed with the first
//! key: it tells a wrong key from a right one before anything is touched, and
//! that the database holds sealed secrets at all.

use entities::{server_secrets, signing_keys, sso_connections, two_factors};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, TransactionTrait,
};
use zeroize::Zeroizing;

use crate::error::Error;
use crate::secrets::{Kek, OpenError, Slot, is_sealed};

/// The `server_secrets` row that proves the key.
pub const CHECK: &str = "secrets-key-check";
const CHECK_TEXT: &[u8] = b"portcullis secrets key check";

/// How many values were (re-)sealed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sealed {
    pub values: u64,
}

#[derive(Debug)]
pub enum SealError {
    /// A sealed value does not open with the configured keys.
    WrongKey(OpenError),
    Other(Error),
}

impl From<DbErr> for SealError {
    fn from(e: DbErr) -> Self {
        SealError::Other(e.into())
    }
}

impl From<Error> for SealError {
    fn from(e: Error) -> Self {
        SealError::Other(e)
    }
}

/// Whether anything in the database is sealed: then only its key opens it.
pub async fn holds_sealed(db: &impl ConnectionTrait) -> Result<bool, Error> {
    if super::unique(db, server_secrets::Entity::find_by_id(CHECK.to_string()))
        .await?
        .is_some()
    {
        return Ok(true);
    }
    let keys = signing_keys::Entity::find().all(db).await?;
    if keys.iter().any(|k| is_sealed(&k.private_key)) {
        return Ok(true);
    }
    // Asked only when no key is found, so a LIMIT that SQLite re-prepares
    // costs nothing here (see `store::unique`).
    Ok(two_factors::Entity::find()
        .filter(two_factors::Column::Secret.like("pcs1:%"))
        .one(db)
        .await?
        .is_some())
}

/// The plaintext of a stored value: opened if sealed, as stored if not.
fn plain(kek: &Kek, slot: Slot<'_>, stored: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
    if !is_sealed(stored) {
        return Ok(Zeroizing::new(stored.to_vec()));
    }
    let text = std::str::from_utf8(stored).map_err(|_| SealError::WrongKey(OpenError::Rejected))?;
    kek.open(slot, text).map_err(SealError::WrongKey)
}

/// Checks the key against the check value (sealing one if there is none),
/// then seals every value not sealed under the current key.
pub async fn seal_at_rest(
    db: &DatabaseConnection,
    kek: &Kek,
    now: i64,
) -> Result<Sealed, SealError> {
    let txn = db.begin().await?;
    server_secrets::Entity::insert(server_secrets::ActiveModel {
        name: Set(CHECK.to_string()),
        secret: Set(kek.seal(Slot::ServerSecret(CHECK), CHECK_TEXT)?),
        created_at: Set(now),
    })
    .on_conflict_do_nothing_on([server_secrets::Column::Name])
    .exec_without_returning(&txn)
    .await?;
    let check = super::unique(&txn, server_secrets::Entity::find_by_id(CHECK.to_string()))
        .await?
        .ok_or_else(|| Error::internal("the secrets key check is missing"))?;
    if kek
        .open(Slot::ServerSecret(CHECK), &check.secret)
        .map_err(SealError::WrongKey)?
        .as_slice()
        != CHECK_TEXT
    {
        return Err(SealError::WrongKey(OpenError::Rejected));
    }

    let current = kek.current_prefix();
    let mut sealed = Sealed::default();
    for row in signing_keys::Entity::find().all(&txn).await? {
        if row.private_key.starts_with(current.as_bytes()) {
            continue;
        }
        let slot = Slot::SigningKey(&row.kid);
        let value = kek.seal(slot, &plain(kek, slot, &row.private_key)?)?;
        let res = signing_keys::Entity::update_many()
            .col_expr(
                signing_keys::Column::PrivateKey,
                Expr::value(value.into_bytes()),
            )
            .filter(signing_keys::Column::Kid.eq(row.kid.clone()))
            .filter(signing_keys::Column::PrivateKey.eq(row.private_key.clone()))
            .exec(&txn)
            .await?;
        sealed.values += res.rows_affected;
    }
    for row in server_secrets::Entity::find().all(&txn).await? {
        if row.secret.starts_with(&current) {
            continue;
        }
        let slot = Slot::ServerSecret(&row.name);
        let value = kek.seal(slot, &plain(kek, slot, row.secret.as_bytes())?)?;
        let res = server_secrets::Entity::update_many()
            .col_expr(server_secrets::Column::Secret, Expr::value(value))
            .filter(server_secrets::Column::Name.eq(row.name.clone()))
            .filter(server_secrets::Column::Secret.eq(row.secret.clone()))
            .exec(&txn)
            .await?;
        sealed.values += res.rows_affected;
    }
    let stale = two_factors::Entity::find()
        .filter(two_factors::Column::Secret.not_like(format!("{current}%")))
        .all(&txn)
        .await?;
    for row in stale {
        let slot = Slot::TotpSecret(row.user_id.as_str());
        let value = kek.seal(slot, &plain(kek, slot, row.secret.as_bytes())?)?;
        let res = two_factors::Entity::update_many()
            .col_expr(two_factors::Column::Secret, Expr::value(value))
            .filter(two_factors::Column::UserId.eq(row.user_id.clone()))
            .filter(two_factors::Column::Secret.eq(row.secret.clone()))
            .exec(&txn)
            .await?;
        sealed.values += res.rows_affected;
    }
    sealed.values += reseal_sso_secrets(&txn, kek, &current).await?;
    txn.commit().await?;
    Ok(sealed)
}

/// Seals the SSO connections' client secrets not sealed under the current
/// key (part of [`seal_at_rest`]).
async fn reseal_sso_secrets(
    txn: &impl ConnectionTrait,
    kek: &Kek,
    current: &str,
) -> Result<u64, SealError> {
    let mut values = 0;
    let stale = sso_connections::Entity::find()
        .filter(sso_connections::Column::ClientSecret.not_like(format!("{current}%")))
        .all(txn)
        .await?;
    for row in stale {
        let slot = Slot::SsoClientSecret(&row.id);
        let value = kek.seal(slot, &plain(kek, slot, row.client_secret.as_bytes())?)?;
        let res = sso_connections::Entity::update_many()
            .col_expr(sso_connections::Column::ClientSecret, Expr::value(value))
            .filter(sso_connections::Column::Id.eq(row.id.clone()))
            .filter(sso_connections::Column::ClientSecret.eq(row.client_secret.clone()))
            .exec(txn)
            .await?;
        values += res.rows_affected;
    }
    Ok(values)
}
