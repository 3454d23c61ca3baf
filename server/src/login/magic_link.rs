//! Magic-link sign-in (seeds 001, 003): `sign-in/magic-link` always answers
//! 200; the mailed link works once, for 15 minutes, and carries the
//! `callbackURL` (a same-origin path) so an authorization request survives
//! the round trip through the mailbox. Whether a link may create an account
//! is `PORTCULLIS_MAGIC_LINK__ALLOW_SIGN_UP`.

use entities::users;

use crate::domain::amr::Amr;
use crate::domain::return_to::safe_return_to;
use crate::error::Error;
use crate::login::email::Email;
use crate::login::email_password::create_user;
use crate::login::one_time;
use crate::mail::templates;
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;

pub const KIND: &str = one_time::kind::MAGIC_LINK;
pub const TTL: i64 = 15 * 60;
/// RFC 8176 has no value for "a link sent by mail"; it is a one-time code
/// delivered out of band, so `otp`.
pub const AMR: Amr = Amr::Otp;

/// Mails a sign-in link when the address may sign in (or sign up).
pub async fn request(state: &AppState, email: &str, callback: Option<&str>) -> Result<(), Error> {
    let Some(email) = Email::parse(email) else {
        return Ok(());
    };
    let user = store::users::find_with_password(&state.db, email.as_str())
        .await?
        .map(|(u, _)| u);
    if user.is_none() && !state.settings.magic_link.allow_sign_up {
        return Ok(());
    }
    let token = one_time::issue(
        state,
        KIND,
        user.as_ref().map(|u| &u.id),
        email.as_str(),
        TTL,
    )
    .await?;
    let mut params = vec![("token", token.as_str())];
    let callback = safe_return_to(callback);
    if let Some(cb) = &callback {
        params.push(("callbackURL", cb));
    }
    let link = one_time::link(state, "/.auth/api/v1/auth/magic-link/verify", &params)?;
    state
        .mailer
        .send(templates::magic_link(email.as_str(), &link));
    Ok(())
}

/// The address a live link signs in as, without using it (its confirm page
/// names the account, so a link someone else sent is not a silent sign-in).
pub async fn peek(state: &AppState, token: &str) -> Result<Option<String>, Error> {
    Ok(
        store::one_time::find_live(&state.db, &opaque::hash_secret(token), KIND, state.now())
            .await?
            .map(|row| row.email),
    )
}

/// Uses a link: the account to sign in, creating it when allowed. The address
/// is verified by the click.
pub async fn verify(state: &AppState, token: &str) -> Result<Option<users::Model>, Error> {
    let now = state.now();
    let Some(row) =
        store::one_time::consume(&state.db, &opaque::hash_secret(token), KIND, now).await?
    else {
        return Ok(None);
    };
    let existing = store::users::find_with_password(&state.db, &row.email)
        .await?
        .map(|(u, _)| u);
    let user = match (existing, row.user_id.as_ref()) {
        (Some(u), Some(id)) if u.id == *id => u,
        // The account changed address, or one was created meanwhile for it.
        (Some(u), None) => u,
        (Some(_), Some(_)) | (None, Some(_)) => return Ok(None),
        (None, None) if state.settings.magic_link.allow_sign_up => {
            let Some(email) = Email::parse(&row.email) else {
                return Ok(None);
            };
            match create_user(state, None, &email, "", None, true).await {
                Ok(u) => u,
                Err(e) if e.status == 422 => {
                    match store::users::find_with_password(&state.db, email.as_str()).await? {
                        Some((u, _)) => u,
                        None => return Ok(None),
                    }
                }
                Err(e) => return Err(Error::internal(e.message)),
            }
        }
        (None, None) => return Ok(None),
    };
    // None: the account's address changed since the link was sent.
    if crate::login::reclaim::take_back(state, &user, &row.email, false)
        .await?
        .is_none()
    {
        return Ok(None);
    }
    store::users::find(&state.db, &user.id).await
}
