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
