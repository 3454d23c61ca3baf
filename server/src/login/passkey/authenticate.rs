//! Signing in with a passkey: usernameless (discoverable) ceremonies only.

use entities::{passkeys, users, webauthn_ceremonies as ceremonies};
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{
    AuthenticationResult, DiscoverableAuthentication, Passkey, PasskeyAuthentication,
    PublicKeyCredential, RequestChallengeResponse, Webauthn, WebauthnError,
};

use super::ceremony::{
    AUTHENTICATE, ceremony_failed, cred_id_string, parse_state, save_ceremony, take_ceremony,
};
use crate::domain::amr::Amr;
use crate::error::{ApiError, Error};
use crate::login::assurance;
use crate::state::AppState;
use crate::store;

#[derive(Serialize, Deserialize)]
enum AuthState {
    /// Usernameless: the authenticator says who.
    Discoverable(DiscoverableAuthentication),
    /// Limited to one account's passkeys: no longer offered, still accepted
    /// for a ceremony started by an earlier release (they live 5 minutes).
    Scoped(PasskeyAuthentication),
}

/// `passkey/authenticate/options`: always usernameless (discoverable), for
/// any email or none, so the answer cannot tell which addresses have an
/// account or passkeys: it is built without looking the address up at all
/// (issue 19; an allow list of decoys would differ from real ones in count,
/// ID lengths and transports). Registration requires discoverable
/// credentials, so every passkey here can answer these options. With an
/// email (a button press) the browser shows its modal chooser; without one,
/// the options are for autofill (conditional mediation).
pub async fn authenticate_options(
    state: &AppState,
    ip: &str,
    email: Option<&str>,
) -> Result<(String, RequestChallengeResponse), ApiError> {
    let rp = state.passkeys.get()?;
    state.limit(
        crate::ratelimit::Family::Passkey,
        &[crate::ratelimit::ip_key(ip)],
    )?;
    let (mut options, auth_state) = rp
        .start_discoverable_authentication()
        .map_err(ceremony_failed)?;
    if email.is_some() {
        options.mediation = None;
    }
    let handle = save_ceremony(
        state,
        AUTHENTICATE,
        None,
        None,
        &AuthState::Discoverable(auth_state),
    )
    .await?;
    Ok((handle, options))
}

/// `passkey/authenticate`: the account to sign in and its `amr`.
pub async fn authenticate(
    state: &AppState,
    handle: &str,
    credential: &PublicKeyCredential,
) -> Result<(users::Model, Vec<Amr>), ApiError> {
    // Passkeys off (an issuer on an IP address): said before any ceremony
    // is taken or credential looked up.
    let rp = state.passkeys.get()?;
    let row = take_ceremony(state, handle, AUTHENTICATE).await?;
    let id = cred_id_string(credential.raw_id.as_ref());
    let stored = store::passkeys::find(&state.db, &id)
        .await?
        .ok_or_else(unknown)?;
    let mut passkey: Passkey = serde_json::from_str(&stored.credential)
        .map_err(|e| Error::internal(format!("passkey: {e}")))?;
    let result = verify(rp, &row, &stored, credential, &passkey)?;
    passkey.update_credential(&result);
    record_use(state, &stored, &passkey, &result).await?;
    let user = store::users::find(&state.db, &stored.user_id)
        .await?
        .ok_or_else(unknown)?;
    Ok((user, amr_of(&stored)))
}

fn unknown() -> ApiError {
    ApiError::new(
        401,
        "INVALID_PASSKEY",
        "This passkey is not registered here.",
    )
}

/// Checks the assertion against the ceremony and the stored passkey: the
/// signature, user verification, and a counter that moved forward.
fn verify(
    rp: &Webauthn,
    row: &ceremonies::Model,
    stored: &passkeys::Model,
    credential: &PublicKeyCredential,
    passkey: &Passkey,
) -> Result<AuthenticationResult, ApiError> {
    let result = match parse_state::<AuthState>(row)? {
        AuthState::Scoped(s) => {
            if row.user_id.as_ref() != Some(&stored.user_id) {
                return Err(unknown());
            }
            rp.finish_passkey_authentication(credential, &s)
        }
        AuthState::Discoverable(s) => {
            let (handle, _) = rp
                .identify_discoverable_authentication(credential)
                .map_err(ceremony_failed)?;
            if handle.to_string() != stored.user_handle {
                return Err(unknown());
            }
            rp.finish_discoverable_authentication_v2(credential, s, passkey)
        }
    };
    // The ceremony state holds the counter as it was when the options were
    // made; the stored one may have moved on since, so check against it too.
    let result = result.and_then(|r| {
        let counter = i64::from(r.counter());
        if (counter > 0 || stored.counter > 0) && counter <= stored.counter {
            Err(WebauthnError::CredentialPossibleCompromise)
        } else {
            Ok(r)
        }
    });
    match result {
        Ok(r) => Ok(r),
        Err(WebauthnError::CredentialPossibleCompromise) => {
            tracing::warn!(
                passkey = %stored.id,
                user = %stored.user_id,
                stored_counter = stored.counter,
                "passkey signature counter did not increase: possibly a cloned authenticator; refused"
            );
            Err(ApiError::new(
                401,
                "PASSKEY_COUNTER_ROLLBACK",
                "This passkey's signature counter went backwards, which may mean it was copied. It was refused.",
            ))
        }
        Err(e) => Err(ceremony_failed(e)),
    }
}

/// Stores the passkey's new counter and state, unless another sign-in with
/// the same counter got there first.
async fn record_use(
    state: &AppState,
    stored: &passkeys::Model,
    passkey: &Passkey,
    result: &AuthenticationResult,
) -> Result<(), ApiError> {
    let counter = i64::from(result.counter()).max(stored.counter);
    let json =
        serde_json::to_string(passkey).map_err(|e| Error::internal(format!("passkey: {e}")))?;
    if !store::passkeys::record_use(
        &state.db,
        &stored.id,
        stored.counter,
        counter,
        json,
        stored.backup_eligible || result.backup_eligible(),
        state.now(),
    )
    .await?
    {
        // Another sign-in with this passkey landed in between with the same
        // counter: one of the two came from a copy.
        tracing::warn!(passkey = %stored.id, "concurrent passkey use with one counter; refused");
        return Err(ceremony_failed(WebauthnError::CredentialPossibleCompromise));
    }
    Ok(())
}

/// A passkey's `amr`: `swk`, since without attestation nothing proves the key
/// lives in hardware; user verification is required, so it is two factors in
/// one (`mfa`).
pub fn amr_of(_: &passkeys::Model) -> Vec<Amr> {
    vec![assurance::SWK, assurance::MFA]
}
