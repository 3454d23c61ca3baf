//! The first-party API's mail calls (CONTRACT §4; Better Auth's names):
//! password reset, address verification (link or code), magic links and a
//! change of address. Registered inside the `/.auth/api/v1/auth` scope.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::error::{ApiError, PageError};
use crate::http::api_json::{self, status_ok};
use crate::http::cache_control::no_store;
use crate::http::extract::{ApiJson, SignedIn, SignedJson, TrustedOrigin, client_info, client_ip};
use crate::http::fields::{self, Field, bounded};
use crate::http::pages::{self, MAGIC_PATH, VERIFY_PATH};
use crate::login::{email_code, email_verification, magic_link, mailbox, password_reset, session};
use crate::ratelimit::{Family, account_key, ip_key};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/forget-password", web::post().to(forget_password))
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
        .route("/magic-link/verify", web::get().to(magic_link_verify));
}

/// Mail-sending requests share a per-address budget.
fn limit_mail(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    Ok(state.limit(Family::Mail, &[ip_key(&client_ip(req))])?)
}

#[derive(Deserialize)]
struct EmailOnly {
    email: String,
}

bounded!(EmailOnly { email: Email });

/// `POST forget-password`: always `{"status":true}`, account or not.
async fn forget_password(
    _: TrustedOrigin,
    req: HttpRequest,
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<EmailOnly>,
) -> Result<HttpResponse, ApiError> {
    limit_mail(&req, &state)?;
    password_reset::request(&state, &body.email).await?;
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

bounded!(ResetPassword {
    token: Token,
    new_password: Password
});

/// `POST reset-password` `{token, password}`.
async fn reset_password(
    _: TrustedOrigin,
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<ResetPassword>,
) -> Result<HttpResponse, ApiError> {
    password_reset::reset(&state, &body.token, &body.new_password).await?;
    Ok(status_ok())
}

/// `POST send-verification-email`: always `{"status":true}`.
async fn send_verification_email(
    _: TrustedOrigin,
    req: HttpRequest,
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<EmailOnly>,
) -> Result<HttpResponse, ApiError> {
    limit_mail(&req, &state)?;
    email_verification::resend(&state, &body.email).await?;
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
    let live = email_verification::peek(&state, &q.token)
        .await
        .map_err(ApiError::from)?
        .is_some();
    if !live {
        let message = "This link is invalid, expired or already used.";
        return Err(if browser {
            PageError::bad_request(message).into()
        } else {
            ApiError::bad_request("INVALID_TOKEN", message).into()
        });
    }
    Ok(confirm_page(
        VERIFY_PATH,
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
            pages::link_page_path(path, token, return_to.as_deref()),
        ))
        .finish()
}

#[derive(Deserialize)]
struct MagicLinkRequest {
    email: String,
    #[serde(rename = "callbackURL")]
    callback_url: Option<String>,
}

bounded!(MagicLinkRequest { email: Email });

/// `POST sign-in/magic-link`: always `{"status":true}`; 5 a minute per
/// address and per account.
async fn magic_link_request(
    _: TrustedOrigin,
    req: HttpRequest,
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<MagicLinkRequest>,
) -> Result<HttpResponse, ApiError> {
    state.limit(
        Family::MagicLink,
        &[ip_key(&client_ip(&req)), account_key(&body.email)],
    )?;
    magic_link::request(&state, &body.email, body.callback_url.as_deref()).await?;
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
) -> Result<HttpResponse, PageError> {
    fields::check(&[(Field::Token, &q.token)])?;
    if magic_link::peek(&state, &q.token).await?.is_none() {
        return Err(PageError::bad_request(
            "This sign-in link is invalid, expired or already used. Ask for a new one.",
        ));
    }
    Ok(confirm_page(
        MAGIC_PATH,
        &q.token,
        q.callback_url.as_deref(),
    ))
}

/// `POST email-otp/send-verification-otp`: a 6-digit code to the signed-in
/// user's unverified address. Limited per address and per account (any
/// number of sessions of one account share its budget).
async fn email_code_send(
    _: TrustedOrigin,
    req: HttpRequest,
    state: web::Data<AppState>,
    SignedIn(info): SignedIn,
) -> Result<HttpResponse, ApiError> {
    state.limit(
        Family::Mail,
        &[ip_key(&client_ip(&req)), account_key(info.user.id.as_str())],
    )?;
    email_code::send(&state, &info.user).await?;
    Ok(status_ok())
}

#[derive(Deserialize)]
struct CodeBody {
    #[serde(alias = "code")]
    otp: String,
}

bounded!(CodeBody { otp: Code });

/// `POST email-otp/verify-email` `{otp}`. The code proves the mailbox: from
/// the session that created the account it only verifies; from any other
/// session the account is taken back first (`login::mailbox`) and this
/// browser gets a new session, the old one having ended with the others.
/// Limited per address and per account in front of each code's own five
/// attempts.
async fn email_code_verify(
    _: TrustedOrigin,
    req: HttpRequest,
    state: web::Data<AppState>,
    SignedJson(SignedIn(info), body): SignedJson<SignedIn, CodeBody>,
) -> Result<HttpResponse, ApiError> {
    state.limit(
        Family::EmailCode,
        &[ip_key(&client_ip(&req)), account_key(info.user.id.as_str())],
    )?;
    // The account as stored now: the session's copy may be stale.
    let (user, email) = email_code::verify(&state, &info.user.id, &body.otp).await?;
    let Some(proved) = mailbox::proved(&state, &user, &email, Some(&info)).await? else {
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
    let (token, _) = session::start(&state, user, &[magic_link::AMR], client_info(&req)).await?;
    Ok(api_json::with_session(
        &state,
        token,
        &json!({ "status": true }),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangeEmail {
    new_email: String,
}

bounded!(ChangeEmail { new_email: Email });

/// `POST change-email` `{newEmail}`: only while the address is unverified.
async fn change_email(
    _: TrustedOrigin,
    req: HttpRequest,
    state: web::Data<AppState>,
    SignedJson(SignedIn(info), body): SignedJson<SignedIn, ChangeEmail>,
) -> Result<HttpResponse, ApiError> {
    limit_mail(&req, &state)?;
    email_code::change_email(&state, &info.user, &body.new_email).await?;
    Ok(status_ok())
}
