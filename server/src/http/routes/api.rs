//! The first-party JSON API under `/.auth/api/v1/auth/` (CONTRACT §4; names and
//! shapes from seed 000, Better Auth).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::no_store;
use crate::error::ApiError;
use crate::http::extract::{CurrentSession, client_info, origin_allowed, session_token};
use crate::http::fields::{self, Field};
use crate::http::{body, cookies};
use crate::login::session::{self, SessionInfo};
use crate::login::{assurance, email_password, pace};
use crate::ratelimit::{Family, account_key, ip_key};
use crate::state::AppState;

pub const PREFIX: &str = "/.auth/api/v1/auth";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(PREFIX)
            .app_data(body::api_json(body::API_JSON))
            .route("/sign-up/email", web::post().to(sign_up))
            .route("/sign-in/email", web::post().to(sign_in))
            .route("/sign-out", web::post().to(sign_out))
            .route("/get-session", web::get().to(get_session))
            .route("/forget-password", web::post().to(forget_password))
            .route("/reset-password", web::post().to(reset_password))
            .route(
                "/send-verification-email",
                web::post().to(send_verification_email),
            )
            .route("/verify-email", web::get().to(verify_email))
            .route("/sign-in/magic-link", web::post().to(magic_link_request))
            .route(
                "/email-otp/send-verification-otp",
                web::post().to(email_code_send),
            )
            .route("/email-otp/verify-email", web::post().to(email_code_verify))
            .route("/change-email", web::post().to(change_email))
            .route("/magic-link/verify", web::get().to(magic_link_verify))
            .configure(super::factors::configure)
            .default_service(web::to(not_found)),
    );
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(404, "NOT_FOUND", "No such endpoint."))
}

/// Cookie-authenticated (and cookie-setting) calls must come from a trusted
/// origin: a cross-site page must not sign a visitor in or out.
pub(super) fn require_origin(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    if origin_allowed(req, state) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "INVALID_ORIGIN",
            "This origin is not allowed.",
        ))
    }
}

/// Better Auth's success body for calls that answer nothing else.
pub(super) fn status_ok() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": true }))
}

pub(super) fn client_ip(req: &HttpRequest) -> String {
    client_info(req).ip.unwrap_or_default()
}

fn iso(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

pub fn user_json(u: &entities::users::Model) -> Value {
    json!({
        "id": u.id,
        "email": u.email,
        "name": u.name,
        "emailVerified": u.email_verified,
        "image": u.image,
        "createdAt": iso(u.created_at),
        "updatedAt": iso(u.updated_at),
    })
}

fn session_json(info: &SessionInfo) -> Value {
    let s = &info.session;
    json!({
        "session": {
            "id": s.id,
            "userId": s.user_id,
            "activeOrganizationId": s.active_organization_id,
            "expiresAt": iso(s.expires_at),
            "createdAt": iso(s.created_at),
            "updatedAt": iso(s.created_at),
            "ipAddress": s.ip,
            "userAgent": s.user_agent,
        },
        "user": user_json(&info.user),
    })
}

#[derive(Deserialize)]
struct SignUp {
    email: String,
    password: String,
    #[serde(default)]
    name: String,
}

/// `POST sign-up/email`: creates the account and signs it in. An address
/// that has an account gets the same answer (a stand-in user and a cookie
/// that opens nothing) while its owner is told by mail: the answer does not
/// say which addresses have accounts.
async fn sign_up(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<SignUp>,
) -> Result<HttpResponse, ApiError> {
    require_origin(&req, &state)?;
    let started = std::time::Instant::now();
    fields::check(&[
        (Field::Email, &body.email),
        (Field::Password, &body.password),
        (Field::Name, &body.name),
    ])?;
    let signed_up = email_password::sign_up(
        &state,
        &client_ip(&req),
        &body.email,
        &body.password,
        &body.name,
    )
    .await?;
    let (token, user) = match signed_up {
        email_password::SignedUp::Created(user) => {
            state
                .metrics
                .sign_ups
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let (token, info) =
                session::start_after_sign_up(&state, user, &[assurance::PWD], client_info(&req))
                    .await?;
            pace::SIGN_UP.heavy(started);
            (token, info.user)
        }
        email_password::SignedUp::AddressTaken(stand_in) => {
            pace::SIGN_UP.light(started).await;
            (crate::tokens::opaque::new_secret(), stand_in)
        }
    };
    Ok(no_store(&mut HttpResponse::Ok())
        .cookie(cookies::session(&state.settings, token))
        .json(json!({ "token": null, "user": user_json(&user) })))
}

#[derive(Deserialize)]
struct SignIn {
    email: String,
    password: String,
}

/// `POST sign-in/email`. Unknown email and wrong password answer the same.
async fn sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<SignIn>,
) -> Result<HttpResponse, ApiError> {
    require_origin(&req, &state)?;
    fields::check(&[
        (Field::Email, &body.email),
        (Field::Password, &body.password),
    ])?;
    let user = match email_password::sign_in(&state, &client_ip(&req), &body.email, &body.password)
        .await
    {
        Ok(u) => u,
        Err(e) => {
            state
                .metrics
                .sign_ins_failed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Err(e);
        }
    };
    state
        .metrics
        .sign_ins_ok
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (token, info) = session::start(&state, user, &[assurance::PWD], client_info(&req)).await?;
    Ok(signed_in_response(&state, token, &info))
}

/// The answer to a successful sign-in: the session cookie and the user, or,
/// when a second factor is owed, Better Auth's `twoFactorRedirect`.
pub(super) fn signed_in_response(
    state: &AppState,
    token: String,
    info: &SessionInfo,
) -> HttpResponse {
    signed_in_body(state, token, &info.user, info.pending())
}

/// [`signed_in_response`] for a sign-up whose address had an account: the
/// same answer, with a stand-in user and a cookie that opens nothing.
pub(super) fn stand_in_response(
    state: &AppState,
    stand_in: &entities::users::Model,
) -> HttpResponse {
    signed_in_body(state, crate::tokens::opaque::new_secret(), stand_in, false)
}

fn signed_in_body(
    state: &AppState,
    token: String,
    user: &entities::users::Model,
    pending: bool,
) -> HttpResponse {
    let body = if pending {
        json!({ "twoFactorRedirect": true })
    } else {
        json!({ "redirect": false, "token": null, "url": null, "user": user_json(user) })
    };
    no_store(&mut HttpResponse::Ok())
        .cookie(cookies::session(&state.settings, token))
        .json(body)
}

/// `POST sign-out`: ends the session and clears the cookie. Idempotent.
async fn sign_out(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    require_origin(&req, &state)?;
    if let Some(token) = session_token(&req, &state) {
        session::end(&state, &token).await?;
    }
    Ok(HttpResponse::Ok()
        .cookie(cookies::clear_session(&state.settings))
        .json(json!({ "success": true })))
}

/// `GET get-session`: the session and user, or `null` when signed out (as
/// Better Auth answers).
async fn get_session(current: CurrentSession) -> HttpResponse {
    let body = match current.0 {
        Some(info) => session_json(&info),
        None => Value::Null,
    };
    no_store(&mut HttpResponse::Ok()).json(body)
}

/// Mail-sending requests share a per-address budget.
fn limit_mail(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    Ok(state.limit(Family::Mail, &[ip_key(&client_ip(req))])?)
}

#[derive(Deserialize)]
struct EmailOnly {
    email: String,
}

/// `POST forget-password`: always `{"status":true}`, account or not.
async fn forget_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<EmailOnly>,
) -> Result<HttpResponse, ApiError> {
    require_origin(&req, &state)?;
    fields::check(&[(Field::Email, &body.email)])?;
    limit_mail(&req, &state)?;
    crate::login::password_reset::request(&state, &body.email).await?;
    Ok(status_ok())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResetPassword {
    token: String,
    /// Better Auth sends `newPassword`; the contract names `password`.
    #[serde(alias = "password")]
    new_password: String,
}

/// `POST reset-password` `{token, password}`.
async fn reset_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<ResetPassword>,
) -> Result<HttpResponse, ApiError> {
    require_origin(&req, &state)?;
    fields::check(&[
        (Field::Token, &body.token),
        (Field::Password, &body.new_password),
    ])?;
    crate::login::password_reset::reset(&state, &body.token, &body.new_password).await?;
    Ok(status_ok())
}

/// `POST send-verification-email`: always `{"status":true}`.
async fn send_verification_email(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<EmailOnly>,
) -> Result<HttpResponse, ApiError> {
    require_origin(&req, &state)?;
    fields::check(&[(Field::Email, &body.email)])?;
    limit_mail(&req, &state)?;
    crate::login::email_verification::resend(&state, &body.email).await?;
    Ok(status_ok())
}

#[derive(Deserialize)]
struct VerifyQuery {
    #[serde(default)]
    token: String,
    #[serde(rename = "callbackURL")]
    callback_url: Option<String>,
}

/// `GET verify-email?token=…[&callbackURL=/path]`: the mailed link. A live
/// link goes on to its confirm page (303); the GET itself verifies nothing
/// (issue 19: the contract's GET link stays, the change moved to the page's
/// POST). A dead link answers as before: a page for a person, JSON otherwise.
async fn verify_email(
    req: HttpRequest,
    state: web::Data<AppState>,
    q: web::Query<VerifyQuery>,
) -> Result<HttpResponse, actix_web::Error> {
    let browser = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    fields::check(&[(Field::Token, &q.token)]).map_err(ApiError::from)?;
    let live = crate::login::email_verification::peek(&state, &q.token)
        .await
        .map_err(ApiError::from)?
        .is_some();
    if !live {
        let message = "This link is invalid, expired or already used.";
        return Err(if browser {
            crate::error::PageError::bad_request(message).into()
        } else {
            ApiError::bad_request("INVALID_TOKEN", message).into()
        });
    }
    Ok(confirm_page(
        super::mail_links::VERIFY_PATH,
        &q.token,
        q.callback_url.as_deref(),
    ))
}

/// 303 to a mail link's confirm page, carrying the link's same-origin
/// `callbackURL` on as `return_to`.
fn confirm_page(path: &str, token: &str, callback_url: Option<&str>) -> HttpResponse {
    let return_to = crate::oauth::redirect::safe_return_to(callback_url);
    no_store(&mut HttpResponse::SeeOther())
        .insert_header((
            header::LOCATION,
            super::mail_links::page_path(path, token, return_to.as_deref()),
        ))
        .finish()
}

#[derive(Deserialize)]
struct MagicLinkRequest {
    email: String,
    #[serde(rename = "callbackURL")]
    callback_url: Option<String>,
}

/// `POST sign-in/magic-link`: always `{"status":true}`; 5 a minute per
/// address and per account.
async fn magic_link_request(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<MagicLinkRequest>,
) -> Result<HttpResponse, ApiError> {
    require_origin(&req, &state)?;
    fields::check(&[(Field::Email, &body.email)])?;
    state.limit(
        Family::MagicLink,
        &[ip_key(&client_ip(&req)), account_key(&body.email)],
    )?;
    crate::login::magic_link::request(&state, &body.email, body.callback_url.as_deref()).await?;
    Ok(status_ok())
}

#[derive(Deserialize)]
struct MagicLinkVerify {
    #[serde(default)]
    token: String,
    #[serde(rename = "callbackURL")]
    callback_url: Option<String>,
}

/// `GET magic-link/verify?token=…`: the mailed link, opened in a browser.
/// A live link goes on to its confirm page, which names the account; the
/// sign-in happens on that page's POST (issue 19: no login on a GET).
async fn magic_link_verify(
    state: web::Data<AppState>,
    q: web::Query<MagicLinkVerify>,
) -> Result<HttpResponse, crate::error::PageError> {
    fields::check(&[(Field::Token, &q.token)])?;
    if crate::login::magic_link::peek(&state, &q.token)
        .await?
        .is_none()
    {
        return Err(crate::error::PageError::bad_request(
            "This sign-in link is invalid, expired or already used. Ask for a new one.",
        ));
    }
    Ok(confirm_page(
        super::mail_links::MAGIC_PATH,
        &q.token,
        q.callback_url.as_deref(),
    ))
}

pub(super) fn signed_in(current: CurrentSession) -> Result<std::sync::Arc<SessionInfo>, ApiError> {
    current.0.ok_or_else(ApiError::unauthorized)
}

/// `POST email-otp/send-verification-otp`: a 6-digit code to the signed-in
/// user's unverified address. Limited per address and per account (any
/// number of sessions of one account share its budget).
async fn email_code_send(
    req: HttpRequest,
    state: web::Data<AppState>,
    current: CurrentSession,
) -> Result<HttpResponse, ApiError> {
    require_origin(&req, &state)?;
    let info = signed_in(current)?;
    state.limit(
        Family::Mail,
        &[ip_key(&client_ip(&req)), account_key(&info.user.id)],
    )?;
    crate::login::email_code::send(&state, &info.user).await?;
    Ok(status_ok())
}

#[derive(Deserialize)]
struct CodeBody {
    #[serde(alias = "code")]
    otp: String,
}

/// `POST email-otp/verify-email` `{otp}`. The code proves the mailbox: from
/// the session that created the account it only verifies; from any other
/// session the account is taken back first (`login::mailbox`) and this
/// browser gets a new session, the old one having ended with the others.
/// Limited per address and per account in front of each code's own five
/// attempts.
async fn email_code_verify(
    req: HttpRequest,
    state: web::Data<AppState>,
    current: CurrentSession,
    body: web::Json<CodeBody>,
) -> Result<HttpResponse, ApiError> {
    require_origin(&req, &state)?;
    fields::check(&[(Field::Code, &body.otp)])?;
    let info = signed_in(current)?;
    state.limit(
        Family::EmailCode,
        &[ip_key(&client_ip(&req)), account_key(&info.user.id)],
    )?;
    // The account as stored now: the session's copy may be stale.
    let (user, email) = crate::login::email_code::verify(&state, &info.user.id, &body.otp).await?;
    let Some(proved) = crate::login::mailbox::proved(&state, &user, &email, Some(&info)).await?
    else {
        return Err(ApiError::bad_request(
            "INVALID_CODE",
            "This code is wrong or has expired.",
        ));
    };
    if !proved.signs_in() {
        return Ok(status_ok());
    }
    let user = crate::store::users::find(&state.db, &user.id)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    let (token, _) = session::start(
        &state,
        user,
        &[crate::login::magic_link::AMR],
        client_info(&req),
    )
    .await?;
    Ok(no_store(&mut HttpResponse::Ok())
        .cookie(cookies::session(&state.settings, token))
        .json(json!({ "status": true })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangeEmail {
    new_email: String,
}

/// `POST change-email` `{newEmail}`: only while the address is unverified.
async fn change_email(
    req: HttpRequest,
    state: web::Data<AppState>,
    current: CurrentSession,
    body: web::Json<ChangeEmail>,
) -> Result<HttpResponse, ApiError> {
    require_origin(&req, &state)?;
    fields::check(&[(Field::Email, &body.new_email)])?;
    let info = signed_in(current)?;
    limit_mail(&req, &state)?;
    crate::login::email_code::change_email(&state, &info.user, &body.new_email).await?;
    Ok(status_ok())
}
