//! JSON bodies of the first-party API, their fields within bounds.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::http::fields::{self, Bounded};

/// A JSON body read as `web::Json` reads it (the scope's cap and
/// `{code,message}` refusals, `body::api_json`), then its fields checked
/// against their bounds (`400` with the field's code) before the handler
/// sees them.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + Bounded + 'static> FromRequest for ApiJson<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = web::Json::<T>::from_request(req, payload);
        Box::pin(async move {
            let body = json.await?.into_inner();
            fields::check(&body.fields()).map_err(ApiError::from)?;
            Ok(ApiJson(body))
        })
    }
}

/// A signed-in person's JSON call, checked in the order the API has always
/// answered it: the body read and its fields in bounds first (`400`/`413`),
/// then the session `S` ([`SignedIn`](super::SignedIn) or
/// [`SigningIn`](super::SigningIn), `401`). Two extractors side by side would
/// race instead: a missing cookie would refuse before the body is read, and a
/// stale one would answer whichever failed first.
pub struct SignedJson<S, T>(pub S, pub T);

impl<S, T> FromRequest for SignedJson<S, T>
where
    S: FromRequest<Error = ApiError> + 'static,
    T: DeserializeOwned + Bounded + 'static,
{
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = ApiJson::<T>::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let ApiJson(body) = body.await?;
            let session = S::extract(&req).await?;
            Ok(SignedJson(session, body))
        })
    }
}
