//! 6-digit email codes (seed 004): an alternative to the verification link
//! for a signed-in user. A new code replaces the older one; a code allows
//! five guesses; codes live ten minutes; an account gets at most
//! `email_code.max_per_day` codes a day, and so does an address whichever
//! accounts ask for it. The address may be changed while it
//! is unverified, which starts verification over.
//!
//! Each guess takes one of the code's attempts (a conditional update) before
//! it is compared, and the daily count is taken before a code is made, so
//! parallel requests cannot overrun either budget.

use entities::users;

use crate::domain::ids::UserId;
use crate::error::{ApiError, Error};
use crate::login::email::Email;
use crate::login::{email_verification, magic_link, one_time, pace, password_reset, session};
use crate::mail::templates;
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;

pub const KIND: &str = one_time::kind::EMAIL_CODE;
pub const TTL: i64 = 600;
pub const MAX_ATTEMPTS: i32 = 5;
const DAY: i64 = 24 * 3600;

/// A code alone has 20 bits; hashing it with the account id keeps the stored
/// value useless elsewhere, and attempts are capped.
fn hash(user_id: &UserId, code: &str) -> String {
    opaque::hash_secret(&format!("{KIND}:{user_id}:{code}"))
}

/// The daily budget of codes (and guesses) for an address, whichever
/// accounts ask for it.
fn address_key(email: &str) -> String {
    format!("{KIND}:addr:{email}")
}

fn generate() -> String {
    loop {
        let b = opaque::random_bytes::<4>();
        let n = u32::from_be_bytes(b);
        // Rejection sampling: no bias toward low codes.
        if n < 4_294_000_000 {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

/// Mails a new code to an unverified account.
pub async fn send(state: &AppState, user: &users::Model) -> Result<(), ApiError> {
    if user.email_verified {
        return Err(ApiError::bad_request(
            "EMAIL_ALREADY_VERIFIED",
            "This address is already verified.",
        ));
    }
    let budget = store::counters::Budget {
        limit: state.settings.email_code.max_per_day,
        window: DAY,
    };
    // Per account and per address: many accounts changing to one address
    // share that address's codes (and guesses, in `verify`).
    for key in [format!("{KIND}:{}", user.id), address_key(&user.email)] {
        if let Some(wait) = store::counters::take(&state.db, &key, budget, state.now()).await? {
            return Err(ApiError::rate_limited(crate::ratelimit::RetryAfter(
                wait as u64,
            )));
        }
    }
    let code = generate();
    one_time::store_hash(
        state,
        KIND,
        Some(&user.id),
        &user.email,
        TTL,
        hash(&user.id, &code),
    )
    .await?;
    state.mailer.send(templates::email_code(&user.email, &code));
    Ok(())
}

/// Checks and uses up a code of the account `user_id`. A match proves the
/// mailbox of the address the code was sent to: the caller hands the account
/// (as stored now, not as a session cached it) and that address to
/// `login::mailbox::proved`, which verifies it.
pub async fn verify(
    state: &AppState,
    user_id: &UserId,
    code: &str,
) -> Result<(users::Model, String), ApiError> {
    let invalid = || ApiError::bad_request("INVALID_CODE", "This code is wrong or has expired.");
    let now = state.now();
    let Some(user) = store::users::find(&state.db, user_id).await? else {
        return Err(invalid());
    };
    let Some(row) = store::one_time::pending_for_user(&state.db, &user.id, KIND, now).await? else {
        return Err(invalid());
    };
    let spent = || ApiError::bad_request("TOO_MANY_ATTEMPTS", "Ask for a new code.");
    if row.email != user.email
        || !store::one_time::take_attempt(&state.db, &row.token_hash, MAX_ATTEMPTS, now).await?
    {
        return Err(spent());
    }
    // Guesses that get compared count for the address too: the codes of
    // many accounts sharing it get no more guesses than one account's.
    let guesses = store::counters::Budget {
        limit: state
            .settings
            .email_code
            .max_per_day
            .saturating_mul(MAX_ATTEMPTS),
        window: DAY,
    };
    let guess_key = format!("{}:guess", address_key(&row.email));
    if let Some(wait) = store::counters::take(&state.db, &guess_key, guesses, now).await? {
        return Err(ApiError::rate_limited(crate::ratelimit::RetryAfter(
            wait as u64,
        )));
    }
    if !opaque::constant_time_eq(&hash(&user.id, code.trim()), &row.token_hash) {
        return Err(invalid());
    }
    if store::one_time::consume(&state.db, &row.token_hash, KIND, now)
        .await?
        .is_none()
    {
        return Err(invalid());
    }
    Ok((user, row.email))
}

/// Changes the address while it is unverified; pending links and codes for
/// the old address (verification, reset, sign-in) stop working and a new link is mailed. An address another
/// account has is left alone, with the same answer.
pub async fn change_email(
    state: &AppState,
    user: &users::Model,
    new_email: &str,
) -> Result<(), ApiError> {
    if user.email_verified {
        return Err(ApiError::forbidden(
            "EMAIL_ALREADY_VERIFIED",
            "A verified address cannot be changed here.",
        ));
    }
    let email = Email::parse(new_email)
        .ok_or_else(|| ApiError::bad_request("INVALID_EMAIL", "Enter a valid email address."))?;
    let now = state.now();
    let started = std::time::Instant::now();
    if !store::users::change_unverified_email(&state.db, &user.id, email.as_str(), now).await? {
        // Another account has it: its owner hears of it, and the caller gets
        // the answer a free address gets, as fast (no enumeration).
        crate::login::email_password::address_taken(state, &email, "");
        pace::CHANGE_EMAIL.light(started).await;
        return Ok(());
    }
    // Every mailed link or code went to the old address: none may prove the new one.
    store::one_time::drop_for_user(
        &state.db,
        &user.id,
        &[
            KIND,
            email_verification::KIND,
            password_reset::KIND,
            magic_link::KIND,
        ],
    )
    .await?;
    session::forget_user(state, &user.id);
    let updated = store::users::find(&state.db, &user.id)
        .await?
        .ok_or_else(|| ApiError::from(Error::internal("user vanished")))?;
    email_verification::send(state, &updated).await?;
    pace::CHANGE_EMAIL.heavy(started);
    Ok(())
}
