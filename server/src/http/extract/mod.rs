//! Extractors: what a handler needs from the request, checked before it runs
//! and refused in the endpoint's own shape. The session behind the cookie
//! ([`CurrentSession`], [`AnySession`], [`SignedIn`], [`SigningIn`]), a
//! trusted origin for the JSON API ([`TrustedOrigin`]), an API body with its
//! fields in bounds ([`ApiJson`], and [`SignedJson`] with the session after it) and a CSRF-checked screen form
//! ([`CsrfForm`]). Handlers take the app state as
//! `web::Data<AppState>`; extractors reach it through [`state`].

mod csrf;
mod json;
mod session;

pub(crate) use csrf::screen_form;
pub use csrf::{CsrfForm, ScreenForm, TrustedOrigin, csrf_token, origin_allowed};
pub use json::{ApiJson, SignedJson};
pub use session::{
    AnySession, CurrentSession, SignedIn, SigningIn, current_session, session_token,
};

use actix_web::http::header;
use actix_web::{HttpRequest, web};

use crate::error::Error;
use crate::http::client_addr;
use crate::login::session::ClientInfo;
use crate::state::AppState;

/// The app state, as extractors (which get only the request) reach it.
pub(crate) fn state(req: &HttpRequest) -> Result<AppState, Error> {
    req.app_data::<web::Data<AppState>>()
        .map(|d| d.get_ref().clone())
        .ok_or_else(|| Error::internal("app state missing"))
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

/// The client's address as the rate limits key it (empty when unknown).
pub fn client_ip(req: &HttpRequest) -> String {
    client_info(req).ip.unwrap_or_default()
}
