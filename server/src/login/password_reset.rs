//! Password reset (seeds 000, 002): `forget-password` always answers 200; the
//! mailed link works once, for one hour; a reset ends every session and
//! revokes every refresh token of the account.

use entities::one_time_tokens;

use crate::error::{ApiError, Error};
use crate::login::email::Email;
use crate::login::password::check_policy;
use crate::login::session;
use crate::mail::templates;
use crate::oauth::discovery::endpoint;
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;

pub const KIND: &str = "reset-password";
pub const TTL: i64 = 3600;

/// Mails a reset link if the address has an account. The caller answers the
/// same either way.
pub async fn request(state: &AppState, email: &str) -> Result<(), Error> {
    let Some(e) = Email::parse(email) else {
        return Ok(());
    };
    let Some((user, _)) = store::users::find_with_password(&state.db, e.as_str()).await? else {
        return Ok(());
    };
    let now = state.now();
    let token = opaque::new_secret();
    store::one_time::replace(
        &state.db,
        one_time_tokens::Model {
            token_hash: opaque::hash_secret(&token),
            kind: KIND.into(),
            user_id: user.id.clone(),
            email: user.email.clone(),
            created_at: now,
            expires_at: now + TTL,
            consumed_at: None,
        },
    )
    .await?;
    let mut link = url::Url::parse(&endpoint(&state.settings.issuer, "/reset-password"))
        .map_err(|e| Error::internal(format!("reset link: {e}")))?;
    link.query_pairs_mut().append_pair("token", &token);
    state
        .mailer
        .send(templates::reset_password(&user.email, link.as_str()));
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
    // Check the policy before burning the link, so a weak password can be retried.
    let now = state.now();
    let Some(row) = store::one_time::find_live(&state.db, &hash, KIND, now).await? else {
        return Err(invalid());
    };
    check_policy(new_password, &row.email)?;
    let password_hash = state.passwords.hash(new_password.to_string()).await?;
    let Some(row) = store::one_time::consume(&state.db, &hash, KIND, state.now()).await? else {
        return Err(invalid());
    };
    let now = state.now();
    store::users::set_password(&state.db, &row.user_id, password_hash, now).await?;
    session::end_all(state, &row.user_id).await?;
    store::grants::revoke_user(
        &state.db,
        &row.user_id,
        now,
        now + state.settings.tokens.access_token_ttl + 60,
    )
    .await?;
    Ok(())
}
