//! Route registration: each module registers its own.

pub mod api;
pub mod api_mail;
pub mod authorize;
pub mod device;
pub mod email_screens;
pub mod factors;
pub mod mail_links;
pub mod oauth;
pub mod ops;
pub mod registration;
pub mod screens;
pub mod second_factor;

use actix_web::HttpResponseBuilder;
use actix_web::http::header;
use actix_web::web::{self, ServiceConfig};

use crate::http::body;

/// Marks an answer as not to be cached (tokens, secrets, sessions).
pub(crate) fn no_store(res: &mut HttpResponseBuilder) -> &mut HttpResponseBuilder {
    res.insert_header((header::CACHE_CONTROL, "no-store"))
}

/// `no-store`, plus `Pragma: no-cache` for HTTP/1.0 caches (the OAuth
/// endpoints' answers, RFC 6749 §5.1, RFC 7591 §3.2.1).
pub(crate) fn uncached(res: &mut HttpResponseBuilder) -> &mut HttpResponseBuilder {
    no_store(res).insert_header((header::PRAGMA, "no-cache"))
}

/// Lets this worker's other ready requests run before the answer is written,
/// on endpoints that spend tens of microseconds per answer (signing,
/// verifying). Their answers then leave in bursts, and a client thread that
/// sleeps between answers is woken once per burst instead of once per answer.
/// On a virtual machine each such wake-up is an interrupt to the other core
/// that exits to the hypervisor: measured on `client_credentials` at 64
/// connections, 12% of the server's CPU went to it before, 2% after (42 → 34
/// µs per token).
pub(crate) async fn in_turn() {
    tokio::task::yield_now().await;
}

pub fn configure(cfg: &mut ServiceConfig) {
    ops::configure(cfg);
    oauth::configure(cfg);
    authorize::configure(cfg);
    device::configure(cfg);
    registration::configure(cfg);
    // The first-party JSON API: one scope, each resource's routes in it.
    cfg.service(
        web::scope(api::PREFIX)
            .app_data(body::api_json(body::API_JSON))
            .configure(api::configure)
            .configure(api_mail::configure)
            .configure(factors::configure)
            .default_service(web::to(api::not_found)),
    );
    screens::configure(cfg);
    second_factor::configure(cfg);
    email_screens::configure(cfg);
    mail_links::configure(cfg);
}
