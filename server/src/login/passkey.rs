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
//! from the issuer, so an issuer on an IP address has no passkeys.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entities::{passkeys, users, webauthn_ceremonies as ceremonies};
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Url, Uuid, Webauthn, WebauthnBuilder, WebauthnError,
};
use webauthn_rs_proto::ResidentKeyRequirement;

use crate::error::{ApiError, Error};
use crate::login::assurance;
use crate::login::email::Email;
use crate::login::email_password::{ADDRESS_TAKEN, SignedUp, address_taken_as, create_user};
use crate::login::session::SessionInfo;
use crate::login::two_factor;
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;

const CEREMONY_TTL: i64 = 300;
const REGISTER: &str = "register";
const AUTHENTICATE: &str = "authenticate";

/// The relying party, when the issuer has a domain name.
pub struct RelyingParty(Option<Webauthn>);

impl RelyingParty {
    pub fn from_issuer(issuer: &str) -> Self {
        let built = Url::parse(issuer).ok().and_then(|origin| {
            let rp_id = origin.domain()?.to_string();
            WebauthnBuilder::new(&rp_id, &origin)
                .ok()?
                .rp_name("Portcullis")
                .build()
                .ok()
        });
        if built.is_none() {
            tracing::warn!(
                issuer,
                "passkeys are off: the issuer has no domain name to be the RP ID"
            );
        }
        RelyingParty(built)
    }

    fn get(&self) -> Result<&Webauthn, ApiError> {
        self.0.as_ref().ok_or_else(|| {
            ApiError::new(
                501,
                "PASSKEYS_UNAVAILABLE",
                "Passkeys need the issuer to be served under a domain name.",
            )
        })
    }
}

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
            (opaque::new_id(), e.clone(), e.clone(), Some(e))
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
    if !s.amr().iter().any(|m| m == assurance::MFA)
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
) -> Result<(users::Model, Vec<&'static str>), ApiError> {
    let rp = state.passkeys.get()?;
    let row = take_ceremony(state, handle, AUTHENTICATE).await?;
    let unknown = || {
        ApiError::new(
            401,
            "INVALID_PASSKEY",
            "This passkey is not registered here.",
        )
    };
    let id = cred_id_string(credential.raw_id.as_ref());
    let stored = store::passkeys::find(&state.db, &id)
        .await?
        .ok_or_else(unknown)?;
    let mut passkey: Passkey = serde_json::from_str(&stored.credential)
        .map_err(|e| Error::internal(format!("passkey: {e}")))?;
    let result = match parse_state::<AuthState>(&row)? {
        AuthState::Scoped(s) => {
            if row.user_id.as_deref() != Some(stored.user_id.as_str()) {
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
            rp.finish_discoverable_authentication_v2(credential, s, &passkey)
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
    let result = match result {
        Ok(r) => r,
        Err(WebauthnError::CredentialPossibleCompromise) => {
            tracing::warn!(
                passkey = %stored.id,
                user = %stored.user_id,
                stored_counter = stored.counter,
                "passkey signature counter did not increase: possibly a cloned authenticator; refused"
            );
            return Err(ApiError::new(
                401,
                "PASSKEY_COUNTER_ROLLBACK",
                "This passkey's signature counter went backwards, which may mean it was copied. It was refused.",
            ));
        }
        Err(e) => return Err(ceremony_failed(e)),
    };
    passkey.update_credential(&result);
    let counter = i64::from(result.counter()).max(stored.counter);
    let json =
        serde_json::to_string(&passkey).map_err(|e| Error::internal(format!("passkey: {e}")))?;
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
    let user = store::users::find(&state.db, &stored.user_id)
        .await?
        .ok_or_else(unknown)?;
    Ok((user, amr_of(&stored)))
}

/// A passkey's `amr`: `swk`, since without attestation nothing proves the key
/// lives in hardware; user verification is required, so it is two factors in
/// one (`mfa`).
pub fn amr_of(_: &passkeys::Model) -> Vec<&'static str> {
    vec![assurance::SWK, assurance::MFA]
}
