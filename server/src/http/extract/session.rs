//! The session behind the request's cookie: optional for the screens (each
//! decides where a signed-out visitor goes), required for the JSON API (a
//! `401 UNAUTHORIZED` `{code,message}` before the handler runs).

use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use super::state;
use crate::error::{ApiError, Error, PageError};
use crate::http::cookies;
use crate::login::session::{self, SessionInfo};
use crate::state::AppState;

/// The cookie's value, if the browser sent a non-empty one.
pub fn session_token(req: &HttpRequest, state: &AppState) -> Option<String> {
    req.cookie(&cookies::session_name(&state.settings))
        .map(|c| c.value().to_string())
        .filter(|v| !v.is_empty())
}

/// The live session behind the cookie: fully signed in, or (`pending`) also
/// one that still owes a second factor.
async fn lookup(req: HttpRequest, pending: bool) -> Result<Option<Arc<SessionInfo>>, Error> {
    let state = state(&req)?;
    let Some(token) = session_token(&req, &state) else {
        return Ok(None);
    };
    Ok(if pending {
        session::lookup_any(&state, &token).await?
    } else {
        session::lookup(&state, &token).await?
    })
}

/// The fully signed-in session behind the cookie, looked up where a handler
/// needs it rather than before it runs (the mail-link pages read it only
/// once the link or the form checked out).
pub async fn current_session(req: &HttpRequest) -> Result<Option<Arc<SessionInfo>>, Error> {
    lookup(req.clone(), false).await
}

/// An extractor's future: the session looked up, then handed to `done`.
fn extract<T: 'static, E: From<Error> + 'static>(
    req: &HttpRequest,
    pending: bool,
    done: fn(Option<Arc<SessionInfo>>) -> Result<T, E>,
) -> LocalBoxFuture<'static, Result<T, E>> {
    let req = req.clone();
    Box::pin(async move { done(lookup(req, pending).await?) })
}

/// The fully signed-in session behind the cookie, if there is one.
pub struct CurrentSession(pub Option<Arc<SessionInfo>>);

impl FromRequest for CurrentSession {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        extract(req, false, |s| Ok(CurrentSession(s)))
    }
}

/// The session behind the cookie, pending (a second factor owed) or full:
/// what the second-factor screen works on (a failed lookup is a page).
pub struct AnySession(pub Option<Arc<SessionInfo>>);

impl FromRequest for AnySession {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        extract(req, true, |s| Ok(AnySession(s)))
    }
}

/// The signed-in person an API call acts for; without a full session the
/// call is refused with `401 UNAUTHORIZED`.
pub struct SignedIn(pub Arc<SessionInfo>);

impl FromRequest for SignedIn {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        extract(req, false, |s| required(s).map(SignedIn))
    }
}

/// [`SignedIn`] for the second-factor check, which also completes a sign-in
/// that is still pending.
pub struct SigningIn(pub Arc<SessionInfo>);

impl FromRequest for SigningIn {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        extract(req, true, |s| required(s).map(SigningIn))
    }
}

/// A session that must be there, or the API's `401`.
fn required(found: Option<Arc<SessionInfo>>) -> Result<Arc<SessionInfo>, ApiError> {
    found.ok_or_else(ApiError::unauthorized)
}
