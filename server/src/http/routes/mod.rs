//! Route registration: each module registers its own.

pub mod api;
pub mod api_mail;
pub mod authorize;
pub mod connections;
pub mod device;
pub mod email_screens;
pub mod factors;
pub mod mail_links;
pub mod oauth;
pub mod ops;
pub mod registration;
pub mod screens;
pub mod second_factor;
pub mod social;
pub mod sso;

use actix_web::web::{self, ServiceConfig};

use crate::http::body;

/// Lets this worker's other ready requests run before the answer is written,
/// on endpoints that spend tens of microseconds per answer (signing,
/// verifying). Their answers then leave in bursts, and a client thread that
/// sleeps between answers is woken once per burst instead of once per answer;
/// on a virtual machine each such wake-up is an interrupt to the other core
/// that exits to the hypervisor (tests/perf/RESULTS.md, design notes).
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
            // Before `social`: its `GET sign-in/{provider}` would take
            // `POST sign-in/sso` and answer 405.
            .configure(sso::configure_api)
            .configure(social::configure)
            .default_service(web::to(api::not_found)),
    );
    screens::configure(cfg);
    second_factor::configure(cfg);
    email_screens::configure(cfg);
    mail_links::configure(cfg);
    connections::configure(cfg);
    sso::configure(cfg);
}
