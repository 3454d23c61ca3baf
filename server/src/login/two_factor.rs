//! TOTP second factor (RFC 6238: SHA-1, 6 digits, 30 s steps, one step of
//! clock skew either way) and ten single-use backup codes.
//!
//! ```text
//! enable (password) ─► secret + otpauth URI + QR + backup codes, not yet on
//!        │ a valid code (verify)
//!        ▼
//!       on ─► sign-in by password / link leaves the session pending until a
//!             code (or a backup code) is accepted; disable needs a code
//! ```
//! A code is accepted at most once: the last accepted time step is stored and
//! only later steps pass (a compare-and-set, so racing requests cannot both
//! win). Backup codes are stored as SHA-256 hashes. Every code tried takes
//! its place in the count of wrong ones before it is evaluated (one
//! conditional update), so parallel guesses cannot get past the lockout.

use entities::{two_factors, users};
use serde::Serialize;
use totp_rs::{Builder, Secret, Totp};

use crate::domain::ids::UserId;
use crate::error::{ApiError, Error};
use crate::login::assurance;
use crate::login::session::SessionInfo;
use crate::ratelimit::{Family, account_key, ip_key};
use crate::secrets::Slot;
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;

const STEP: i64 = 30;
const BACKUP_CODES: usize = 10;
/// A passwordless account re-checks nothing but how recently it signed in.
pub const RECENT_SIGN_IN: i64 = 300;
/// Wrong codes in a row before the factor locks, and for how long. With the
/// per-minute limit this keeps a password holder's guessing near 10 codes in
/// 15 minutes.
const MAX_FAILURES: i32 = 10;
const LOCKOUT: i64 = 900;

/// What `two-factor/enable` returns (Better Auth's `totpURI` and `backupCodes`).
/// No `Debug`: every field is a secret.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Enrolment {
    pub secret: String,
    #[serde(rename = "totpURI")]
    pub totp_uri: String,
    /// The URI as an SVG QR code, for authenticator apps.
    pub qr_code: String,
    pub backup_codes: Vec<String>,
}

/// Which second factor a code turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Totp,
    BackupCode,
    /// A TOTP code that confirmed a pending enrolment (and turned it on).
    Enrolment,
}

fn invalid_code() -> ApiError {
    ApiError::new(
        401,
        "INVALID_CODE",
        "That code is not valid. Codes work once, for about 30 seconds.",
    )
}

fn already_enabled() -> ApiError {
    ApiError::bad_request(
        "TWO_FACTOR_ALREADY_ENABLED",
        "Two-factor authentication is already on. Turn it off first to start again.",
    )
}

/// Second factors and passkeys are added to verified accounts only.
pub fn require_verified(user: &users::Model) -> Result<(), ApiError> {
    if user.email_verified {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "EMAIL_NOT_VERIFIED",
            "Confirm your email address before adding a sign-in method.",
        ))
    }
}

fn not_enabled() -> ApiError {
    ApiError::bad_request(
        "TWO_FACTOR_NOT_ENABLED",
        "Two-factor authentication is not turned on for this account.",
    )
}

/// The issuer's host names the account in authenticator apps.
fn label(state: &AppState) -> String {
    url::Url::parse(&state.settings.issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "Portcullis".into())
}

fn totp(secret: Secret, account: &str, issuer: String) -> Result<Totp, Error> {
    Builder::new()
        .with_secret(secret)
        .with_account_name(account.replace(':', ""))
        .with_issuer(Some(issuer.replace(':', "")))
        .build()
        .map_err(|e| Error::internal(format!("totp: {e:?}")))
}

fn normalise_backup(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A backup code's stored hash, salted with the account so one pass over a
/// leaked table cannot test every account's codes at once.
fn backup_hash(user_id: &UserId, code: &str) -> String {
    opaque::hash_secret(&format!("{user_id}:{}", normalise_backup(code)))
}

/// Ten codes of 50 bits each, shown once as `xxxxx-xxxxx`; their hashes as
/// stored.
fn new_backup_codes(user_id: &UserId) -> (Vec<String>, String) {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let codes: Vec<String> = (0..BACKUP_CODES)
        .map(|_| {
            let raw: [u8; 10] = opaque::random_bytes();
            let s: String = raw
                .iter()
                .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
                .collect();
            format!("{}-{}", &s[..5], &s[5..])
        })
        .collect();
    let hashes: Vec<String> = codes.iter().map(|c| backup_hash(user_id, c)).collect();
    let stored = serde_json::to_string(&hashes).unwrap_or_else(|_| "[]".into());
    (codes, stored)
}

/// `two-factor/enable`: after re-checking the password, a new secret and
/// backup codes; the factor is on only once a code confirms it.
pub async fn enable(
    state: &AppState,
    session: &SessionInfo,
    ip: &str,
    password: Option<&str>,
) -> Result<Enrolment, ApiError> {
    let user = &session.user;
    if store::two_factors::is_enabled(&state.db, &user.id).await? {
        return Err(already_enabled());
    }
    // Whoever created an unverified account may not be its owner: a factor
    // they added would lock the owner out after a reset.
    require_verified(user)?;
    recheck_password(state, session, ip, password).await?;
    let now = state.now();
    let raw: [u8; 20] = opaque::random_bytes();
    let secret = Secret::from(raw.to_vec());
    let secret_b32 = secret.to_base32();
    let totp_uri = totp(secret, &user.email, label(state))?
        .to_url()
        .map_err(|e| Error::internal(format!("otpauth: {e:?}")))?;
    let qr_code = qrcode::QrCode::new(totp_uri.as_bytes())
        .map_err(|e| Error::internal(format!("qr: {e}")))?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .build();
    let (backup_codes, stored) = new_backup_codes(&user.id);
    let started = store::two_factors::replace_pending(
        &state.db,
        two_factors::Model {
            user_id: user.id.clone(),
            secret: state
                .secrets
                .seal(Slot::TotpSecret(user.id.as_str()), secret_b32.as_bytes())?,
            enabled: false,
            backup_codes: stored,
            last_used_step: 0,
            failures: 0,
            locked_until: 0,
            created_at: now,
            updated_at: now,
        },
    )
    .await?;
    if !started {
        return Err(already_enabled());
    }
    Ok(Enrolment {
        secret: secret_b32,
        totp_uri,
        qr_code,
        backup_codes,
    })
}

/// The account's password, or for a passwordless account a sign-in within the
/// last five minutes.
async fn recheck_password(
    state: &AppState,
    session: &SessionInfo,
    ip: &str,
    password: Option<&str>,
) -> Result<(), ApiError> {
    let user = &session.user;
    let hash = store::users::find_with_password(&state.db, &user.email)
        .await?
        .and_then(|(_, h)| h);
    match (hash, password) {
        (Some(hash), Some(p)) => {
            state.limit(Family::SignIn, &[ip_key(ip), account_key(&user.email)])?;
            if state.passwords.verify(p.to_string(), Some(hash)).await? {
                Ok(())
            } else {
                Err(ApiError::bad_request(
                    "INVALID_PASSWORD",
                    "The password is not correct.",
                ))
            }
        }
        (Some(_), None) => Err(ApiError::bad_request(
            "PASSWORD_REQUIRED",
            "Enter your password to change two-factor settings.",
        )),
        (None, _) if state.now() - session.session.auth_time <= RECENT_SIGN_IN => Ok(()),
        (None, _) => Err(ApiError::forbidden(
            "SESSION_NOT_FRESH",
            "Sign in again to change two-factor settings.",
        )),
    }
}

/// Checks a TOTP or backup code for `user`. A pending enrolment accepts TOTP
/// codes only, and the first one turns the factor on. Limited per address and
/// per account.
pub async fn check_code(
    state: &AppState,
    user: &users::Model,
    ip: &str,
    code: &str,
) -> Result<Method, ApiError> {
    state.limit(
        Family::SecondFactor,
        &[ip_key(ip), account_key(user.id.as_str())],
    )?;
    let Some(row) = store::two_factors::find(&state.db, &user.id).await? else {
        return Err(not_enabled());
    };
    let now = state.now();
    if !store::two_factors::take_attempt(&state.db, &user.id, MAX_FAILURES, now, now + LOCKOUT)
        .await?
    {
        let Some(locked) = store::two_factors::find(&state.db, &user.id).await? else {
            return Err(not_enabled());
        };
        return Err(ApiError::rate_limited(crate::ratelimit::RetryAfter(
            (locked.locked_until - now).max(1) as u64,
        )));
    }
    let code = code.trim();
    let checked = if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        check_totp(state, &row, code).await
    } else if row.enabled {
        check_backup_code(state, &row, code).await
    } else {
        Err(invalid_code())
    };
    let checked = match checked {
        Ok(Method::Totp) if !row.enabled => Ok(Method::Enrolment),
        other => other,
    };
    // A wrong code was counted when its attempt was taken.
    if checked.is_ok() {
        store::two_factors::clear_failures(&state.db, &user.id).await?;
    }
    checked
}

async fn check_totp(
    state: &AppState,
    row: &two_factors::Model,
    code: &str,
) -> Result<Method, ApiError> {
    let now = state.now();
    let secret = state
        .secrets
        .open_text(Slot::TotpSecret(row.user_id.as_str()), &row.secret)
        .map_err(|e| Error::internal(format!("totp secret: {e}")))?;
    let secret = Secret::try_from_base32(secret.as_str())
        .map_err(|e| Error::internal(format!("totp secret: {e:?}")))?;
    let totp = totp(secret, "account", "issuer".into())?;
    let current = now / STEP;
    // Every step is computed, so the time taken does not say which matched.
    let matched = (current - 1..=current + 1)
        .filter(|step| {
            let expected = totp.generate((step * STEP) as u64).to_string();
            opaque::constant_time_eq(&expected, code)
        })
        .max();
    match matched {
        Some(step) if step > row.last_used_step => {
            if store::two_factors::accept_step(&state.db, &row.user_id, step, now).await? {
                Ok(Method::Totp)
            } else {
                Err(invalid_code())
            }
        }
        _ => Err(invalid_code()),
    }
}

async fn check_backup_code(
    state: &AppState,
    row: &two_factors::Model,
    code: &str,
) -> Result<Method, ApiError> {
    let hash = backup_hash(&row.user_id, code);
    let hashes: Vec<String> = serde_json::from_str(&row.backup_codes).unwrap_or_default();
    let Some(pos) = hashes
        .iter()
        .position(|h| opaque::constant_time_eq(h, &hash))
    else {
        return Err(invalid_code());
    };
    let mut rest = hashes;
    rest.remove(pos);
    let rest = serde_json::to_string(&rest).unwrap_or_else(|_| "[]".into());
    if store::two_factors::swap_backup_codes(
        &state.db,
        &row.user_id,
        &row.backup_codes,
        &rest,
        state.now(),
    )
    .await?
    {
        Ok(Method::BackupCode)
    } else {
        Err(invalid_code())
    }
}

/// The `amr` value a second factor adds (RFC 8176: both are one-time codes).
pub fn amr_of(_: Method) -> assurance::Amr {
    assurance::OTP
}

/// `two-factor/disable`: a current code (or a backup code) turns it off.
pub async fn disable(
    state: &AppState,
    user: &users::Model,
    ip: &str,
    code: &str,
) -> Result<(), ApiError> {
    if !store::two_factors::is_enabled(&state.db, &user.id).await? {
        return Err(not_enabled());
    }
    check_code(state, user, ip, code).await?;
    store::two_factors::delete(&state.db, &user.id).await?;
    Ok(())
}

/// `two-factor/generate-backup-codes`: a current code replaces all backup
/// codes with ten new ones.
pub async fn regenerate_backup_codes(
    state: &AppState,
    user: &users::Model,
    ip: &str,
    code: &str,
) -> Result<Vec<String>, ApiError> {
    if !store::two_factors::is_enabled(&state.db, &user.id).await? {
        return Err(not_enabled());
    }
    check_code(state, user, ip, code).await?;
    let Some(row) = store::two_factors::find(&state.db, &user.id).await? else {
        return Err(not_enabled());
    };
    let (codes, stored) = new_backup_codes(&user.id);
    if store::two_factors::swap_backup_codes(
        &state.db,
        &user.id,
        &row.backup_codes,
        &stored,
        state.now(),
    )
    .await?
    {
        Ok(codes)
    } else {
        Err(ApiError::new(
            409,
            "CONFLICT",
            "The backup codes changed meanwhile. Try again.",
        ))
    }
}
