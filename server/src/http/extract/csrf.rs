//! Cross-site request checks: the origin a state-changing request comes
//! from, and the CSRF token a screen's form carries.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::{LocalBoxFuture, Ready, ready};
use serde::de::DeserializeOwned;
use url::Url;

use super::{session_token, state};
use crate::error::{ApiError, PageError};
use crate::http::body::{PageBody, SCREEN_FORM};
use crate::http::cookies;
use crate::http::fields::{self, Bounded};
use crate::state::AppState;
use crate::tokens::opaque;

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

/// A first-party API call from a trusted origin. Cookie-authenticated (and
/// cookie-setting) calls must come from one: a cross-site page must not sign
/// a visitor in or out. Refused with `403 INVALID_ORIGIN`.
pub struct TrustedOrigin;

impl FromRequest for TrustedOrigin {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match state(req) {
            Ok(state) if origin_allowed(req, &state) => Ok(TrustedOrigin),
            Ok(_) => Err(ApiError::forbidden(
                "INVALID_ORIGIN",
                "This origin is not allowed.",
            )),
            Err(e) => Err(e.into()),
        })
    }
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
fn csrf_valid(req: &HttpRequest, state: &AppState, submitted: &str) -> bool {
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

/// A form a screen posts: where its CSRF token is (its bounded fields come
/// from [`Bounded`]).
pub trait ScreenForm: DeserializeOwned + Bounded + 'static {
    fn csrf_token(&self) -> &str;
}

/// `screen_form!(Form { field: Kind, … })`: a form whose token is its
/// `csrf_token` field, with these fields bounded ([`bounded!`]).
macro_rules! screen_form {
    ($form:ty { $($field:ident: $kind:ident),* $(,)? }) => {
        $crate::http::fields::bounded!($form { $($field: $kind),* });
        impl $crate::http::extract::ScreenForm for $form {
            fn csrf_token(&self) -> &str {
                &self.csrf_token
            }
        }
    };
}
pub(crate) use screen_form;

/// A form without declared fields, as its pairs in order.
impl Bounded for Vec<(String, String)> {}

impl ScreenForm for Vec<(String, String)> {
    fn csrf_token(&self) -> &str {
        self.iter()
            .find(|(k, _)| k == "csrf_token")
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}

/// A screen's form, checked in this order: the body within
/// [`SCREEN_FORM`], the form complete, its fields within their bounds (a
/// `400` page), then posted from a trusted origin with a valid CSRF token
/// (a `403` page).
pub struct CsrfForm<T>(pub T);

impl<T: ScreenForm> FromRequest for CsrfForm<T> {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = PageBody::<SCREEN_FORM>::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let form: T = serde_urlencoded::from_bytes(&body.await?.0).map_err(|_| {
                PageError::bad_request("The form was incomplete. Go back and try again.")
            })?;
            fields::check(&form.fields())?;
            let state = state(&req)?;
            if !origin_allowed(&req, &state) {
                return Err(PageError::forbidden(
                    "This form was submitted from another site.",
                ));
            }
            if !csrf_valid(&req, &state, form.csrf_token()) {
                return Err(PageError::forbidden(
                    "This form has expired. Go back, reload the page and try again.",
                ));
            }
            Ok(CsrfForm(form))
        })
    }
}
