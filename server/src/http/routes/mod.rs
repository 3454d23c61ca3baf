//! Route registration: each module registers its own.

pub mod api;
pub mod authorize;
pub mod device;
pub mod factors;
pub mod oauth;
pub mod ops;
pub mod registration;
pub mod screens;

use actix_web::HttpResponseBuilder;
use actix_web::http::header;
use actix_web::web::ServiceConfig;

/// Marks an answer as not to be cached (tokens, secrets, sessions).
pub(crate) fn no_store(res: &mut HttpResponseBuilder) -> &mut HttpResponseBuilder {
    res.insert_header((header::CACHE_CONTROL, "no-store"))
}

/// `no-store`, plus `Pragma: no-cache` for HTTP/1.0 caches (the OAuth
/// endpoints' answers, RFC 6749 §5.1, RFC 7591 §3.2.1).
pub(crate) fn uncached(res: &mut HttpResponseBuilder) -> &mut HttpResponseBuilder {
    no_store(res).insert_header((header::PRAGMA, "no-cache"))
}

pub fn configure(cfg: &mut ServiceConfig) {
    ops::configure(cfg);
    oauth::configure(cfg);
    authorize::configure(cfg);
    device::configure(cfg);
    registration::configure(cfg);
    api::configure(cfg);
    screens::configure(cfg);
}
