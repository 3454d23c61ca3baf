//! Request-side helpers: the current session, the client's address, origin
//! checks and CSRF tokens.

use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use url::Url;

use crate::error::{ApiError, Error};
use crate::http::{client_addr, cookies};
use crate::login::session::{self, ClientInfo, SessionInfo};
use crate::state::AppState;
use crate::tokens::opaque;

pub fn state(req: &HttpRequest) -> Result<AppState, Error> {
    req.app_data::<web::Data<AppState>>()
        .map(|d| d.get_ref().clone())
        .ok_or_else(|| Error::internal("app state missing"))
}

/// The session behind the request's cookie, if it is live.
pub struct CurrentSession(pub Option<Arc<SessionInfo>>);

impl FromRequest for CurrentSession {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state(&req)?;
            let Some(token) = session_token(&req, &state) else {
                return Ok(CurrentSession(None));
            };
            Ok(CurrentSession(session::lookup(&state, &token).await?))
        })
    }
}

pub fn session_token(req: &HttpRequest, state: &AppState) -> Option<String> {
    req.cookie(&cookies::session_name(&state.settings))
        .map(|c| c.value().to_string())
        .filter(|v| !v.is_empty())
}

/// Address and user agent, for the session row and the rate limits. The
/// address is [`client_addr::client_ip`]'s: a forwarding header counts only
/// from a configured trusted proxy.
pub fn client_info(req: &HttpRequest) -> ClientInfo {
    ClientInfo {
        ip: client_addr::client_ip(req).map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    }
}

/// `scheme://host[:port]` of a URL, as browsers send it in `Origin`.
fn origin_of(url: &str) -> Option<String> {
    Url::parse(url)
        .ok()
        .map(|u| u.origin().ascii_serialization())
}

/// Whether a state-changing browser request may proceed: with no `Origin`
/// header (non-browser clients, old browsers) the CSRF token decides; with one,
/// it must be this issuer's origin, a configured trusted origin, or — only when
/// the issuer itself is on localhost — a localhost origin.
pub fn origin_allowed(req: &HttpRequest, state: &AppState) -> bool {
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    let settings = &state.settings;
    if origin_of(&settings.issuer).as_deref() == Some(origin) {
        return true;
    }
    if settings
        .auth_allowed_origins
        .iter()
        .any(|o| origin_of(o).as_deref() == Some(origin))
    {
        return true;
    }
    let is_local = |u: &str| {
        Url::parse(u)
            .ok()
            .is_some_and(|u| crate::oauth::redirect::is_loopback(&u))
    };
    is_local(&settings.issuer) && is_local(origin)
}

/// The CSRF token a form on this request must carry, and the cookie to set if
/// the browser has none yet. With a session it is derived from the session
/// token (so it is bound to it); before sign-in it is a double-submit cookie.
pub fn csrf_token(
    req: &HttpRequest,
    state: &AppState,
) -> (String, Option<actix_web::cookie::Cookie<'static>>) {
    if let Some(t) = session_token(req, state) {
        return (derive_csrf(&t), None);
    }
    if let Some(c) = req
        .cookie(&cookies::csrf_name(&state.settings))
        .filter(|c| c.value().len() >= 32)
    {
        return (c.value().to_string(), None);
    }
    let fresh = opaque::new_secret();
    (fresh.clone(), Some(cookies::csrf(&state.settings, fresh)))
}

fn derive_csrf(session_token: &str) -> String {
    opaque::hash_secret(&format!("csrf:{session_token}"))
}

/// Whether a submitted CSRF token is valid for this request.
pub fn csrf_valid(req: &HttpRequest, state: &AppState, submitted: &str) -> bool {
    if submitted.is_empty() {
        return false;
    }
    if let Some(t) = session_token(req, state)
        && opaque::constant_time_eq(&derive_csrf(&t), submitted)
    {
        return true;
    }
    req.cookie(&cookies::csrf_name(&state.settings))
        .is_some_and(|c| c.value().len() >= 32 && opaque::constant_time_eq(c.value(), submitted))
}
