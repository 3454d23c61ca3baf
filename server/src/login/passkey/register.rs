//! Registering a passkey: for the signed-in account, or as a passkey-first
//! sign-up.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entities::{passkeys, users};
use webauthn_rs::prelude::{
    CreationChallengeResponse, Passkey, PasskeyRegistration, RegisterPublicKeyCredential,
};
use webauthn_rs_proto::ResidentKeyRequirement;

use super::ceremony::{
    REGISTER, ceremony_failed, cred_id_string, expired, parse_state, save_ceremony, take_ceremony,
    user_handle,
};
use crate::domain::ids::UserId;
use crate::error::{ApiError, Error};
use crate::login::assurance;
use crate::login::email::Email;
use crate::login::email_password::{ADDRESS_TAKEN, SignedUp, address_taken_as, create_user};
use crate::login::session::SessionInfo;
use crate::login::two_factor;
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;

/// `passkey/register/options`: for the signed-in user, or (signed out, with an
/// email that has no account yet) for a passkey-first sign-up.
pub async fn register_options(
    state: &AppState,
    session: Option<&SessionInfo>,
    ip: &str,
    email: Option<&str>,
) -> Result<(String, CreationChallengeResponse), ApiError> {
    let rp = state.passkeys.get()?;
    let (user_id, name, display, signup_email) = match session {
        Some(s) => {
            may_add_passkey(state, s).await?;
            (
                s.user.id.clone(),
                s.user.email.clone(),
                display_name(&s.user),
                None,
            )
        }
        None => {
            state.limit(
                crate::ratelimit::Family::SignUp,
                &[crate::ratelimit::ip_key(ip)],
            )?;
            let email = email.and_then(Email::parse).ok_or_else(|| {
                ApiError::bad_request("INVALID_EMAIL", "Enter a valid email address.")
            })?;
            // Whether the address has an account shows only at the end, in
            // the same answer as a new account's (see `register`).
            let e = email.as_str().to_string();
            (
                UserId::from(opaque::new_id()),
                e.clone(),
                e.clone(),
                Some(e),
            )
        }
    };
    let existing = store::passkeys::for_user(&state.db, &user_id).await?;
    let exclude = existing
        .iter()
        .filter_map(|p| URL_SAFE_NO_PAD.decode(&p.id).ok())
        .collect::<Vec<_>>();
    let (mut options, reg) = rp
        .start_passkey_registration(user_handle(&user_id), &name, &display, Some(exclude))
        .map_err(ceremony_failed)?;
    // webauthn-rs discourages resident keys (security keys have few slots),
    // but sign-in is usernameless only (see `authenticate_options`): a
    // credential the authenticator cannot find by itself could never be used,
    // so require a discoverable one. Platform passkeys are discoverable anyway.
    if let Some(sel) = options.public_key.authenticator_selection.as_mut() {
        sel.resident_key = Some(ResidentKeyRequirement::Required);
        sel.require_resident_key = true;
    }
    let handle = save_ceremony(state, REGISTER, Some(user_id), signup_email, &reg).await?;
    Ok((handle, options))
}

/// A passkey is two factors in one, so adding one asks as much as the account
/// already has: a verified address, a sign-in within the last five minutes,
/// and the second factor when TOTP is on. A stolen or old session cannot
/// mint itself a stronger way in.
async fn may_add_passkey(state: &AppState, s: &SessionInfo) -> Result<(), ApiError> {
    two_factor::require_verified(&s.user)?;
    if state.now() - s.session.auth_time > two_factor::RECENT_SIGN_IN {
        return Err(ApiError::forbidden(
            "SESSION_NOT_FRESH",
            "Sign in again to add a passkey.",
        ));
    }
    if !s.amr().contains(&assurance::MFA)
        && store::two_factors::is_enabled(&state.db, &s.user.id).await?
    {
        return Err(ApiError::forbidden(
            "SECOND_FACTOR_REQUIRED",
            "Confirm your second factor to add a passkey.",
        ));
    }
    Ok(())
}

fn display_name(u: &users::Model) -> String {
    if u.name.trim().is_empty() {
        u.email.clone()
    } else {
        u.name.clone()
    }
}

/// What finishing a registration did.
pub struct Registered {
    pub passkey: passkeys::Model,
    /// Set for a passkey-first sign-up: the new account, to sign in (or, when
    /// the address had an account already, the stand-in to answer with; the
    /// passkey was not stored then).
    pub new_user: Option<SignedUp>,
}

/// `passkey/register`: verifies the attestation and stores the passkey.
pub async fn register(
    state: &AppState,
    session: Option<&SessionInfo>,
    handle: &str,
    credential: &RegisterPublicKeyCredential,
    name: Option<&str>,
) -> Result<Registered, ApiError> {
    let rp = state.passkeys.get()?;
    let row = take_ceremony(state, handle, REGISTER).await?;
    let Some(user_id) = row.user_id.clone() else {
        return Err(expired());
    };
    // Adding to an account needs that account's session; a sign-up ceremony
    // belongs to nobody yet.
    let for_signed_in = row.email.is_none();
    if for_signed_in && session.map(|s| s.user.id.as_str()) != Some(user_id.as_str()) {
        return Err(ApiError::unauthorized());
    }
    let reg: PasskeyRegistration = parse_state(&row)?;
    let passkey = rp
        .finish_passkey_registration(credential, &reg)
        .map_err(ceremony_failed)?;
    let id = cred_id_string(passkey.cred_id().as_ref());
    if store::passkeys::find(&state.db, &id).await?.is_some() {
        return Err(already_registered());
    }
    let new_user = match &row.email {
        Some(email) => {
            let email = Email::parse(email).ok_or_else(expired)?;
            match create_user(state, Some(user_id.clone()), &email, "", None, false).await {
                Ok(user) => {
                    crate::login::email_verification::send(state, &user).await?;
                    Some(SignedUp::Created(user))
                }
                Err(e) if e.code == ADDRESS_TAKEN => {
                    // Under the ceremony's id: its options showed that
                    // id's user handle, which a stand-in must match.
                    Some(SignedUp::AddressTaken(address_taken_as(
                        state,
                        user_id.clone(),
                        &email,
                        "",
                    )))
                }
                Err(e) => return Err(e),
            }
        }
        None => None,
    };
    let now = state.now();
    let model = passkeys::Model {
        id,
        user_id: user_id.clone(),
        user_handle: user_handle(&user_id).to_string(),
        name: clean_name(name).unwrap_or_else(|| "Passkey".into()),
        credential: serde_json::to_string(&passkey)
            .map_err(|e| Error::internal(format!("passkey: {e}")))?,
        counter: 0,
        backup_eligible: credential_backup_eligible(&passkey),
        created_at: now,
        last_used_at: None,
    };
    if matches!(new_user, Some(SignedUp::AddressTaken(_))) {
        return Ok(Registered {
            passkey: model,
            new_user,
        });
    }
    if !store::passkeys::insert(&state.db, model.clone()).await? {
        return Err(already_registered());
    }
    Ok(Registered {
        passkey: model,
        new_user,
    })
}

/// Whether a credential may be synced between devices (software-secured).
fn credential_backup_eligible(p: &Passkey) -> bool {
    serde_json::to_value(p)
        .ok()
        .and_then(|v| v["cred"]["backup_eligible"].as_bool())
        .unwrap_or(false)
}

fn already_registered() -> ApiError {
    ApiError::bad_request(
        "PASSKEY_ALREADY_REGISTERED",
        "This passkey is already registered.",
    )
}

/// A passkey's name as stored: trimmed, at most 100 characters, not empty.
pub fn clean_name(name: Option<&str>) -> Option<String> {
    let n: String = name?.trim().chars().take(100).collect();
    (!n.is_empty()).then_some(n)
}
