//! Issuing the single-use tokens that mails carry, and the links around them.

use entities::one_time_tokens;

use crate::domain::ids::UserId;
use crate::error::Error;
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;

/// The kinds of `one_time_tokens` rows, one per flow that mails a token.
pub mod kind {
    /// Verifies the address (`email_verification`).
    pub const VERIFY_EMAIL: &str = "verify-email";
    /// A 6-digit code typed instead of following a link (`email_code`).
    pub const EMAIL_CODE: &str = "email-code";
    /// Signs in (`magic_link`).
    pub const MAGIC_LINK: &str = "magic-link";
    /// Sets a new password (`password_reset`).
    pub const RESET_PASSWORD: &str = "reset-password";
}

/// A fresh token of `kind` for `email` (and its account, if any), valid for
/// `ttl` seconds; older unused ones of the kind stop working.
pub async fn issue(
    state: &AppState,
    kind: &str,
    user_id: Option<&UserId>,
    email: &str,
    ttl: i64,
) -> Result<String, Error> {
    let token = opaque::new_secret();
    store_hash(
        state,
        kind,
        user_id,
        email,
        ttl,
        opaque::hash_secret(&token),
    )
    .await?;
    Ok(token)
}

/// Stores an already hashed token (6-digit codes are hashed with the
/// account id, since the code alone is guessable).
pub async fn store_hash(
    state: &AppState,
    kind: &str,
    user_id: Option<&UserId>,
    email: &str,
    ttl: i64,
    token_hash: String,
) -> Result<(), Error> {
    let now = state.now();
    store::one_time::replace(
        &state.db,
        one_time_tokens::Model {
            token_hash,
            kind: kind.into(),
            user_id: user_id.cloned(),
            email: email.to_string(),
            created_at: now,
            expires_at: now + ttl,
            consumed_at: None,
            attempts: 0,
        },
    )
    .await
}

/// `<issuer><path>?k=v…`, built with `url::Url`.
pub fn link(state: &AppState, path: &str, params: &[(&str, &str)]) -> Result<String, Error> {
    let mut url = url::Url::parse(&state.settings.endpoint(path))
        .map_err(|e| Error::internal(format!("link: {e}")))?;
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    Ok(url.to_string())
}
