//! The browser side of the code flow: `/oauth2/authorize`, `/oauth2/consent`
//! and `/oauth2/end_session`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::domain::ids::ClientId;
use crate::error::PageError;
use crate::http::body::{AUTHORIZE_FORM, PageBody};
use crate::http::extract::{
    CsrfForm, CurrentSession, client_ip, csrf_token, screen_form, session_token,
};
use crate::http::pages::{html, see_other};
use crate::http::{cookies, form_action, pages};
use crate::login::session::{self, SessionInfo};
use crate::oauth::authorize::{self, Outcome, Params, describe_scope};
use crate::oauth::end_session::{self, LogoutRequest};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/oauth2/authorize", web::get().to(authorize_get))
        .route("/oauth2/authorize", web::post().to(authorize_post))
        .route("/oauth2/consent", web::post().to(consent))
        .route("/oauth2/end_session", web::get().to(end_session_get))
        .route("/oauth2/end_session", web::post().to(end_session_post));
}

async fn authorize_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    current: CurrentSession,
) -> Result<HttpResponse, PageError> {
    // The same cap as the request posted (RFC 6749 §3.1 allows both), before
    // any parsing: a head may be far longer than any real request.
    if req.query_string().len() > AUTHORIZE_FORM {
        return Err(PageError::new(
            414,
            "This request is too long",
            "The authorization request carried more than it can. Go back to the application and try again.",
        ));
    }
    let params = Params::from_pairs(
        url::form_urlencoded::parse(req.query_string().as_bytes())
            .collect::<Vec<_>>()
            .iter()
            .map(|(k, v)| (k.as_ref(), v.as_ref())),
    );
    run(&req, &state, params, current.0.as_deref(), false).await
}

/// RFC 6749 §3.1: the endpoint must also accept POST (form-encoded).
async fn authorize_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    current: CurrentSession,
    body: PageBody<AUTHORIZE_FORM>,
) -> Result<HttpResponse, PageError> {
    let pairs: Vec<_> = url::form_urlencoded::parse(&body.0).collect();
    let params = Params::from_pairs(pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref())));
    run(&req, &state, params, current.0.as_deref(), true).await
}

async fn run(
    req: &HttpRequest,
    state: &AppState,
    params: Params,
    session: Option<&SessionInfo>,
    posted: bool,
) -> Result<HttpResponse, PageError> {
    let mut params = params;
    params.address = Some(client_ip(req));
    let outcome = authorize::decide(state, &params, session).await?;
    // The consent form's answer redirects to the client (see `form_action`).
    let targets = match (&outcome, params.client_id.as_deref()) {
        (Outcome::Consent(_), Some(client_id)) => {
            form_action::authorization_targets(
                state,
                &ClientId::from(client_id),
                params.redirect_uri.as_deref(),
            )
            .await
        }
        _ => Vec::new(),
    };
    let mut res = respond(req, state, outcome, session, posted)?;
    form_action::allow(&mut res, &targets);
    Ok(res)
}

fn respond(
    req: &HttpRequest,
    state: &AppState,
    outcome: Outcome,
    session: Option<&SessionInfo>,
    posted: bool,
) -> Result<HttpResponse, PageError> {
    Ok(match outcome {
        Outcome::Page(p) => return Err(p),
        // A GET is answered with 302 (RFC 6749 §4.1.2); after a form POST, 303
        // makes the browser GET the client's redirect URI.
        Outcome::Redirect(to) if posted => see_other(&to),
        Outcome::Redirect(to) => HttpResponse::Found()
            .insert_header((header::LOCATION, to))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
        Outcome::Login { return_to, force } => {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            q.append_pair("return_to", &return_to);
            if force {
                q.append_pair("prompt", "login");
            }
            see_other(&format!("/login?{}", q.finish()))
        }
        Outcome::SecondFactor { return_to } => see_other(&format!(
            "/login/2fa?{}",
            serde_urlencoded::to_string([("return_to", return_to)]).unwrap_or_default()
        )),
        Outcome::Consent(screen) => {
            let (csrf, cookie) = csrf_token(req, state);
            let email = session.map(|s| s.user.email.as_str()).unwrap_or("");
            let page = pages::Consent {
                client_name: &screen.client_name,
                destination: Some(&screen.destination),
                verified: screen.verified,
                published_by: screen.published_by.as_deref(),
                issuer: &state.settings.issuer,
                email,
                scopes: screen.scopes.iter().map(|s| describe_scope(s)).collect(),
                resources: &screen.resources,
                action: "/oauth2/consent",
                id_field: "consent_id",
                id_value: &screen.request_id,
                csrf_token: &csrf,
                user_code: None,
            };
            html(200, pages::render(&page), cookie)
        }
    })
}

#[derive(Deserialize)]
struct ConsentForm {
    #[serde(default)]
    consent_id: String,
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    decision: String,
}

screen_form!(ConsentForm {});

/// The consent screen's answer (CONTRACT §5).
async fn consent(
    req: HttpRequest,
    state: web::Data<AppState>,
    current: CurrentSession,
    CsrfForm(form): CsrfForm<ConsentForm>,
) -> Result<HttpResponse, PageError> {
    let Some(session) = current.0 else {
        return Err(PageError::forbidden(
            "Your session has ended. Start again from the application.",
        ));
    };
    let allow = match form.decision.as_str() {
        "allow" => true,
        "deny" => false,
        _ => return Err(PageError::bad_request("Choose Allow or Deny.")),
    };
    let outcome = authorize::answer_consent(&state, &form.consent_id, &session, allow).await?;
    respond(&req, &state, outcome, Some(&session), true)
}

fn logout_request(pairs: &[(String, String)]) -> LogoutRequest {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    LogoutRequest {
        id_token_hint: get("id_token_hint"),
        post_logout_redirect_uri: get("post_logout_redirect_uri"),
        state: get("state"),
        client_id: get("client_id"),
    }
}

async fn end_session_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    current: CurrentSession,
) -> Result<HttpResponse, PageError> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    let lr = logout_request(&pairs);
    let plan = end_session::plan(&state, &lr, current.0.as_deref()).await??;
    if !plan.confirm_first {
        return logout_then(&req, &state, plan.redirect).await;
    }
    let (csrf, cookie) = csrf_token(&req, &state);
    let page = pages::LogoutConfirm {
        csrf_token: &csrf,
        signed_in: current.0.is_some(),
        destination: plan.destination.as_deref(),
        client_id: plan.client_id.as_ref().map_or("", ClientId::as_str),
        // Carried on only where it will be followed.
        post_logout_redirect_uri: plan
            .redirect
            .as_ref()
            .and(lr.post_logout_redirect_uri.as_deref())
            .unwrap_or(""),
        state: lr.state.as_deref().unwrap_or(""),
    };
    let mut res = html(200, pages::render(&page), cookie);
    // Confirming redirects to the validated `post_logout_redirect_uri`.
    form_action::allow(&mut res, plan.redirect.as_slice());
    Ok(res)
}

/// The confirmation form's answer.
async fn end_session_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    current: CurrentSession,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    // The person confirmed with a CSRF-checked form: no further question
    // (the plan still decides whether the destination may be used).
    let plan = end_session::plan(&state, &logout_request(&pairs), current.0.as_deref()).await??;
    logout_then(&req, &state, plan.redirect).await
}

async fn logout_then(
    req: &HttpRequest,
    state: &AppState,
    redirect: Option<String>,
) -> Result<HttpResponse, PageError> {
    if let Some(token) = session_token(req, state) {
        session::end(state, &token).await?;
    }
    let mut res = match redirect {
        Some(to) => see_other(&to),
        None => pages::message("Signed out", "You are signed out of Portcullis."),
    };
    res.add_cookie(&cookies::clear_session(&state.settings))
        .map_err(|_| PageError::bad_request("cookie"))?;
    Ok(res)
}
