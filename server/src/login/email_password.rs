//! Sign-up and sign-in with email and password (seed 000's `sign-up/email`,
//! `sign-in/email`).

use entities::users;

use super::email::Email;
use super::password::check_policy;
use crate::domain::ids::UserId;
use crate::error::ApiError;
use crate::ratelimit::{Family, account_key, ip_key};
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;

/// What a sign-up did. Both answer alike, so a sign-up does not tell whether
/// an address has an account here (issue 19).
pub enum SignedUp {
    /// A new account: the caller starts its session.
    Created(users::Model),
    /// The address has an account already: its owner was told by mail, and
    /// this stand-in (never stored) shapes an answer like a new account's.
    AddressTaken(users::Model),
}

/// Creates an account with a password. The caller starts the session.
pub async fn sign_up(
    state: &AppState,
    ip: &str,
    email: &str,
    password: &str,
    name: &str,
) -> Result<SignedUp, ApiError> {
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
    // Hashed before the address is looked at: a taken address costs the same.
    let hash = state.passwords.hash(password.to_string()).await?;
    match create_user(state, None, &email, name, Some(hash), false).await {
        Ok(user) => {
            super::email_verification::send(state, &user).await?;
            Ok(SignedUp::Created(user))
        }
        Err(e) if e.code == ADDRESS_TAKEN => {
            Ok(SignedUp::AddressTaken(address_taken(state, &email, name)))
        }
        Err(e) => Err(e),
    }
}

/// The `code` of [`create_user`]'s error for an address that has an account.
pub const ADDRESS_TAKEN: &str = "USER_ALREADY_EXISTS";

/// A sign-up met an existing account: mails its owner (instead of telling
/// the caller) and gives the stand-in the caller's answer is shaped from.
pub fn address_taken(state: &AppState, email: &Email, name: &str) -> users::Model {
    address_taken_as(state, UserId::from(opaque::new_id()), email, name)
}

/// [`address_taken`] with the stand-in under `id`: the id a free address's
/// account would have got, when the caller already showed something derived
/// from it (a passkey ceremony's user handle), so the answers match.
pub fn address_taken_as(state: &AppState, id: UserId, email: &Email, name: &str) -> users::Model {
    // The owner's per-account mail budget bounds these notices (no mail
    // bombing through sign-up); past it the attempt goes unmailed, with the
    // same answer.
    if state
        .limit(Family::Mail, &[account_key(email.as_str())])
        .is_ok()
    {
        state.mailer.send(crate::mail::templates::sign_up_attempt(
            email.as_str(),
            &state.settings.endpoint("/login"),
        ));
    }
    let now = state.now();
    users::Model {
        id,
        email: email.as_str().to_string(),
        name: name.to_string(),
        email_verified: false,
        image: None,
        created_at: now,
        updated_at: now,
    }
}

/// Inserts the user and their credential in one transaction. `id` is given
/// when something was already bound to it (a passkey's user handle).
pub async fn create_user(
    state: &AppState,
    id: Option<UserId>,
    email: &Email,
    name: &str,
    password_hash: Option<String>,
    verified: bool,
) -> Result<users::Model, ApiError> {
    let now = state.now();
    let user = users::Model {
        id: id.unwrap_or_else(|| UserId::from(opaque::new_id())),
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
            ADDRESS_TAKEN,
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
