//! Email verification (seed 002): a link is mailed on sign-up and on request.
//! Opening it shows a confirm page; confirming (a POST) proves the mailbox
//! (`login::mailbox`). The link works once, and only the newest one works.

use entities::users;

use crate::error::{ApiError, Error};
use crate::login::email::Email;
use crate::login::mailbox::{self, Proved};
use crate::login::one_time;
use crate::login::session::SessionInfo;
use crate::mail::templates;
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;

pub const KIND: &str = one_time::kind::VERIFY_EMAIL;
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

/// The account a live link names, without using the link (its confirm
/// page shows this; opening a link changes nothing).
pub async fn peek(state: &AppState, token: &str) -> Result<Option<users::Model>, Error> {
    let Some(row) =
        store::one_time::find_live(&state.db, &opaque::hash_secret(token), KIND, state.now())
            .await?
    else {
        return Ok(None);
    };
    account_of(state, &row).await
}

/// The account behind a link's row, while it still has the address the link
/// was sent to.
async fn account_of(
    state: &AppState,
    row: &entities::one_time_tokens::Model,
) -> Result<Option<users::Model>, Error> {
    let Some(user_id) = row.user_id.as_ref() else {
        return Ok(None);
    };
    // The address may have changed since the link was sent.
    Ok(store::users::find(&state.db, user_id)
        .await?
        .filter(|u| u.email == row.email))
}

/// Uses a link, confirmed by `confirmer` (the browser's session, if any):
/// the account it verified (as it is now) and what the caller does next.
pub async fn confirm(
    state: &AppState,
    token: &str,
    confirmer: Option<&SessionInfo>,
) -> Result<Option<(users::Model, Proved)>, Error> {
    let Some(row) =
        store::one_time::consume(&state.db, &opaque::hash_secret(token), KIND, state.now()).await?
    else {
        return Ok(None);
    };
    let Some(user) = account_of(state, &row).await? else {
        return Ok(None);
    };
    let Some(next) = mailbox::proved(state, &user, &row.email, confirmer).await? else {
        return Ok(None);
    };
    Ok(store::users::find(&state.db, &user.id)
        .await?
        .map(|u| (u, next)))
}
