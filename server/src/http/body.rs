//! Request bodies read up to a per-endpoint cap, with a quick spec-shaped
//! refusal of anything larger: `413` with RFC 6749 `invalid_request` at the
//! OAuth endpoints, a readable page on the screens, `{code,message}` on the
//! first-party API. Every endpoint that reads a body names its cap here, so
//! no endpoint reads an unbounded one (README, "Request limits").

use actix_web::dev::Payload;
use actix_web::error::{InternalError, JsonPayloadError};
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, ResponseError, web};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;

use crate::error::{ApiError, OAuthError, PageError};

/// Token, introspection, revocation, device authorization and userinfo
/// forms: a handful of short parameters (the longest, a client assertion or
/// an access token, is a few hundred bytes to 2 KiB).
pub const OAUTH_FORM: usize = 8 * 1024;
/// `POST /oauth2/authorize`: the query of a GET authorization request, posted.
pub const AUTHORIZE_FORM: usize = 16 * 1024;
/// Dynamic registration (RFC 7591): up to 20 redirect and 20 logout URIs of
/// 2 KiB each, and inline keys.
pub const REGISTRATION_JSON: usize = 64 * 1024;
/// The screens' forms: an email, a password, a code, a CSRF token.
pub const SCREEN_FORM: usize = 8 * 1024;
/// The first-party JSON API, except passkey ceremonies.
pub const API_JSON: usize = 16 * 1024;
/// A WebAuthn credential: an attestation may carry a certificate chain.
pub const PASSKEY_JSON: usize = 64 * 1024;

/// Parameters an OAuth form may carry: the most any request here needs is
/// about a dozen, plus repeated `resource`s.
pub const MAX_FORM_PARAMS: usize = 64;

/// Why a body was not read.
#[derive(Debug)]
pub enum Refused {
    /// Longer than the endpoint's cap (declared or seen).
    TooLarge(usize),
    /// The connection broke or the encoding was bad.
    Unreadable,
}

/// Reads the body, refusing it as soon as it is known to exceed `limit`: a
/// declared `Content-Length` over the cap is refused before a byte is read.
pub async fn read_capped(
    req: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
) -> Result<Bytes, Refused> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(Refused::TooLarge(limit));
    }
    let mut body = BytesMut::with_capacity(declared.unwrap_or(0));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| Refused::Unreadable)?;
        if body.len() + chunk.len() > limit {
            return Err(Refused::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// What a refused body is answered with at an OAuth endpoint: RFC 6749
/// §5.2 `invalid_request`, with `413` when it was too large.
pub fn oauth_refusal(refused: Refused) -> actix_web::Error {
    let (error, status) = match refused {
        Refused::TooLarge(limit) => (
            OAuthError::invalid_request(format!("the request body is larger than {limit} bytes")),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        Refused::Unreadable => (
            OAuthError::invalid_request("the request body could not be read"),
            StatusCode::BAD_REQUEST,
        ),
    };
    let mut res = error.error_response();
    *res.status_mut() = status;
    InternalError::from_response(error, res).into()
}

/// What a refused body is answered with on a screen.
pub fn page_refusal(refused: Refused) -> PageError {
    match refused {
        Refused::TooLarge(_) => PageError::new(
            413,
            "Too much data",
            "This form carried more than it can. Go back and try again.",
        ),
        Refused::Unreadable => {
            PageError::bad_request("The form could not be read. Go back and try again.")
        }
    }
}

/// An extractor's future: the body read up to `limit`, wrapped by `done`, or
/// the refusal in the endpoint's own shape.
fn capped<T: 'static, E: 'static>(
    req: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
    done: fn(Bytes) -> T,
    refuse: fn(Refused) -> E,
) -> LocalBoxFuture<'static, Result<T, E>> {
    let req = req.clone();
    let mut payload = payload.take();
    Box::pin(async move {
        read_capped(&req, &mut payload, limit)
            .await
            .map(done)
            .map_err(refuse)
    })
}

/// The body of a form (or JSON document) posted to an OAuth endpoint, at most
/// `LIMIT` bytes.
pub struct OAuthBody<const LIMIT: usize>(pub Bytes);

impl<const LIMIT: usize> FromRequest for OAuthBody<LIMIT> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        capped(req, payload, LIMIT, OAuthBody, oauth_refusal)
    }
}

/// The body of a form posted from a screen, at most `LIMIT` bytes.
pub struct PageBody<const LIMIT: usize>(pub Bytes);

impl<const LIMIT: usize> FromRequest for PageBody<LIMIT> {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        capped(req, payload, LIMIT, PageBody, page_refusal)
    }
}

/// JSON bodies of the first-party API, at most `limit` bytes: too large is
/// `413 PAYLOAD_TOO_LARGE`, anything else unreadable `400
/// INVALID_REQUEST_BODY` (serde_json also refuses nesting deeper than 128).
pub fn api_json(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|err, _| api_json_refusal(err).into())
}

fn api_json_refusal(err: JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::OverflowKnownLength { limit, .. }
        | JsonPayloadError::Overflow { limit } => ApiError::new(
            413,
            "PAYLOAD_TOO_LARGE",
            format!("The request body is larger than {limit} bytes."),
        ),
        err => ApiError::bad_request(
            "INVALID_REQUEST_BODY",
            format!("The request body is not valid JSON for this endpoint: {err}"),
        ),
    }
}
