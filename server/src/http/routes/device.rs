//! The `/device` screens (RFC 8628 §3.3, CONTRACT §5): enter the code, sign
//! in if needed, compare and approve, done.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::domain::scope::Scopes;
use crate::error::PageError;
use crate::http::extract::{CsrfForm, CurrentSession, client_ip, csrf_token, screen_form};
use crate::http::fields::{self, Field};
use crate::http::pages::{self, html, see_other};
use crate::login::session::SessionInfo;
use crate::oauth::authorize::describe_scope;
use crate::oauth::device;
use crate::ratelimit::{Family, RetryAfter};
use crate::state::AppState;
use crate::store;
use crate::store::counters::Budget;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/device", web::get().to(show))
        .route("/device", web::post().to(submit));
}

#[derive(Deserialize)]
struct Query {
    user_code: Option<String>,
}

fn entry(
    req: &HttpRequest,
    state: &AppState,
    status: u16,
    code: &str,
    error: Option<&str>,
) -> HttpResponse {
    pages::form(req, state, status, |csrf| {
        pages::render(&pages::DeviceEntry {
            csrf_token: csrf,
            user_code: code,
            error,
        })
    })
}

/// Wrong user codes one account may type per hour, counted in the database
/// (so on every instance together, whatever its sessions and addresses).
const WRONG_CODES_PER_HOUR: Budget = Budget {
    limit: 30,
    window: 3600,
};

fn wrong_codes_key(session: &SessionInfo) -> String {
    format!("device-code:{}", session.user.id)
}

/// Guessing 34 bits must be hopeless: every lookup costs a token from the
/// address's, the session's and the account's buckets, and takes a place in
/// the account's hourly budget before the code is looked up (given back when
/// the code is right).
async fn limit(
    req: &HttpRequest,
    state: &AppState,
    session: &SessionInfo,
) -> Result<(), PageError> {
    let ip = client_ip(req);
    state.limit(
        Family::DeviceCode,
        &[
            crate::ratelimit::ip_key(&ip),
            format!("session:{}", session.session.id),
            crate::ratelimit::account_key(session.user.id.as_str()),
        ],
    )?;
    let key = wrong_codes_key(session);
    match store::counters::take(&state.db, &key, WRONG_CODES_PER_HOUR, state.now()).await? {
        None => Ok(()),
        Some(wait) => Err(RetryAfter(wait as u64).into()),
    }
}

/// A code that found its authorization does not count against the budget.
async fn right_code(state: &AppState, session: &SessionInfo) -> Result<(), PageError> {
    Ok(store::counters::refund(&state.db, &wrong_codes_key(session), state.now()).await?)
}

async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<Query>,
    current: CurrentSession,
) -> Result<HttpResponse, PageError> {
    let typed = query.user_code.clone().unwrap_or_default();
    fields::check(&[(Field::Code, &typed)])?;
    let Some(session) = current.0 else {
        let back = if typed.is_empty() {
            "/device".to_string()
        } else {
            format!(
                "/device?{}",
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("user_code", &typed)
                    .finish()
            )
        };
        let return_to: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("return_to", &back)
            .finish();
        return Ok(see_other(&format!("/login?{return_to}")));
    };
    if typed.is_empty() {
        return Ok(entry(&req, &state, 200, "", None));
    }
    approval(&req, &state, &session, &typed).await
}

/// Looks the code up and shows the approval screen, or the entry form again.
async fn approval(
    req: &HttpRequest,
    state: &AppState,
    session: &SessionInfo,
    typed: &str,
) -> Result<HttpResponse, PageError> {
    limit(req, state, session).await?;
    let Some(request) = device::lookup(state, typed).await? else {
        return Ok(entry(
            req,
            state,
            400,
            typed,
            Some("That code is not valid or has expired. Check your device."),
        ));
    };
    right_code(state, session).await?;
    let client = &request.client;
    let code = state.user_codes.code(request.user_code_seq()).display();
    let (csrf, cookie) = csrf_token(req, state);
    let resources = Scopes::parse(request.resources()).into_vec();
    // No redirect on this flow: the answer goes to the device, so no host is
    // named, and the client's self-asserted client_uri is not shown as one.
    let name = client.display_name();
    let published_by = client.published_by();
    let page = pages::Consent {
        client_name: &name,
        destination: None,
        verified: client.is_verified(),
        published_by: published_by.as_deref(),
        issuer: &state.settings.issuer,
        email: &session.user.email,
        scopes: Scopes::parse(request.scope())
            .iter()
            .map(|s| describe_scope(s))
            .collect(),
        resources: &resources,
        action: "/device",
        id_field: "user_code",
        id_value: &code,
        csrf_token: &csrf,
        user_code: Some(&code),
    };
    Ok(html(200, pages::render(&page), cookie))
}

#[derive(Deserialize)]
struct Form {
    #[serde(default)]
    user_code: String,
    #[serde(default)]
    csrf_token: String,
    decision: Option<String>,
}

screen_form!(Form { user_code: Code });

async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    current: CurrentSession,
    CsrfForm(form): CsrfForm<Form>,
) -> Result<HttpResponse, PageError> {
    let Some(session) = current.0 else {
        return Ok(see_other("/login?return_to=%2Fdevice"));
    };
    let allow = match form.decision.as_deref() {
        None => return approval(&req, &state, &session, &form.user_code).await,
        Some("allow") => true,
        Some("deny") => false,
        Some(_) => return Err(PageError::bad_request("Choose Allow or Deny.")),
    };
    limit(&req, &state, &session).await?;
    let Some(request) = device::lookup(&state, &form.user_code).await? else {
        return Ok(entry(
            &req,
            &state,
            400,
            &form.user_code,
            Some("That code is not valid or has expired. Check your device."),
        ));
    };
    right_code(&state, &session).await?;
    if !device::answer(&state, request, &session, allow).await? {
        return Err(PageError::bad_request(
            "This code was already answered or has expired.",
        ));
    }
    let (title, message) = if allow {
        ("Device connected", "You can return to your device now.")
    } else {
        (
            "Request denied",
            "The device was not given access. You can close this page.",
        )
    };
    Ok(pages::message(title, message))
}
