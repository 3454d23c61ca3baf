//! Dynamic client registration (RFC 7591) and management (RFC 7592) routes:
//! `POST /oauth2/register`, `GET/PUT/DELETE /oauth2/register/{client_id}`.
//! Browser-based clients (MCP clients among them) register cross-origin, so
//! every answer, errors included, carries `Access-Control-Allow-Origin: *`;
//! no cookies are involved, the registration access token is a bearer token.

use actix_web::http::header;
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use crate::domain::ids::ClientId;
use crate::error::OAuthError;
use crate::http::body::{OAuthBody, REGISTRATION_JSON};
use crate::http::extract::client_info;
use crate::oauth::registration;
use crate::state::AppState;

const ALLOW_HEADERS: &str = "Authorization, Content-Type, MCP-Protocol-Version";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/oauth2/register")
            .wrap(cors_headers())
            .route(web::post().to(register))
            .route(web::method(Method::OPTIONS).to(preflight_register)),
    )
    .service(
        web::resource("/oauth2/register/{client_id}")
            .wrap(cors_headers())
            .route(web::get().to(read))
            .route(web::put().to(update))
            .route(web::delete().to(delete))
            .route(web::method(Method::OPTIONS).to(preflight_manage)),
    );
}

/// CORS headers on every actual response of these resources, errors included;
/// `WWW-Authenticate` and `Retry-After` are exposed so a browser client can
/// read why it was refused.
fn cors_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .add((
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            "WWW-Authenticate, Retry-After",
        ))
}

/// A CORS preflight answer allowing `methods`.
fn preflight(methods: &'static str) -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, methods))
        .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "86400"))
        .finish()
}

async fn preflight_register() -> HttpResponse {
    preflight("POST, OPTIONS")
}

async fn preflight_manage() -> HttpResponse {
    preflight("GET, PUT, DELETE, OPTIONS")
}

/// A client information response: JSON, never cached (it carries secrets,
/// RFC 7591 §3.2.1).
fn client_information(status: StatusCode, body: &Value) -> HttpResponse {
    crate::http::cache_control::uncached(&mut HttpResponse::build(status)).json(body)
}

/// The token of an `Authorization: Bearer …` header (RFC 6750 §2.1).
fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

/// RFC 7591 §3: register a client. 201 with the client information response.
async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: OAuthBody<REGISTRATION_JSON>,
) -> Result<HttpResponse, OAuthError> {
    let ip = client_info(&req).ip.unwrap_or_default();
    let info = registration::register(&state, &ip, &body.0).await?;
    Ok(client_information(StatusCode::CREATED, &info))
}

/// RFC 7592 §2.1: read the current registration.
async fn read(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, OAuthError> {
    let info = registration::read(&state, &ClientId::from(path.into_inner()), bearer(&req)).await?;
    Ok(client_information(StatusCode::OK, &info))
}

/// RFC 7592 §2.2: replace the registration's metadata.
async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: OAuthBody<REGISTRATION_JSON>,
) -> Result<HttpResponse, OAuthError> {
    let info = registration::update(
        &state,
        &ClientId::from(path.into_inner()),
        bearer(&req),
        &body.0,
    )
    .await?;
    Ok(client_information(StatusCode::OK, &info))
}

/// RFC 7592 §2.3: delete the registration. 204.
async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, OAuthError> {
    registration::delete(&state, &ClientId::from(path.into_inner()), bearer(&req)).await?;
    Ok(crate::http::cache_control::uncached(&mut HttpResponse::NoContent()).finish())
}
