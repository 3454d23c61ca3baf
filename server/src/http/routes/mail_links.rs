//! The pages that mailed links open (issue 19). Opening a link shows what it
//! will do and to which account, and changes nothing: mail scanners prefetch
//! links, and a link someone else sent must not sign a person in to their
//! account unnoticed (login CSRF). The change happens on the page's POST,
//! which carries a CSRF token. The API's GET links
//! (`verify-email?token=`, `magic-link/verify?token=`) send the browser here.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::error::PageError;
use crate::http::cookies;
use crate::http::extract::{CsrfForm, client_info, current_session, screen_form};
use crate::http::pages::{self, MAGIC_PATH, VERIFY_PATH};
use crate::login::mailbox::{self, Proved};
use crate::login::session::{self, SessionInfo};
use crate::login::{email_verification, magic_link};
use crate::oauth::redirect::safe_return_to;
use crate::state::AppState;

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

screen_form!(LinkForm {});

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
    let return_to = safe_return_to(q.return_to.as_deref()).unwrap_or_default();
    pages::form(req, state, 200, |csrf| {
        pages::render(&pages::ConfirmLink {
            title: page.title,
            lead: page.lead,
            account: page.account,
            notes: page.notes.iter().map(String::as_str).collect(),
            action: page.action,
            token: &q.token,
            return_to: &return_to,
            button: page.button,
            csrf_token: csrf,
        })
    })
}

/// Sends the browser on with the cookie of the session a mail link just
/// started: to `return_to` (or the second-factor screen first), else to
/// `fallback`.
fn signed_in(
    state: &AppState,
    (token, info): (String, SessionInfo),
    return_to: Option<&str>,
    fallback: impl FnOnce() -> HttpResponse,
) -> Result<HttpResponse, PageError> {
    let res = match (info.pending(), return_to) {
        (true, to) => pages::see_other(&pages::second_factor_path(to.unwrap_or("/"))),
        (false, Some(to)) => pages::see_other(to),
        (false, None) => fallback(),
    };
    pages::with_cookie(res, &cookies::session(&state.settings, token))
}

/// A verification link of an account verified already: it signs no one in
/// (a link someone else sent must not sign this browser in to their account).
fn already_confirmed() -> HttpResponse {
    pages::message(
        "Address already confirmed",
        "This address is already confirmed. Sign in to continue.",
    )
}

/// `GET /verify-email?token=…`: names the address and says what confirming
/// does from this browser.
async fn verify_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    q: web::Query<LinkQuery>,
) -> Result<HttpResponse, PageError> {
    let Some(user) = email_verification::peek(&state, &q.token).await? else {
        return Err(PageError::bad_request(USED_LINK));
    };
    if user.email_verified {
        return Ok(already_confirmed());
    }
    let current = current_session(&req).await?;
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
async fn verify_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<LinkForm>,
) -> Result<HttpResponse, PageError> {
    let current = current_session(&req).await?;
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
            Some(to) => pages::see_other(&to),
            None => pages::message(
                "Email verified",
                "Your address is confirmed. You can close this page.",
            ),
        });
    }
    let started = session::start(&state, user, &[magic_link::AMR], client_info(&req)).await?;
    signed_in(&state, started, return_to.as_deref(), || {
        pages::message(
            "Email verified",
            "Your address is confirmed and you are signed in. Whatever was set up on the \
             account before (a password, passkeys, a second factor) was removed: to sign in \
             with a password, choose one with \"Forgot your password?\".",
        )
    })
}

/// `GET /login/magic/confirm?token=…`: names the account the link signs in to.
async fn magic_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    q: web::Query<LinkQuery>,
) -> Result<HttpResponse, PageError> {
    let Some(email) = magic_link::peek(&state, &q.token).await? else {
        return Err(PageError::bad_request(USED_MAGIC_LINK));
    };
    let current = current_session(&req).await?;
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
async fn magic_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<LinkForm>,
) -> Result<HttpResponse, PageError> {
    let Some(user) = magic_link::verify(&state, &form.token).await? else {
        return Err(PageError::bad_request(USED_MAGIC_LINK));
    };
    let return_to = safe_return_to(form.return_to.as_deref());
    let started = session::start(&state, user, &[magic_link::AMR], client_info(&req)).await?;
    signed_in(&state, started, return_to.as_deref(), || {
        pages::see_other("/")
    })
}
