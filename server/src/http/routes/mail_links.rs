//! The pages that mailed links open (issue 19). Opening a link shows what it
//! will do and to which account, and changes nothing: mail scanners prefetch
//! links, and a link someone else sent must not sign a person in to their
//! account unnoticed (login CSRF). The change happens on the page's POST,
//! which carries a CSRF token. The API's GET links
//! (`verify-email?token=`, `magic-link/verify?token=`) send the browser here.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::screens::{check_form, html, parse_form, second_factor_path, see_other};
use crate::error::PageError;
use crate::http::extract::{client_info, csrf_token, session_token, state as app_state};
use crate::http::{cookies, pages};
use crate::login::mailbox::{self, Proved};
use crate::login::session::{self, SessionInfo};
use crate::login::{email_verification, magic_link};
use crate::oauth::redirect::safe_return_to;
use crate::state::AppState;

/// The verification link's confirm page.
pub const VERIFY_PATH: &str = "/verify-email";
/// The magic link's confirm page.
pub const MAGIC_PATH: &str = "/login/magic/confirm";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(VERIFY_PATH, web::get().to(verify_page))
        .route(VERIFY_PATH, web::post().to(verify_submit))
        .route(MAGIC_PATH, web::get().to(magic_page))
        .route(MAGIC_PATH, web::post().to(magic_submit));
}

const USED_LINK: &str = "This link is invalid, expired or already used.";
/// Confirming a link that signs in (a magic link, or a verification link
/// that takes an account back) from a mail someone else sent signs the
/// browser in to their account.
const SOMEONE_ELSES_LINK: &str = "Continue only if you asked for this link and this is your \
     address: a link someone else sent you signs you in to their account.";
const USED_MAGIC_LINK: &str =
    "This sign-in link is invalid, expired or already used. Ask for a new one.";

/// `<path>?token=…[&return_to=…]`: a confirm page, as the API's links
/// redirect to it.
pub fn page_path(path: &str, token: &str, return_to: Option<&str>) -> String {
    let mut query = vec![("token", token)];
    if let Some(to) = return_to {
        query.push(("return_to", to));
    }
    format!(
        "{path}?{}",
        serde_urlencoded::to_string(query).unwrap_or_default()
    )
}

#[derive(Deserialize)]
struct LinkQuery {
    #[serde(default)]
    token: String,
    return_to: Option<String>,
}

#[derive(Deserialize)]
struct LinkForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    csrf_token: String,
    return_to: Option<String>,
}

/// The browser's fully signed-in session, if any.
async fn signed_in(
    req: &HttpRequest,
    state: &AppState,
) -> Result<Option<Arc<SessionInfo>>, PageError> {
    match session_token(req, state) {
        Some(t) => Ok(session::lookup(state, &t).await?),
        None => Ok(None),
    }
}

/// A note when the browser is signed in to another account than the link's.
fn switching_note(current: Option<&SessionInfo>, email: &str) -> Option<String> {
    current.filter(|s| s.user.email != email).map(|s| {
        format!(
            "This browser is signed in as {}. Continuing signs it in as {email} instead.",
            s.user.email
        )
    })
}

struct Confirm<'a> {
    title: &'a str,
    lead: &'a str,
    account: &'a str,
    notes: Vec<String>,
    action: &'a str,
    button: &'a str,
}

fn render(req: &HttpRequest, state: &AppState, q: &LinkQuery, page: Confirm) -> HttpResponse {
    let (csrf, cookie) = csrf_token(req, state);
    let return_to = safe_return_to(q.return_to.as_deref()).unwrap_or_default();
    let body = pages::render(&pages::ConfirmLink {
        title: page.title,
        lead: page.lead,
        account: page.account,
        notes: page.notes.iter().map(String::as_str).collect(),
        action: page.action,
        token: &q.token,
        return_to: &return_to,
        button: page.button,
        csrf_token: &csrf,
    });
    html(200, body, cookie)
}

/// Starts a session for `user` from a mail link and sends the browser on:
/// to `return_to` (or the second-factor screen first), else to `fallback`.
async fn sign_in(
    req: &HttpRequest,
    state: &AppState,
    user: entities::users::Model,
    return_to: Option<&str>,
    fallback: impl FnOnce() -> HttpResponse,
) -> Result<HttpResponse, PageError> {
    let (token, info) = session::start(state, user, &[magic_link::AMR], client_info(req)).await?;
    let mut res = match (info.pending(), return_to) {
        (true, to) => see_other(&second_factor_path(to.unwrap_or("/"))),
        (false, Some(to)) => see_other(to),
        (false, None) => fallback(),
    };
    res.add_cookie(&cookies::session(&state.settings, token))
        .map_err(|_| PageError::bad_request("cookie"))?;
    Ok(res)
}

fn message(title: &str, message: &str) -> HttpResponse {
    html(200, pages::render(&pages::Message { title, message }), None)
}

/// A verification link of an account verified already: it signs no one in
/// (a link someone else sent must not sign this browser in to their account).
fn already_confirmed() -> HttpResponse {
    message(
        "Address already confirmed",
        "This address is already confirmed. Sign in to continue.",
    )
}

/// `GET /verify-email?token=…`: names the address and says what confirming
/// does from this browser.
async fn verify_page(
    req: HttpRequest,
    q: web::Query<LinkQuery>,
) -> Result<HttpResponse, PageError> {
    let state = app_state(&req)?;
    let Some(user) = email_verification::peek(&state, &q.token).await? else {
        return Err(PageError::bad_request(USED_LINK));
    };
    if user.email_verified {
        return Ok(already_confirmed());
    }
    let current = signed_in(&req, &state).await?;
    let mut notes = Vec::new();
    if !mailbox::by_creator(&user, current.as_deref()) {
        notes.push(SOMEONE_ELSES_LINK.to_string());
        notes.push(
            "This browser did not create the account. Confirming proves the address is yours: \
             any password, passkey or second factor set on the account is removed and its \
             sessions end, then you are signed in here. Created the account yourself? Open the \
             link in the browser you signed up in to keep your password."
                .to_string(),
        );
    }
    notes.extend(switching_note(current.as_deref(), &user.email));
    Ok(render(
        &req,
        &state,
        &q,
        Confirm {
            title: "Confirm your email address",
            lead: "Confirm that this address is yours:",
            account: &user.email,
            notes,
            action: VERIFY_PATH,
            button: "Confirm my address",
        },
    ))
}

/// `POST /verify-email`: proves the mailbox (`login::mailbox`).
async fn verify_submit(req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, PageError> {
    let state = app_state(&req)?;
    let form: LinkForm = parse_form(&body)?;
    check_form(&req, &state, &form.csrf_token)?;
    let current = signed_in(&req, &state).await?;
    let Some((user, proved)) =
        email_verification::confirm(&state, &form.token, current.as_deref()).await?
    else {
        return Err(PageError::bad_request(USED_LINK));
    };
    if proved == Proved::AlreadyVerified {
        return Ok(already_confirmed());
    }
    let return_to = safe_return_to(form.return_to.as_deref());
    if !proved.signs_in() {
        return Ok(match return_to {
            Some(to) => see_other(&to),
            None => message(
                "Email verified",
                "Your address is confirmed. You can close this page.",
            ),
        });
    }
    sign_in(&req, &state, user, return_to.as_deref(), || {
        message(
            "Email verified",
            "Your address is confirmed and you are signed in. Whatever was set up on the \
             account before (a password, passkeys, a second factor) was removed: to sign in \
             with a password, choose one with \"Forgot your password?\".",
        )
    })
    .await
}

/// `GET /login/magic/confirm?token=…`: names the account the link signs in to.
async fn magic_page(req: HttpRequest, q: web::Query<LinkQuery>) -> Result<HttpResponse, PageError> {
    let state = app_state(&req)?;
    let Some(email) = magic_link::peek(&state, &q.token).await? else {
        return Err(PageError::bad_request(USED_MAGIC_LINK));
    };
    let current = signed_in(&req, &state).await?;
    let mut notes = vec![SOMEONE_ELSES_LINK.to_string()];
    notes.extend(switching_note(current.as_deref(), &email));
    Ok(render(
        &req,
        &state,
        &q,
        Confirm {
            title: "Sign in to Portcullis",
            lead: "You are about to sign in as:",
            account: &email,
            notes,
            action: MAGIC_PATH,
            button: "Sign in",
        },
    ))
}

/// `POST /login/magic/confirm`: uses the link and signs in.
async fn magic_submit(req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, PageError> {
    let state = app_state(&req)?;
    let form: LinkForm = parse_form(&body)?;
    check_form(&req, &state, &form.csrf_token)?;
    let Some(user) = magic_link::verify(&state, &form.token).await? else {
        return Err(PageError::bad_request(USED_MAGIC_LINK));
    };
    let return_to = safe_return_to(form.return_to.as_deref());
    sign_in(&req, &state, user, return_to.as_deref(), || see_other("/")).await
}
