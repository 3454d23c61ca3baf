//! The first-party JSON API under `/.auth/api/v1/auth/` (CONTRACT §4; names and
//! shapes from seed 000, Better Auth): signing up, in and out, and the
//! session. Its other resources (`api_mail`, `factors`) register in the same
//! scope (`routes::configure`).

use std::sync::atomic::Ordering::Relaxed;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::account::profile::Profile;
use crate::error::ApiError;
use crate::http::api_json::{self, session_json, signed_in_response};
use crate::http::cache_control::no_store;
use crate::http::cookies;
use crate::http::extract::{
    ApiJson, CurrentSession, TrustedOrigin, client_info, client_ip, session_token,
};
use crate::http::fields::bounded;
use crate::login::session;
use crate::login::{assurance, email_password, pace};
use crate::state::AppState;

pub const PREFIX: &str = "/.auth/api/v1/auth";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sign-up/email", web::post().to(sign_up))
        .route("/sign-in/email", web::post().to(sign_in))
        .route("/sign-out", web::post().to(sign_out))
        .route("/get-session", web::get().to(get_session));
}

/// What the API answers on a path it does not have.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(404, "NOT_FOUND", "No such endpoint."))
}

#[derive(Deserialize)]
struct SignUp {
    email: String,
    password: String,
    #[serde(default)]
    name: String,
}

bounded!(SignUp {
    email: Email,
    password: Password,
    name: Name
});

/// `POST sign-up/email`: creates the account and signs it in. An address
/// that has an account gets the same answer (a stand-in user and a cookie
/// that opens nothing) while its owner is told by mail: the answer does not
/// say which addresses have accounts.
async fn sign_up(
    _: TrustedOrigin,
    req: HttpRequest,
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<SignUp>,
) -> Result<HttpResponse, ApiError> {
    let started = std::time::Instant::now();
    let ip = client_ip(&req);
    let signed_up =
        email_password::sign_up(&state, &ip, &body.email, &body.password, &body.name).await?;
    let (token, user) = match signed_up {
        email_password::SignedUp::Created(user) => {
            state.metrics.sign_ups.fetch_add(1, Relaxed);
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
    let body = json!({ "token": null, "user": api_json::user_json(&Profile::of(&user)) });
    Ok(api_json::with_session(&state, token, &body))
}

#[derive(Deserialize)]
struct SignIn {
    email: String,
    password: String,
}

bounded!(SignIn {
    email: Email,
    password: Password
});

/// `POST sign-in/email`. Unknown email and wrong password answer the same.
async fn sign_in(
    _: TrustedOrigin,
    req: HttpRequest,
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<SignIn>,
) -> Result<HttpResponse, ApiError> {
    let signed_in =
        email_password::sign_in(&state, &client_ip(&req), &body.email, &body.password).await;
    let user = match signed_in {
        Ok(u) => u,
        Err(e) => {
            state.metrics.sign_ins_failed.fetch_add(1, Relaxed);
            return Err(e);
        }
    };
    state.metrics.sign_ins_ok.fetch_add(1, Relaxed);
    let (token, info) = session::start(&state, user, &[assurance::PWD], client_info(&req)).await?;
    Ok(signed_in_response(&state, token, &info))
}

/// `POST sign-out`: ends the session and clears the cookie. Idempotent.
async fn sign_out(
    _: TrustedOrigin,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
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
