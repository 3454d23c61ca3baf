//! What a proof of the mailbox (a verification link, a 6-digit code) does to
//! the account it names (account pre-hijacking, issue 19).
//!
//! Someone may have created the account with another person's address and
//! set it up (a password, a passkey) before the owner ever saw a mail. So:
//!
//! ```text
//! proof confirmed ─► from the session that created the account? ──yes──► verified, nothing else
//!                                  │no (another browser, another session)
//!                                  ▼
//!                   take back: password, passkeys, second factor, sessions
//!                   and tokens of an unverified account dropped ─► verified ─►
//!                   the mailbox owner is signed in (a new session)
//! ```
//! Only the sign-up session counts as the creator's, not any session of the
//! account: a later session may have been planted in the owner's browser (a
//! login CSRF), and a proof made there must not hand the creator's setup the
//! owner's verified address.

use entities::users;

use crate::error::Error;
use crate::login::session::{self, SessionInfo};
use crate::state::AppState;
use crate::store;

/// What a proof of the mailbox did; the caller signs the confirming browser
/// in unless it was the creator's session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proved {
    /// Confirmed by the creator's own session: verified, nothing else changed.
    Kept,
    /// Confirmed elsewhere: what the creator set up on the unverified account
    /// is gone, and the account is the mailbox owner's.
    TakenBack,
    /// Confirmed elsewhere for an account verified already: nothing to take back.
    AlreadyVerified,
}

impl Proved {
    /// Whether the confirming browser gets a new session.
    pub fn signs_in(self) -> bool {
        self != Proved::Kept
    }
}

/// Whether `confirmer` is the session that created `user`'s account.
pub fn by_creator(user: &users::Model, confirmer: Option<&SessionInfo>) -> bool {
    confirmer.is_some_and(|s| {
        s.user.id == user.id && s.session.began_with_sign_up && !s.session.second_factor_pending
    })
}

/// Records that the owner of `user`'s address proved it from `confirmer`.
pub async fn proved(
    state: &AppState,
    user: &users::Model,
    confirmer: Option<&SessionInfo>,
) -> Result<Proved, Error> {
    if by_creator(user, confirmer) {
        store::users::mark_verified(&state.db, &user.id, state.now()).await?;
        session::forget_user(state, &user.id);
        return Ok(Proved::Kept);
    }
    if user.email_verified {
        return Ok(Proved::AlreadyVerified);
    }
    // Ends every session too, the confirming one included.
    crate::login::reclaim::take_back(state, user, false).await?;
    session::forget_user(state, &user.id);
    Ok(Proved::TakenBack)
}
