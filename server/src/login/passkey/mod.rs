//! Passkeys (WebAuthn Level 2, via webauthn-rs).
//!
//! ```text
//! register/options ─► ceremony row (state, 5 min) ─► browser creates key
//!      │ signed in: add to the account      register ─► take ceremony ─► verify ─► store passkey
//!      │ email, no account: passkey-first sign-up ─► account + personal org + session
//!
//! authenticate/options ─► always discoverable (usernameless), whatever the
//!      │                  email: the answer says nothing about the address
//!      ▼
//! authenticate ─► take ceremony ─► find credential ─► verify signature, UV and
//!                 counter ─► counter moves forward ─► session (amr hwk|swk + mfa)
//! ```
//! The challenge state never leaves the server: the browser holds a random
//! handle to a row that is deleted when it is answered. RP ID and origin come
//! from the issuer, so an issuer on an IP address has no passkeys
//! ([`RelyingParty`]).

mod authenticate;
mod register;
pub mod relying_party;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entities::webauthn_ceremonies as ceremonies;
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{Uuid, WebauthnError};

pub use self::authenticate::{amr_of, authenticate, authenticate_options};
pub use self::register::{Registered, clean_name, register, register_options};
pub use self::relying_party::RelyingParty;
use crate::error::{ApiError, Error};
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;

const CEREMONY_TTL: i64 = 300;
const REGISTER: &str = "register";
const AUTHENTICATE: &str = "authenticate";

/// A user's WebAuthn user handle: stable for the account, derived so it needs
/// no column, and not the account ID itself.
pub fn user_handle(user_id: &str) -> Uuid {
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        format!("webauthn-user-handle:{user_id}").as_bytes(),
    );
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest.as_ref()[..16]);
    Uuid::from_bytes(bytes)
}

fn cred_id_string(id: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

fn ceremony_failed(e: WebauthnError) -> ApiError {
    tracing::info!(error = %e, "passkey ceremony refused");
    ApiError::bad_request(
        "INVALID_PASSKEY",
        "The passkey could not be verified. Try again.",
    )
}

fn expired() -> ApiError {
    ApiError::bad_request(
        "CEREMONY_EXPIRED",
        "This passkey request expired or was already used. Start again.",
    )
}

async fn save_ceremony(
    state: &AppState,
    kind: &str,
    user_id: Option<String>,
    email: Option<String>,
    ceremony_state: &impl Serialize,
) -> Result<String, Error> {
    let handle = opaque::new_secret();
    let json = serde_json::to_string(ceremony_state)
        .map_err(|e| Error::internal(format!("ceremony state: {e}")))?;
    store::passkeys::insert_ceremony(
        &state.db,
        ceremonies::Model {
            id_hash: opaque::hash_secret(&handle),
            kind: kind.into(),
            user_id,
            email,
            state: json,
            expires_at: state.now() + CEREMONY_TTL,
        },
    )
    .await?;
    Ok(handle)
}

async fn take_ceremony(
    state: &AppState,
    handle: &str,
    kind: &str,
) -> Result<ceremonies::Model, ApiError> {
    store::passkeys::take_ceremony(&state.db, &opaque::hash_secret(handle), kind, state.now())
        .await?
        .ok_or_else(expired)
}

fn parse_state<T: for<'de> Deserialize<'de>>(row: &ceremonies::Model) -> Result<T, Error> {
    serde_json::from_str(&row.state).map_err(|e| Error::internal(format!("ceremony state: {e}")))
}
