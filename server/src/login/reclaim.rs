//! Taking an unverified account back (account pre-hijacking): someone may
//! have created it with another person's address. When the owner first
//! proves the address (a magic link, a password reset), nothing the creator
//! set up survives: their password, passkeys, TOTP factor, sessions, the
//! tokens issued to them, and what they approved but did not redeem yet
//! (device authorizations, authorization codes, consent requests).

use entities::users;
use sea_orm::TransactionTrait;

use crate::domain::ids::UserId;
use crate::error::Error;
use crate::login::one_time::kind;
use crate::state::AppState;
use crate::store;

/// What a proof of `email` did to the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reclaimed {
    /// The account was unverified: the creator's setup is gone, it is verified now.
    TakenBack,
    /// The account was verified already: nothing changed.
    AlreadyVerified,
}

/// Clears what an unverified account's creator set up and marks the address
/// verified. `email` is the address that was proved (the one the link or
/// code was sent to): `None` when it is no longer the account's, and the
/// proof is then worth nothing. `keep_password`: the owner just chose it (a
/// reset).
pub async fn take_back(
    state: &AppState,
    user: &users::Model,
    email: &str,
    keep_password: bool,
) -> Result<Option<Reclaimed>, Error> {
    let now = state.now();
    let txn = state.db.begin().await?;
    // Claimed first: of parallel proofs one takes back, and an address
    // changed since the mail was sent matches nothing.
    if !store::users::claim_unverified(&txn, &user.id, email, now).await? {
        txn.rollback().await?;
        return Ok(store::users::mark_verified(&state.db, &user.id, email, now)
            .await?
            .then_some(Reclaimed::AlreadyVerified));
    }
    if !keep_password {
        store::users::delete_password(&txn, &user.id).await?;
    }
    store::passkeys::delete_for_user(&txn, &user.id).await?;
    store::identities::delete_for_user(&txn, &user.id).await?;
    store::two_factors::delete(&txn, &user.id).await?;
    // Approved by the creator but not redeemed yet: redeemed after this,
    // they would hand the creator tokens for the owner's account.
    store::devices::deny_unconsumed_for_user(&txn, &user.id).await?;
    store::grants::delete_unredeemed_codes(&txn, &user.id).await?;
    store::consents::delete_requests_for_user(&txn, &user.id).await?;
    store::sessions::delete_for_user(&txn, &user.id).await?;
    let keep = store::grants::revoked_until(&state.settings.tokens, now);
    store::grants::revoke_user(&txn, &user.id, now, keep).await?;
    drop_verification(&txn, &user.id).await?;
    txn.commit().await?;
    crate::login::session::forget_user(state, &user.id);
    state.caches.verified_tokens.forget_revocations();
    Ok(Some(Reclaimed::TakenBack))
}

/// Drops the links and codes that verify the address, once it is verified: a
/// day-long verification link must not live on as a sign-in link.
pub async fn drop_verification(
    db: &impl sea_orm::ConnectionTrait,
    user_id: &UserId,
) -> Result<(), Error> {
    store::one_time::drop_for_user(db, user_id, &[kind::VERIFY_EMAIL, kind::EMAIL_CODE]).await
}
