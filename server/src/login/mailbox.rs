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
use crate::login::reclaim::{self, Reclaimed};
use crate::login::session::{self, SessionInfo};
use crate::state::AppState;
use crate::store;

/// What a proof of the mailbox did; the caller signs the confirming browser
/// in only when the account was taken back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proved {
    /// Confirmed by the creator's own session: verified, nothing else changed.
    Kept,
    /// Confirmed elsewhere: what the creator set up on the unverified account
    /// is gone, and the account is the mailbox owner's.
    TakenBack,
    /// Confirmed for an account verified already: nothing changed, and no
    /// one is signed in (the link would otherwise be a sign-in link anyone
    /// holding it could plant in another browser).
    AlreadyVerified,
}

impl Proved {
    /// Whether the confirming browser gets a new session.
    pub fn signs_in(self) -> bool {
        self == Proved::TakenBack
    }
}

/// Whether `confirmer` is the session that created `user`'s account.
pub fn by_creator(user: &users::Model, confirmer: Option<&SessionInfo>) -> bool {
    confirmer.is_some_and(|s| {
        s.user.id == user.id && s.session.began_with_sign_up && !s.session.second_factor_pending
    })
}

/// Records that the owner of `email`, `user`'s address when the link or code
/// was sent, proved it from `confirmer`. `None` when `email` is no longer the
/// account's address: the proof is then invalid.
pub async fn proved(
    state: &AppState,
    user: &users::Model,
    email: &str,
    confirmer: Option<&SessionInfo>,
) -> Result<Option<Proved>, Error> {
    if by_creator(user, confirmer) {
        if !store::users::mark_verified(&state.db, &user.id, email, state.now()).await? {
            return Ok(None);
        }
        reclaim::drop_verification(&state.db, &user.id).await?;
        session::forget_user(state, &user.id);
        return Ok(Some(Proved::Kept));
    }
    // Ends every session too, the confirming one included.
    Ok(reclaim::take_back(state, user, email, false)
        .await?
        .map(|r| match r {
            Reclaimed::TakenBack => Proved::TakenBack,
            Reclaimed::AlreadyVerified => Proved::AlreadyVerified,
        }))
}
