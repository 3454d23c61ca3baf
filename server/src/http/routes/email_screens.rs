//! The screens that send mail or come from it (CONTRACT §5): ask for a
//! magic link, ask for a password reset, and the reset page its mail links
//! to. The same answer whether or not the address has an account.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::error::PageError;
use crate::http::extract::{CsrfForm, client_ip, screen_form};
use crate::http::pages;
use crate::login::{magic_link, password_reset};
use crate::oauth::redirect::safe_return_to;
use crate::ratelimit::{self, Family};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/login/magic", web::get().to(magic_form))
        .route("/login/magic", web::post().to(magic_submit))
        .route("/forgot-password", web::get().to(forgot_form))
        .route("/forgot-password", web::post().to(forgot_submit))
        .route("/reset-password", web::get().to(reset_form))
        .route("/reset-password", web::post().to(reset_submit));
}

#[derive(Deserialize)]
struct ReturnTo {
    return_to: Option<String>,
}

async fn magic_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<ReturnTo>,
) -> HttpResponse {
    let return_to = safe_return_to(query.return_to.as_deref()).unwrap_or_default();
    pages::form(&req, &state, 200, |csrf| {
        pages::render(&pages::MagicLink {
            csrf_token: csrf,
            return_to: &return_to,
            return_query: pages::return_query(&return_to),
        })
    })
}

#[derive(Deserialize)]
struct EmailForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    csrf_token: String,
    return_to: Option<String>,
}

screen_form!(EmailForm { email: Email });

/// Limits a mail-sending form by address and account, answering with a page.
fn limit_page(
    req: &HttpRequest,
    state: &AppState,
    family: Family,
    email: &str,
) -> Result<(), PageError> {
    let keys = [
        ratelimit::ip_key(&client_ip(req)),
        ratelimit::account_key(email),
    ];
    Ok(state.limit(family, &keys)?)
}

/// The same page whether or not the address has an account.
fn check_your_mail() -> HttpResponse {
    pages::message(
        "Check your email",
        "If the address can sign in here, a link is on its way.",
    )
}

async fn magic_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<EmailForm>,
) -> Result<HttpResponse, PageError> {
    limit_page(&req, &state, Family::MagicLink, &form.email)?;
    magic_link::request(&state, &form.email, form.return_to.as_deref()).await?;
    Ok(check_your_mail())
}

async fn forgot_form(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    pages::form(&req, &state, 200, |csrf| {
        pages::render(&pages::Forgot { csrf_token: csrf })
    })
}

async fn forgot_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<EmailForm>,
) -> Result<HttpResponse, PageError> {
    limit_page(&req, &state, Family::Mail, &form.email)?;
    password_reset::request(&state, &form.email).await?;
    Ok(check_your_mail())
}

#[derive(Deserialize)]
struct ResetQuery {
    #[serde(default)]
    token: String,
}

fn render_reset(
    req: &HttpRequest,
    state: &AppState,
    status: u16,
    token: &str,
    error: Option<&str>,
) -> HttpResponse {
    pages::form(req, state, status, |csrf| {
        pages::render(&pages::Reset {
            csrf_token: csrf,
            token,
            error,
        })
    })
}

/// The page the reset mail links to.
async fn reset_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    q: web::Query<ResetQuery>,
) -> HttpResponse {
    render_reset(&req, &state, 200, &q.token, None)
}

#[derive(Deserialize)]
struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf_token: String,
}

screen_form!(ResetForm {
    token: Token,
    password: Password
});

async fn reset_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<ResetForm>,
) -> Result<HttpResponse, PageError> {
    match password_reset::reset(&state, &form.token, &form.password).await {
        Ok(()) => Ok(pages::message(
            "Password changed",
            "Your password is changed and you are signed out everywhere. Sign in with the new password.",
        )),
        Err(e) if e.status < 500 => Ok(render_reset(
            &req,
            &state,
            e.status,
            &form.token,
            Some(&e.message),
        )),
        Err(e) => Err(PageError::from_api(e)),
    }
}
