//! Password reset (seeds 000, 002): `forget-password` always answers 200; the
//! mailed link works once, for one hour; a reset ends every session and
//! revokes every refresh token of the account.

use crate::error::{ApiError, Error};
use crate::login::email::Email;
use crate::login::one_time;
use crate::login::password::check_policy;
use crate::login::session;
use crate::mail::templates;
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;

pub const KIND: &str = one_time::kind::RESET_PASSWORD;
pub const TTL: i64 = 3600;

/// Mails a reset link if the address has an account. The caller answers the
/// same either way.
pub async fn request(state: &AppState, email: &str) -> Result<(), Error> {
    let Some(e) = Email::parse(email) else {
        return Ok(());
    };
    let started = std::time::Instant::now();
    let Some((user, _)) = store::users::find_with_password(&state.db, e.as_str()).await? else {
        // The same write as for an account, and as long, so the time taken
        // does not tell which addresses have one. The token, bound to no
        // account, resets nothing, and goes nowhere.
        one_time::issue(state, KIND, None, e.as_str(), TTL).await?;
        crate::login::pace::FORGOT_PASSWORD.light(started).await;
        return Ok(());
    };
    let token = one_time::issue(state, KIND, Some(&user.id), &user.email, TTL).await?;
    let link = one_time::link(state, "/reset-password", &[("token", &token)])?;
    state
        .mailer
        .send(templates::reset_password(&user.email, &link));
    crate::login::pace::FORGOT_PASSWORD.heavy(started);
    Ok(())
}

/// Sets the new password with a valid link, then signs the account out everywhere.
pub async fn reset(state: &AppState, token: &str, new_password: &str) -> Result<(), ApiError> {
    let invalid = || {
        ApiError::bad_request(
            "INVALID_TOKEN",
            "This reset link is invalid, expired or already used.",
        )
    };
    let hash = opaque::hash_secret(token);
    // Check the policy before using the link up, so a weak password can be retried.
    let Some(row) = store::one_time::find_live(&state.db, &hash, KIND, state.now()).await? else {
        return Err(invalid());
    };
    check_policy(new_password, &row.email)?;
    // Used up before the slow hash: of parallel requests with one link, only
    // the one that consumed it spends a hash.
    let Some(row) = store::one_time::consume(&state.db, &hash, KIND, state.now()).await? else {
        return Err(invalid());
    };
    let password_hash = state.passwords.hash(new_password.to_string()).await?;
    let Some(user_id) = row.user_id.as_ref() else {
        return Err(invalid());
    };
    let Some(user) = store::users::find(&state.db, user_id).await? else {
        return Err(invalid());
    };
    // The link proved the address it was sent to: an unverified account is
    // the owner's now. If the account's address changed since, the link
    // proves nothing about it and changes nothing.
    if crate::login::reclaim::take_back(state, &user, &row.email, true)
        .await?
        .is_none()
    {
        return Err(invalid());
    }
    store::users::set_password(&state.db, user_id, password_hash, state.now()).await?;
    session::end_all(state, user_id).await?;
    let now = state.now();
    let keep = store::grants::revoked_until(&state.settings.tokens, now);
    store::grants::revoke_user(&state.db, user_id, now, keep).await?;
    state.caches.verified_tokens.forget_revocations();
    Ok(())
}
