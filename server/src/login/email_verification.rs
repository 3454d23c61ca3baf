//! Email verification (seed 002): a link is mailed on sign-up and on request;
//! following it marks the address verified. The link works once, and only
//! the newest one works.

use entities::users;

use crate::error::{ApiError, Error};
use crate::login::email::Email;
use crate::login::one_time;
use crate::mail::templates;
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;

pub const KIND: &str = "verify-email";
/// How long a verification link works.
pub const TTL: i64 = 24 * 3600;

/// Mails a fresh verification link to an unverified user.
pub async fn send(state: &AppState, user: &users::Model) -> Result<(), Error> {
    if user.email_verified {
        return Ok(());
    }
    let token = one_time::issue(state, KIND, Some(&user.id), &user.email, TTL).await?;
    let link = one_time::link(
        state,
        "/.auth/api/v1/auth/verify-email",
        &[("token", &token)],
    )?;
    state
        .mailer
        .send(templates::verify_email(&user.email, &link));
    Ok(())
}

/// `send-verification-email`: the same answer whether or not the address has
/// an account (no enumeration).
pub async fn resend(state: &AppState, email: &str) -> Result<(), ApiError> {
    if let Some(e) = Email::parse(email)
        && let Some((user, _)) = store::users::find_with_password(&state.db, e.as_str()).await?
    {
        send(state, &user).await?;
    }
    Ok(())
}

/// Follows a link: true when it verified an address.
pub async fn verify(state: &AppState, token: &str) -> Result<bool, Error> {
    let now = state.now();
    let Some(row) =
        store::one_time::consume(&state.db, &opaque::hash_secret(token), KIND, now).await?
    else {
        return Ok(false);
    };
    let Some(user_id) = row.user_id.as_deref() else {
        return Ok(false);
    };
    let Some(user) = store::users::find(&state.db, user_id).await? else {
        return Ok(false);
    };
    // The address may have changed since the link was sent.
    if user.email != row.email {
        return Ok(false);
    }
    store::users::mark_verified(&state.db, &user.id, now).await?;
    crate::login::session::forget_user(state, &user.id);
    Ok(true)
}
