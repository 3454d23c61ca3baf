//! Taking an unverified account back (account pre-hijacking): someone may
//! have created it with another person's address. When the owner first
//! proves the address (a magic link, a password reset), nothing the creator
//! set up survives: their password, passkeys, TOTP factor, sessions and the
//! tokens issued to them.

use entities::users;

use crate::error::Error;
use crate::state::AppState;
use crate::store;

/// Clears what an unverified account's creator set up and marks the address
/// verified. `keep_password`: the owner just chose it (a reset). Does nothing
/// to a verified account.
pub async fn take_back(
    state: &AppState,
    user: &users::Model,
    keep_password: bool,
) -> Result<(), Error> {
    if user.email_verified {
        return Ok(());
    }
    let now = state.now();
    if !keep_password {
        store::users::delete_password(&state.db, &user.id).await?;
    }
    store::passkeys::delete_for_user(&state.db, &user.id).await?;
    store::two_factors::delete(&state.db, &user.id).await?;
    crate::login::session::end_all(state, &user.id).await?;
    crate::oauth::revocation::revoke_user(state, &user.id).await?;
    store::users::mark_verified(&state.db, &user.id, now).await
}
