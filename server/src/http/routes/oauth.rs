//! OAuth 2.0 / OIDC endpoints (CONTRACT §3).

use actix_web::http::header;
use actix_web::{HttpResponse, HttpResponseBuilder, web};

use crate::error::OAuthError;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/.well-known/openid-configuration",
        web::get().to(discovery),
    )
    .route(
        "/.well-known/oauth-authorization-server",
        web::get().to(discovery),
    )
    .route(
        "/.well-known/openid-configuration",
        web::method(actix_web::http::Method::OPTIONS).to(preflight),
    )
    .route(
        "/.well-known/oauth-authorization-server",
        web::method(actix_web::http::Method::OPTIONS).to(preflight),
    )
    .route("/oauth2/jwks", web::get().to(jwks))
    .route(
        "/oauth2/jwks",
        web::method(actix_web::http::Method::OPTIONS).to(preflight),
    );
}

/// Public, cacheable documents any origin may read (browser-based clients
/// fetch metadata and keys cross-origin).
fn public_json(res: &mut HttpResponseBuilder, max_age: u32) -> &mut HttpResponseBuilder {
    res.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header((header::CACHE_CONTROL, format!("public, max-age={max_age}")))
        .content_type("application/json")
}

/// CORS preflight for the public documents.
async fn preflight() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, OPTIONS"))
        .insert_header((
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            "Authorization, Content-Type, MCP-Protocol-Version",
        ))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "86400"))
        .finish()
}

/// OIDC Discovery 1.0 §4 / RFC 8414 §3: the same document at both paths.
async fn discovery(state: web::Data<AppState>) -> HttpResponse {
    public_json(&mut HttpResponse::Ok(), 300).body(state.discovery.document.clone())
}

/// The JWKS (RFC 7517 §5): active keys and retired keys still in use.
async fn jwks(state: web::Data<AppState>) -> Result<HttpResponse, OAuthError> {
    let keys = state.keys.get(state.now()).await?;
    Ok(public_json(&mut HttpResponse::Ok(), 60).body(keys.jwks.clone()))
}
