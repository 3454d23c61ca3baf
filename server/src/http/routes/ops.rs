//! `/healthz`, `/readyz`, `/metrics` (CONTRACT §6).

use std::net::IpAddr;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};

use crate::http::extract::client_ip;
use crate::state::AppState;
use crate::tokens::opaque::constant_time_eq;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(healthz).service(readyz).service(metrics);
}

/// The process is up.
#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// The database answers.
#[get("/readyz")]
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if crate::db::ping(&state.db).await {
        HttpResponse::Ok().content_type("text/plain").body("ready")
    } else {
        HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("database unreachable")
    }
}

/// Prometheus text, for clients at a configured address (loopback unless
/// configured) or with the configured bearer token: the figures describe
/// traffic and failures, which is reconnaissance for anyone else.
#[get("/metrics")]
async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let settings = &state.settings.metrics;
    let from_allowed = client_ip(&req)
        .parse::<IpAddr>()
        .is_ok_and(|ip| settings.allows(ip));
    let with_token = settings.token.as_deref().is_some_and(|want| {
        req.headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .is_some_and(|(scheme, got)| {
                scheme.eq_ignore_ascii_case("bearer") && constant_time_eq(got.trim(), want)
            })
    });
    if !(from_allowed || with_token) {
        let mut refused = if settings.token.is_some() {
            let mut r = HttpResponse::Unauthorized();
            r.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            r
        } else {
            HttpResponse::Forbidden()
        };
        return refused
            .content_type("text/plain")
            .body("metrics are not available to this client");
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render(state.passwords.in_flight()))
}
