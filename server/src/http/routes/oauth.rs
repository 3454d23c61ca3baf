//! OAuth 2.0 / OIDC endpoints (CONTRACT §3).

use actix_web::body::MessageBody;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::OAuthError;
use crate::http::body::{MAX_FORM_PARAMS, OAUTH_FORM, OAuthBody};
use crate::http::documents::{
    self, JWKS_PATH, KEYS_CACHE, METADATA_CACHE, OAUTH_METADATA_PATH, OIDC_METADATA_PATH,
};
use crate::http::extract::client_ip;
use crate::oauth::token::{self, TokenRequest};
use crate::oauth::{client_auth, introspection, revocation, userinfo};
use crate::ratelimit::{Family, client_key, ip_key};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    let options = || web::method(actix_web::http::Method::OPTIONS).to(preflight);
    // The router tries routes in this order: the busiest first, and the one
    // pattern (a regex match per request that reaches it) last.
    cfg.route("/oauth2/token", web::post().to(token))
        .route("/oauth2/introspect", web::post().to(introspect))
        .route(
            "/oauth2/device_authorization",
            web::post().to(device_authorization),
        )
        .route(JWKS_PATH, web::get().to(jwks))
        .route(JWKS_PATH, web::head().to(jwks))
        .route(OIDC_METADATA_PATH, web::get().to(discovery))
        .route(OIDC_METADATA_PATH, web::head().to(discovery))
        .route(OAUTH_METADATA_PATH, web::get().to(discovery))
        .route(OAUTH_METADATA_PATH, web::head().to(discovery))
        .route("/oauth2/revoke", web::post().to(revoke))
        .route("/oauth2/userinfo", web::get().to(userinfo_get))
        .route("/oauth2/userinfo", web::post().to(userinfo_post))
        .route(
            "/.well-known/oauth-protected-resource",
            web::get().to(protected_resource),
        );
    for path in [
        OIDC_METADATA_PATH,
        OAUTH_METADATA_PATH,
        JWKS_PATH,
        "/.well-known/oauth-protected-resource",
        "/oauth2/token",
        "/oauth2/device_authorization",
        "/oauth2/introspect",
        "/oauth2/revoke",
        "/oauth2/userinfo",
    ] {
        cfg.route(path, options());
    }
    cfg.route(
        "/.well-known/oauth-protected-resource/{tail:.*}",
        web::get().to(protected_resource),
    )
    .route("/.well-known/oauth-protected-resource/{tail:.*}", options());
}

/// A `200` public document (see [`documents::public_json`]).
fn public_json(cache_control: &'static str, body: impl MessageBody + 'static) -> HttpResponse {
    let mut res = HttpResponse::Ok().body(body);
    documents::public_json(res.headers_mut(), cache_control);
    res
}

/// CORS preflight for the public documents.
async fn preflight() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, OPTIONS"))
        .insert_header((
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            "Authorization, Content-Type, MCP-Protocol-Version",
        ))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "86400"))
        .finish()
}

/// OIDC Discovery 1.0 §4 / RFC 8414 §3: the same document at both paths.
async fn discovery(state: web::Data<AppState>) -> HttpResponse {
    public_json(METADATA_CACHE, state.discovery.document.clone())
}

/// RFC 9728 §3: the metadata of a resource this deployment hosts.
async fn protected_resource(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    match crate::oauth::protected_resource::document(&state.settings, req.path()) {
        Some(doc) => Ok(public_json(METADATA_CACHE, doc.to_string())),
        None => Ok(HttpResponse::NotFound()
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
            .content_type("application/json")
            .body(r#"{"error":"not_found","error_description":"no protected resource here"}"#)),
    }
}

/// The JWKS (RFC 7517 §5): active keys and retired keys still in use.
async fn jwks(state: web::Data<AppState>) -> Result<HttpResponse, OAuthError> {
    let keys = state.keys.get(state.now()).await?;
    Ok(public_json(KEYS_CACHE, keys.jwks.clone()))
}

/// A form-encoded body as pairs. RFC 6749 §3.2: `application/x-www-form-urlencoded`,
/// and no parameter twice (except RFC 8707 `resource`). Read before the client
/// is authenticated, so it costs time linear in the (capped) body: at most
/// [`MAX_FORM_PARAMS`] pairs, repeats found with a set.
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(req: &HttpRequest, body: &[u8]) -> Result<Form, OAuthError> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !ct
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
        {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (k, v) in url::form_urlencoded::parse(body) {
            if pairs.len() == MAX_FORM_PARAMS {
                return Err(OAuthError::invalid_request(format!(
                    "more than {MAX_FORM_PARAMS} parameters"
                )));
            }
            pairs.push((k.into_owned(), v.into_owned()));
        }
        let mut seen = std::collections::HashSet::with_capacity(pairs.len());
        if let Some((k, _)) = pairs
            .iter()
            .find(|(k, _)| k != "resource" && !seen.insert(k.as_str()))
        {
            return Err(OAuthError::invalid_request(format!(
                "parameter {k} repeated"
            )));
        }
        Ok(Form(pairs))
    }

    fn get(&self, k: &str) -> Option<String> {
        self.0.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    fn required(&self, k: &str) -> Result<String, OAuthError> {
        self.get(k)
            .ok_or_else(|| OAuthError::invalid_request(format!("{k} is required")))
    }

    fn all(&self, k: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn presented(&self, req: &HttpRequest) -> client_auth::Presented {
        client_auth::Presented {
            authorization: req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            client_id: self.get("client_id"),
            client_secret: self.get("client_secret"),
            client_assertion_type: self.get("client_assertion_type"),
            client_assertion: self.get("client_assertion"),
        }
    }
}

/// Parses the form and authenticates the client (RFC 6749 §2.3) for `path`.
async fn authenticated(
    req: &HttpRequest,
    state: &AppState,
    body: &[u8],
    path: &str,
) -> Result<(Form, std::sync::Arc<crate::oauth::client::Client>), OAuthError> {
    let form = Form::parse(req, body)?;
    let client = client_auth::authenticate(state, &form.presented(req), path).await?;
    Ok((form, client))
}

/// JSON that must not be cached (RFC 6749 §5.1), readable cross-origin.
fn no_store_json(body: String) -> HttpResponse {
    crate::http::cache_control::uncached(&mut HttpResponse::Ok())
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .content_type("application/json")
        .body(body)
}

/// `POST /oauth2/token` (RFC 6749 §3.2).
async fn token(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: OAuthBody<OAUTH_FORM>,
) -> Result<HttpResponse, OAuthError> {
    let (form, client) = authenticated(&req, &state, &body.0, "/oauth2/token").await?;
    let request = TokenRequest {
        grant_type: form.get("grant_type"),
        code: form.get("code"),
        redirect_uri: form.get("redirect_uri"),
        code_verifier: form.get("code_verifier"),
        refresh_token: form.get("refresh_token"),
        scope: form.get("scope"),
        resource: form.all("resource"),
        device_code: form.get("device_code"),
    };
    let answer = token::exchange(&state, client, request).await;
    super::in_turn().await;
    Ok(no_store_json(answer?))
}

/// `POST /oauth2/device_authorization` (RFC 8628 §3.1): client
/// authentication as at the token endpoint; public clients name themselves.
async fn device_authorization(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: OAuthBody<OAUTH_FORM>,
) -> Result<HttpResponse, OAuthError> {
    // Each request stores a row: limited per address before anything else
    // (RFC 8628 §5.2 leaves the policy to us; `slow_down` is for polling, so
    // this is a 429 with `Retry-After`). A self-described client is also
    // limited as a whole: anyone may create many. Not one an administrator
    // made: a public client's name is no proof of who asks, and a handful of
    // addresses could otherwise lock all its users out.
    let ip = client_ip(&req);
    state.limit(Family::DeviceAuthorization, &[ip_key(&ip)])?;
    let (form, client) =
        authenticated(&req, &state, &body.0, "/oauth2/device_authorization").await?;
    if !client.is_verified() {
        state.limit(Family::DeviceAuthorizationClient, &[client_key(&client.id)])?;
    }
    let answer = crate::oauth::device::authorize(
        &state,
        &client,
        form.get("scope").as_deref(),
        &form.all("resource"),
    )
    .await?;
    let body = serde_json::to_string(&answer).map_err(|_| OAuthError::server_error())?;
    Ok(no_store_json(body))
}

/// `POST /oauth2/introspect` (RFC 7662 §2).
async fn introspect(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: OAuthBody<OAUTH_FORM>,
) -> Result<HttpResponse, OAuthError> {
    let (form, client) = authenticated(&req, &state, &body.0, "/oauth2/introspect").await?;
    let token = form.required("token")?;
    let answer = introspection::introspect(
        &state,
        &client,
        &token,
        form.get("token_type_hint").as_deref(),
    )
    .await;
    super::in_turn().await;
    Ok(no_store_json(answer?.to_string()))
}

/// `POST /oauth2/revoke` (RFC 7009 §2): 200 whatever the token was.
async fn revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: OAuthBody<OAUTH_FORM>,
) -> Result<HttpResponse, OAuthError> {
    let (form, client) = authenticated(&req, &state, &body.0, "/oauth2/revoke").await?;
    let token = form.required("token")?;
    revocation::revoke(&state, &client, &token).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .finish())
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let h = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = h.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// `GET /oauth2/userinfo` (OIDC Core §5.3.1).
async fn userinfo_get(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let claims = userinfo::userinfo(&state, bearer(&req).as_deref()).await?;
    Ok(no_store_json(claims.to_string()))
}

/// `POST /oauth2/userinfo`: the token in the header or the form (RFC 6750 §2.2).
async fn userinfo_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: OAuthBody<OAUTH_FORM>,
) -> Result<HttpResponse, OAuthError> {
    let from_form = url::form_urlencoded::parse(&body.0)
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v.into_owned());
    let token = bearer(&req).or(from_form);
    let claims = userinfo::userinfo(&state, token.as_deref()).await?;
    Ok(no_store_json(claims.to_string()))
}
