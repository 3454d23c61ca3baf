//! Sign-up and sign-in with email and password (seed 000's `sign-up/email`,
//! `sign-in/email`).

use entities::users;

use super::email::Email;
use super::password::check_policy;
use crate::error::ApiError;
use crate::ratelimit::{Family, account_key, ip_key};
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;

/// Creates an account with a password. The caller starts the session.
pub async fn sign_up(
    state: &AppState,
    ip: &str,
    email: &str,
    password: &str,
    name: &str,
) -> Result<users::Model, ApiError> {
    state.limit(Family::SignUp, &[ip_key(ip)])?;
    let email = Email::parse(email)
        .ok_or_else(|| ApiError::bad_request("INVALID_EMAIL", "Enter a valid email address."))?;
    check_policy(password, email.as_str())?;
    let name = name.trim();
    if name.chars().count() > 200 {
        return Err(ApiError::bad_request(
            "INVALID_NAME",
            "Use at most 200 characters for your name.",
        ));
    }
    let hash = state.passwords.hash(password.to_string()).await?;
    let user = create_user(state, None, &email, name, Some(hash), false).await?;
    super::email_verification::send(state, &user).await?;
    Ok(user)
}

/// Inserts the user and their credential in one transaction. `id` is given
/// when something was already bound to it (a passkey's user handle).
pub async fn create_user(
    state: &AppState,
    id: Option<String>,
    email: &Email,
    name: &str,
    password_hash: Option<String>,
    verified: bool,
) -> Result<users::Model, ApiError> {
    let now = state.now();
    let user = users::Model {
        id: id.unwrap_or_else(opaque::new_id),
        email: email.as_str().to_string(),
        name: name.to_string(),
        email_verified: verified,
        image: None,
        created_at: now,
        updated_at: now,
    };
    match store::users::insert_with_password(&state.db, user.clone(), password_hash).await {
        Ok(()) => Ok(user),
        Err(store::users::InsertError::EmailTaken) => Err(ApiError::new(
            422,
            "USER_ALREADY_EXISTS",
            "An account with this email already exists.",
        )),
        Err(store::users::InsertError::Other(e)) => Err(e.into()),
    }
}

/// Checks email and password. Unknown email and wrong password cost the same
/// Argon2 work and give the same answer.
pub async fn sign_in(
    state: &AppState,
    ip: &str,
    email: &str,
    password: &str,
) -> Result<users::Model, ApiError> {
    // Per address and per account: a password is a guessable secret.
    state.limit(Family::SignIn, &[ip_key(ip), account_key(email)])?;
    let found = match Email::parse(email) {
        Some(e) => store::users::find_with_password(&state.db, e.as_str()).await?,
        None => None,
    };
    let (user, hash) = match found {
        Some((u, h)) => (Some(u), h),
        None => (None, None),
    };
    let ok = state.passwords.verify(password.to_string(), hash).await?;
    match user {
        Some(u) if ok => Ok(u),
        _ => Err(ApiError::invalid_credentials()),
    }
}
