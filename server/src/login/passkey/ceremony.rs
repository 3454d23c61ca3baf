//! The ceremony both passkey flows share: a server-side row holding the
//! WebAuthn challenge state behind a random handle, taken once.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entities::webauthn_ceremonies as ceremonies;
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{Uuid, WebauthnError};

use crate::domain::ids::UserId;
use crate::error::{ApiError, Error};
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;

pub(super) const CEREMONY_TTL: i64 = 300;
pub(super) const REGISTER: &str = "register";
pub(super) const AUTHENTICATE: &str = "authenticate";

/// A user's WebAuthn user handle: stable for the account, derived so it needs
/// no column, and not the account ID itself.
pub fn user_handle(user_id: &UserId) -> Uuid {
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        format!("webauthn-user-handle:{user_id}").as_bytes(),
    );
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest.as_ref()[..16]);
    Uuid::from_bytes(bytes)
}

pub(super) fn cred_id_string(id: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

pub(super) fn ceremony_failed(e: WebauthnError) -> ApiError {
    tracing::info!(error = %e, "passkey ceremony refused");
    ApiError::bad_request(
        "INVALID_PASSKEY",
        "The passkey could not be verified. Try again.",
    )
}

pub(super) fn expired() -> ApiError {
    ApiError::bad_request(
        "CEREMONY_EXPIRED",
        "This passkey request expired or was already used. Start again.",
    )
}

pub(super) async fn save_ceremony(
    state: &AppState,
    kind: &str,
    user_id: Option<UserId>,
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

pub(super) async fn take_ceremony(
    state: &AppState,
    handle: &str,
    kind: &str,
) -> Result<ceremonies::Model, ApiError> {
    store::passkeys::take_ceremony(&state.db, &opaque::hash_secret(handle), kind, state.now())
        .await?
        .ok_or_else(expired)
}

pub(super) fn parse_state<T: for<'de> Deserialize<'de>>(
    row: &ceremonies::Model,
) -> Result<T, Error> {
    serde_json::from_str(&row.state).map_err(|e| Error::internal(format!("ceremony state: {e}")))
}
