//! Passkeys and two-factor authentication in the first-party API (CONTRACT
//! §4; names from seeds 000 and 004 and Better Auth's passkey and two-factor
//! plugins). Registered inside the `/.auth/api/v1/auth` scope.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use crate::account::profile::Profile;
use crate::error::ApiError;
use crate::http::api_json::{self, signed_in_response, stand_in_response, status_ok, user_json};
use crate::http::body;
use crate::http::cache_control::no_store;
use crate::http::extract::{
    ApiJson, CurrentSession, SignedIn, SignedJson, SigningIn, TrustedOrigin, client_info, client_ip,
};
use crate::http::fields::{self, Bounded, Field, bounded};
use crate::login::email_password::SignedUp;
use crate::login::passkey::PasskeyInfo;
use crate::login::{pace, passkey, session, two_factor};
use crate::state::AppState;
use crate::store;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/passkey/register/options",
        web::post().to(passkey_register_options),
    )
    .service(
        web::resource("/passkey/register")
            .app_data(body::api_json(body::PASSKEY_JSON))
            .route(web::post().to(passkey_register)),
    )
    .route(
        "/passkey/authenticate/options",
        web::post().to(passkey_authenticate_options),
    )
    .service(
        web::resource("/passkey/authenticate")
            .app_data(body::api_json(body::PASSKEY_JSON))
            .route(web::post().to(passkey_authenticate)),
    )
    .route("/passkey/list-user-passkeys", web::get().to(passkey_list))
    .route("/passkey/update-passkey", web::post().to(passkey_rename))
    .route("/passkey/delete-passkey", web::post().to(passkey_delete))
    .route("/two-factor/enable", web::post().to(two_factor_enable))
    .route("/two-factor/verify", web::post().to(two_factor_verify))
    .route("/two-factor/verify-totp", web::post().to(two_factor_verify))
    .route(
        "/two-factor/verify-backup-code",
        web::post().to(two_factor_verify),
    )
    .route("/two-factor/disable", web::post().to(two_factor_disable))
    .route(
        "/two-factor/generate-backup-codes",
        web::post().to(two_factor_backup_codes),
    );
}

#[derive(Deserialize, Default)]
struct EmailOpt {
    email: Option<String>,
}

/// The WebAuthn options with the handle of the server-side ceremony.
fn options_json(
    ceremony: String,
    options: impl serde::Serialize,
) -> Result<HttpResponse, ApiError> {
    let mut body = serde_json::to_value(options).map_err(|_| ApiError::internal())?;
    body["ceremony"] = Value::String(ceremony);
    Ok(no_store(&mut HttpResponse::Ok()).json(body))
}

fn passkey_json(p: &PasskeyInfo) -> Value {
    json!({
        "id": p.id,
        "credentialID": p.id,
        "name": p.name,
        "counter": p.counter,
        "deviceType": if p.backup_eligible { "multiDevice" } else { "singleDevice" },
        "backedUp": p.backup_eligible,
        "createdAt": p.created_at,
        "lastUsedAt": p.last_used_at,
    })
}

/// `POST passkey/register/options` `{email?}`: signed in, for this account;
/// signed out with an unused email, for a passkey-first sign-up.
async fn passkey_register_options(
    _: TrustedOrigin,
    req: HttpRequest,
    state: web::Data<AppState>,
    current: CurrentSession,
    body: Option<web::Json<EmailOpt>>,
) -> Result<HttpResponse, ApiError> {
    let email = body.and_then(|b| b.into_inner().email);
    fields::check(&[(Field::Email, email.as_deref().unwrap_or(""))])?;
    let (ceremony, options) = passkey::register_options(
        &state,
        current.0.as_deref(),
        &client_ip(&req),
        email.as_deref(),
    )
    .await?;
    options_json(ceremony, options)
}

#[derive(Deserialize)]
struct RegisterBody {
    ceremony: String,
    #[serde(alias = "response")]
    credential: RegisterPublicKeyCredential,
    name: Option<String>,
}

impl Bounded for RegisterBody {
    fn fields(&self) -> Vec<(Field, &str)> {
        let name = self.name.as_deref().unwrap_or("");
        vec![(Field::Token, &self.ceremony), (Field::Name, name)]
    }
}

/// `POST passkey/register`: stores the passkey; a passkey-first sign-up is
/// signed in.
async fn passkey_register(
    _: TrustedOrigin,
    req: HttpRequest,
    state: web::Data<AppState>,
    current: CurrentSession,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<HttpResponse, ApiError> {
    let started = std::time::Instant::now();
    let done = passkey::register(
        &state,
        current.0.as_deref(),
        &body.ceremony,
        &body.credential,
        body.name.as_deref(),
    )
    .await?;
    match done.new_user {
        Some(SignedUp::Created(user)) => {
            let (token, info) = session::start_after_sign_up(
                &state,
                user,
                &passkey::amr_of(&done.passkey),
                client_info(&req),
            )
            .await?;
            pace::PASSKEY_SIGN_UP.heavy(started);
            Ok(signed_in_response(&state, token, &info))
        }
        // The address had an account: answered like a new one (no enumeration),
        // with a cookie that opens nothing; its owner was told by mail.
        Some(SignedUp::AddressTaken(stand_in)) => {
            pace::PASSKEY_SIGN_UP.light(started).await;
            Ok(stand_in_response(&state, &Profile::of(&stand_in)))
        }
        None => Ok(HttpResponse::Ok().json(passkey_json(&PasskeyInfo::of(&done.passkey)))),
    }
}

/// `POST passkey/authenticate/options` `{email?}`.
async fn passkey_authenticate_options(
    _: TrustedOrigin,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Option<web::Json<EmailOpt>>,
) -> Result<HttpResponse, ApiError> {
    let email = body.and_then(|b| b.into_inner().email);
    fields::check(&[(Field::Email, email.as_deref().unwrap_or(""))])?;
    let (ceremony, options) =
        passkey::authenticate_options(&state, &client_ip(&req), email.as_deref()).await?;
    options_json(ceremony, options)
}

#[derive(Deserialize)]
struct AuthenticateBody {
    ceremony: String,
    #[serde(alias = "response")]
    credential: PublicKeyCredential,
}

bounded!(AuthenticateBody { ceremony: Token });

/// `POST passkey/authenticate`: signs in.
async fn passkey_authenticate(
    _: TrustedOrigin,
    req: HttpRequest,
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<AuthenticateBody>,
) -> Result<HttpResponse, ApiError> {
    let (user, amr) = passkey::authenticate(&state, &body.ceremony, &body.credential).await?;
    let (token, info) = session::start(&state, user, &amr, client_info(&req)).await?;
    Ok(signed_in_response(&state, token, &info))
}

async fn passkey_list(
    state: web::Data<AppState>,
    SignedIn(info): SignedIn,
) -> Result<HttpResponse, ApiError> {
    let keys = store::passkeys::for_user(&state.db, &info.user.id).await?;
    let keys: Vec<Value> = keys
        .iter()
        .map(|p| passkey_json(&PasskeyInfo::of(p)))
        .collect();
    Ok(HttpResponse::Ok().json(keys))
}

#[derive(Deserialize)]
struct Rename {
    id: String,
    name: String,
}

bounded!(Rename {
    id: Token,
    name: Name
});

async fn passkey_rename(
    _: TrustedOrigin,
    state: web::Data<AppState>,
    SignedJson(SignedIn(info), body): SignedJson<SignedIn, Rename>,
) -> Result<HttpResponse, ApiError> {
    let Some(name) = passkey::clean_name(Some(&body.name)) else {
        return Err(ApiError::bad_request(
            "INVALID_NAME",
            "Give the passkey a name.",
        ));
    };
    if !store::passkeys::rename(&state.db, &info.user.id, &body.id, &name).await? {
        return Err(no_such_passkey());
    }
    Ok(status_ok())
}

fn no_such_passkey() -> ApiError {
    ApiError::new(
        404,
        "PASSKEY_NOT_FOUND",
        "You have no passkey with this ID.",
    )
}

#[derive(Deserialize)]
struct IdOnly {
    id: String,
}

bounded!(IdOnly { id: Token });

async fn passkey_delete(
    _: TrustedOrigin,
    state: web::Data<AppState>,
    SignedJson(SignedIn(info), body): SignedJson<SignedIn, IdOnly>,
) -> Result<HttpResponse, ApiError> {
    if !store::passkeys::delete(&state.db, &info.user.id, &body.id).await? {
        return Err(no_such_passkey());
    }
    Ok(status_ok())
}

#[derive(Deserialize, Default)]
struct PasswordOpt {
    password: Option<String>,
}

/// `POST two-factor/enable` `{password}`: secret, `otpauth://` URI, QR code
/// and backup codes; the factor turns on when `two-factor/verify` accepts a
/// code.
async fn two_factor_enable(
    _: TrustedOrigin,
    req: HttpRequest,
    state: web::Data<AppState>,
    SignedIn(info): SignedIn,
    body: Option<web::Json<PasswordOpt>>,
) -> Result<HttpResponse, ApiError> {
    let password = body.and_then(|b| b.into_inner().password);
    fields::check(&[(Field::Password, password.as_deref().unwrap_or(""))])?;
    let enrolment =
        two_factor::enable(&state, &info, &client_ip(&req), password.as_deref()).await?;
    Ok(no_store(&mut HttpResponse::Ok()).json(enrolment))
}

#[derive(Deserialize)]
struct CodeBody {
    code: String,
}

bounded!(CodeBody { code: Code });

/// `POST two-factor/verify` `{code}`: a TOTP or backup code. Completes a
/// pending sign-in or steps a session up (it then carries `otp` and `mfa`,
/// under a new cookie), or confirms an enrolment (which proves the app works,
/// not who is signing in, so the session stays as it was).
async fn two_factor_verify(
    _: TrustedOrigin,
    req: HttpRequest,
    state: web::Data<AppState>,
    SignedJson(SigningIn(info), body): SignedJson<SigningIn, CodeBody>,
) -> Result<HttpResponse, ApiError> {
    let method = two_factor::check_code(&state, &info.user, &client_ip(&req), &body.code).await?;
    let body = |info: &session::SessionInfo| json!({ "status": true, "token": null, "user": user_json(&Profile::of(&info.user)) });
    if method == two_factor::Method::Enrolment {
        return Ok(no_store(&mut HttpResponse::Ok()).json(body(&info)));
    }
    let (token, info) = session::elevate(&state, &info, two_factor::amr_of(method))
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    Ok(api_json::with_session(&state, token, &body(&info)))
}

/// `POST two-factor/disable` `{code}`.
async fn two_factor_disable(
    _: TrustedOrigin,
    req: HttpRequest,
    state: web::Data<AppState>,
    SignedJson(SignedIn(info), body): SignedJson<SignedIn, CodeBody>,
) -> Result<HttpResponse, ApiError> {
    two_factor::disable(&state, &info.user, &client_ip(&req), &body.code).await?;
    Ok(status_ok())
}

/// `POST two-factor/generate-backup-codes` `{code}`: ten new codes; the old
/// ones stop working.
async fn two_factor_backup_codes(
    _: TrustedOrigin,
    req: HttpRequest,
    state: web::Data<AppState>,
    SignedJson(SignedIn(info), body): SignedJson<SignedIn, CodeBody>,
) -> Result<HttpResponse, ApiError> {
    let codes =
        two_factor::regenerate_backup_codes(&state, &info.user, &client_ip(&req), &body.code)
            .await?;
    Ok(no_store(&mut HttpResponse::Ok()).json(json!({ "backupCodes": codes })))
}
