//! Dynamic client registration (RFC 7591) and its management protocol
//! (RFC 7592), free of the web framework: the handlers in
//! `http::routes::registration` hand in the body, the caller's address and the
//! bearer token, and get the client information response back as JSON.
//!
//! Policy:
//! - registration is anonymous (no initial access token, RFC 7591 §3) and
//!   allowed only while `registration.open` is set; otherwise every request is
//!   refused with 403 `access_denied`, the shape RFC 7591 §3 suggests for a
//!   server that does not accept the request;
//! - dynamic clients may use `authorization_code`, `refresh_token` and the
//!   device grant only; `client_credentials` clients are created by an admin
//!   (`portcullis client create`);
//! - a client may register only scopes this deployment offers
//!   (`oauth::scope::Allowlist`); others are refused with
//!   `invalid_client_metadata` rather than dropped, so the client learns at
//!   once what it cannot have;
//! - display strings (name, contacts, software id and version) with control,
//!   direction-changing or invisible characters are refused, so what people
//!   are shown is exactly what was registered;
//! - every client gets a registration access token (RFC 7592 §3), stored only
//!   as a hash, and a client secret when it authenticates with one;
//! - a dynamic client no user has consented to within 24 hours is removed
//!   (`housekeeping`).

use entities::clients;
use sea_orm::ConnectionTrait;
use serde_json::{Map, Value, json};
use url::Url;

use crate::error::{Error, OAuthError, OAuthErrorCode};
use crate::oauth::client::{
    self, AUTH_CLIENT_SECRET_BASIC, AUTH_PRIVATE_KEY_JWT, Client, ClientMetadata,
    GRANT_AUTHORIZATION_CODE, GRANT_CLIENT_CREDENTIALS, GRANT_DEVICE_CODE, GRANT_REFRESH_TOKEN,
    Origin, TOKEN_ENDPOINT_AUTH_METHODS, uses_client_secret,
};
use crate::oauth::discovery::endpoint;
use crate::oauth::display_text;
use crate::oauth::redirect::check_registrable;
use crate::oauth::scope::{self, Allowlist};
use crate::ratelimit::Family;
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;

/// Grant types a dynamically registered client may use.
pub const DYNAMIC_GRANTS: &[&str] = &[
    GRANT_AUTHORIZATION_CODE,
    GRANT_REFRESH_TOKEN,
    GRANT_DEVICE_CODE,
];

/// The only response type this server issues (RFC 6749 §4.1).
const RESPONSE_TYPE_CODE: &str = "code";

/// ID token signing algorithms a client may ask for (OIDC Registration §2).
const ID_TOKEN_ALGS: &[&str] = &["RS256", "ES256", "EdDSA"];

/// A dynamic client nobody consented to is removed after this long.
pub const STALE_AFTER_SECS: i64 = 24 * 60 * 60;

/// Bounds that keep one registration small.
const MAX_URIS: usize = 20;
const MAX_URI_LEN: usize = 2048;
const MAX_CONTACTS: usize = 10;
const MAX_TEXT_LEN: usize = 255;

/// Client metadata as sent (RFC 7591 §2). Unknown members are ignored and
/// `null` counts as absent.
#[derive(Debug, Default)]
pub struct MetadataRequest {
    pub redirect_uris: Option<Vec<String>>,
    pub token_endpoint_auth_method: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
    pub client_name: Option<String>,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub scope: Option<String>,
    pub contacts: Option<Vec<String>>,
    pub jwks: Option<Value>,
    pub jwks_uri: Option<String>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub id_token_signed_response_alg: Option<String>,
    pub software_id: Option<String>,
    pub software_version: Option<String>,
    /// Only in update requests (RFC 7592 §2.2).
    pub client_id: Option<String>,
    /// Only in update requests (RFC 7592 §2.2).
    pub client_secret: Option<String>,
}

/// Checked metadata, ready to store.
#[derive(Debug, Clone)]
pub struct Validated {
    pub name: String,
    pub metadata: ClientMetadata,
}

fn invalid_metadata(description: impl Into<String>) -> OAuthError {
    OAuthError::new(OAuthErrorCode::InvalidClientMetadata, description)
}

fn invalid_redirect_uri(description: impl Into<String>) -> OAuthError {
    OAuthError::new(OAuthErrorCode::InvalidRedirectUri, description)
}

/// RFC 7592 §2: one answer for a missing or wrong token and an unknown client,
/// so the endpoint tells nothing about which clients exist.
fn invalid_token() -> OAuthError {
    OAuthError::new(
        OAuthErrorCode::InvalidToken,
        "the registration access token is missing or invalid for this client",
    )
}

/// 403 `access_denied` while anonymous registration is closed.
fn registration_closed() -> OAuthError {
    OAuthError::new(
        OAuthErrorCode::AccessDenied,
        "dynamic client registration is closed on this server; ask an administrator for a client",
    )
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

/// Parses a registration or update body: a JSON object (RFC 7591 §3.1).
pub fn parse(body: &[u8]) -> Result<MetadataRequest, OAuthError> {
    let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) else {
        return Err(invalid_metadata(
            "the request body must be a JSON object of client metadata (RFC 7591 §3.1)",
        ));
    };
    Ok(MetadataRequest {
        redirect_uris: strings(&obj, "redirect_uris")?,
        token_endpoint_auth_method: string(&obj, "token_endpoint_auth_method")?,
        grant_types: strings(&obj, "grant_types")?,
        response_types: strings(&obj, "response_types")?,
        client_name: string(&obj, "client_name")?,
        client_uri: string(&obj, "client_uri")?,
        logo_uri: string(&obj, "logo_uri")?,
        scope: string(&obj, "scope")?,
        contacts: strings(&obj, "contacts")?,
        jwks: obj.get("jwks").filter(|v| !v.is_null()).cloned(),
        jwks_uri: string(&obj, "jwks_uri")?,
        post_logout_redirect_uris: strings(&obj, "post_logout_redirect_uris")?,
        id_token_signed_response_alg: string(&obj, "id_token_signed_response_alg")?,
        software_id: string(&obj, "software_id")?,
        software_version: string(&obj, "software_version")?,
        client_id: string(&obj, "client_id")?,
        client_secret: string(&obj, "client_secret")?,
    })
}

/// A string member; empty or `null` is absent.
fn string(obj: &Map<String, Value>, field: &str) -> Result<Option<String>, OAuthError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid_metadata(format!("{field} must be a string"))),
    }
}

/// An array-of-strings member; `null` is absent.
fn strings(obj: &Map<String, Value>, field: &str) -> Result<Option<Vec<String>>, OAuthError> {
    let items = match obj.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(invalid_metadata(format!(
                "{field} must be an array of strings"
            )));
        }
    };
    items
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| invalid_metadata(format!("{field} must be an array of strings")))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Keeps the first of each value, in order.
fn dedup(values: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for v in values {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Validation (RFC 7591 §2)
// ---------------------------------------------------------------------------

/// Checks client metadata against the deployment's scopes and fills in the
/// RFC 7591 §2 defaults.
pub fn validate(req: &MetadataRequest, scopes: &Allowlist) -> Result<Validated, OAuthError> {
    let auth_method = auth_method(req)?;
    let grant_types = grant_types(req)?;
    let response_types = response_types(req, &grant_types)?;
    let redirect_uris = redirect_uris(req, &grant_types)?;
    let post_logout_redirect_uris = post_logout_redirect_uris(req)?;
    let (jwks, jwks_uri) = client_keys(req, &auth_method)?;
    let client_uri = web_url("client_uri", req.client_uri.as_deref())?;
    let name = client_name(req, &redirect_uris, client_uri.as_deref())?;
    let metadata = ClientMetadata {
        redirect_uris,
        grant_types,
        response_types,
        token_endpoint_auth_method: auth_method,
        scope: client_scope(req, scopes)?,
        client_uri,
        logo_uri: web_url("logo_uri", req.logo_uri.as_deref())?,
        post_logout_redirect_uris,
        jwks_uri,
        jwks,
        id_token_signed_response_alg: id_token_alg(req)?,
        resources: Vec::new(),
        contacts: contacts(req)?,
        software_id: short_text("software_id", req.software_id.as_deref())?,
        software_version: short_text("software_version", req.software_version.as_deref())?,
    };
    Ok(Validated { name, metadata })
}

/// `token_endpoint_auth_method`, `client_secret_basic` when absent (RFC 7591 §2).
fn auth_method(req: &MetadataRequest) -> Result<String, OAuthError> {
    let method = req
        .token_endpoint_auth_method
        .as_deref()
        .unwrap_or(AUTH_CLIENT_SECRET_BASIC);
    if TOKEN_ENDPOINT_AUTH_METHODS.contains(&method) {
        Ok(method.to_string())
    } else {
        Err(invalid_metadata(format!(
            "unsupported token_endpoint_auth_method {method:?}; use one of {}",
            TOKEN_ENDPOINT_AUTH_METHODS.join(", ")
        )))
    }
}

/// `grant_types`, `["authorization_code"]` when absent (RFC 7591 §2), limited
/// to [`DYNAMIC_GRANTS`].
fn grant_types(req: &MetadataRequest) -> Result<Vec<String>, OAuthError> {
    let grants = match req.grant_types.as_deref() {
        None | Some([]) => vec![GRANT_AUTHORIZATION_CODE.to_string()],
        Some(given) => dedup(given),
    };
    for g in &grants {
        if g == GRANT_CLIENT_CREDENTIALS {
            return Err(invalid_metadata(
                "client_credentials clients cannot register themselves; an administrator \
                 creates them with `portcullis client create`",
            ));
        }
        if !DYNAMIC_GRANTS.contains(&g.as_str()) {
            return Err(invalid_metadata(format!(
                "unsupported grant type {g:?}; dynamically registered clients may use {}",
                DYNAMIC_GRANTS.join(", ")
            )));
        }
    }
    Ok(grants)
}

/// `response_types`: only `code`, and exactly when the client uses the
/// authorization code grant (RFC 7591 §2.1 asks the two to agree).
fn response_types(req: &MetadataRequest, grants: &[String]) -> Result<Vec<String>, OAuthError> {
    let uses_code = grants.iter().any(|g| g == GRANT_AUTHORIZATION_CODE);
    let given = match req.response_types.as_deref() {
        None | Some([]) => None,
        Some(given) => Some(dedup(given)),
    };
    let Some(types) = given else {
        return Ok(if uses_code {
            vec![RESPONSE_TYPE_CODE.to_string()]
        } else {
            Vec::new()
        });
    };
    if let Some(bad) = types.iter().find(|t| *t != RESPONSE_TYPE_CODE) {
        return Err(invalid_metadata(format!(
            "unsupported response type {bad:?}; only \"code\" is supported"
        )));
    }
    if !uses_code {
        return Err(invalid_metadata(
            "response type \"code\" needs the authorization_code grant type (RFC 7591 §2.1)",
        ));
    }
    Ok(types)
}

/// `redirect_uris`: each registrable (RFC 8252 §7, no fragment, no script
/// schemes); at least one for the authorization code grant.
fn redirect_uris(req: &MetadataRequest, grants: &[String]) -> Result<Vec<String>, OAuthError> {
    let uris = dedup(req.redirect_uris.as_deref().unwrap_or_default());
    if uris.is_empty() && grants.iter().any(|g| g == GRANT_AUTHORIZATION_CODE) {
        return Err(invalid_redirect_uri(
            "the authorization_code grant needs at least one redirect URI",
        ));
    }
    check_uris("redirect_uris", &uris).map_err(invalid_redirect_uri)?;
    Ok(uris)
}

/// `post_logout_redirect_uris` (OIDC RP-Initiated Logout §3.1): the same
/// checks as redirect URIs; a bad one is `invalid_client_metadata`, since
/// RFC 7591's `invalid_redirect_uri` names `redirect_uris` only.
fn post_logout_redirect_uris(req: &MetadataRequest) -> Result<Vec<String>, OAuthError> {
    let uris = dedup(req.post_logout_redirect_uris.as_deref().unwrap_or_default());
    check_uris("post_logout_redirect_uris", &uris).map_err(invalid_metadata)?;
    Ok(uris)
}

/// Count, length and [`check_registrable`] for a list of redirect targets.
fn check_uris(field: &str, uris: &[String]) -> Result<(), String> {
    if uris.len() > MAX_URIS {
        return Err(format!("{field}: at most {MAX_URIS} URIs"));
    }
    for uri in uris {
        if uri.len() > MAX_URI_LEN {
            return Err(format!("{field}: a URI is longer than {MAX_URI_LEN} bytes"));
        }
        check_registrable(uri).map_err(|e| format!("{field}: {e}"))?;
    }
    Ok(())
}

/// `scope`: the deployment's general scopes when absent; each token per
/// RFC 6749 §3.3 and offered by this deployment.
fn client_scope(req: &MetadataRequest, offered: &Allowlist) -> Result<String, OAuthError> {
    let raw = req.scope.as_deref().unwrap_or_default();
    if raw.len() > MAX_URI_LEN {
        return Err(invalid_metadata("scope is too long"));
    }
    let scopes = scope::parse_requested(raw).map_err(invalid_metadata)?;
    if let Some(bad) = scopes.iter().find(|s| !scope::is_valid_token(s)) {
        return Err(invalid_metadata(format!("invalid scope token {bad:?}")));
    }
    if let Some(bad) = scopes.iter().find(|s| !offered.offers(s)) {
        return Err(invalid_metadata(format!(
            "scope {bad:?} is not offered by this server; choose from: {}",
            offered.offered().join(" ")
        )));
    }
    if scopes.is_empty() {
        return Ok(offered.default_client_scope());
    }
    Ok(scopes.join(" "))
}

/// `jwks` / `jwks_uri` (RFC 7591 §2): never both; `private_key_jwt` needs one.
fn client_keys(
    req: &MetadataRequest,
    auth_method: &str,
) -> Result<(Option<Value>, Option<String>), OAuthError> {
    if req.jwks.is_some() && req.jwks_uri.is_some() {
        return Err(invalid_metadata(
            "jwks and jwks_uri must not both be present (RFC 7591 §2)",
        ));
    }
    if auth_method == AUTH_PRIVATE_KEY_JWT && req.jwks.is_none() && req.jwks_uri.is_none() {
        return Err(invalid_metadata(
            "private_key_jwt needs the client's keys in jwks or jwks_uri",
        ));
    }
    if let Some(jwks) = &req.jwks {
        check_jwks(jwks)?;
    }
    let jwks_uri = req.jwks_uri.as_deref().map(check_jwks_uri).transpose()?;
    Ok((req.jwks.clone(), jwks_uri))
}

/// A JWK Set (RFC 7517 §5): an object whose `keys` is a non-empty array of
/// objects with a `kty`.
fn check_jwks(jwks: &Value) -> Result<(), OAuthError> {
    let keys = jwks.get("keys").and_then(Value::as_array);
    let ok = keys.is_some_and(|keys| {
        !keys.is_empty()
            && keys
                .iter()
                .all(|k| k.get("kty").and_then(Value::as_str).is_some())
    });
    if ok {
        Ok(())
    } else {
        Err(invalid_metadata(
            "jwks must be a JWK Set: {\"keys\": [...]} with a kty in every key (RFC 7517 §5)",
        ))
    }
}

/// `jwks_uri`: an https URL (loopback http allowed for development).
fn check_jwks_uri(uri: &str) -> Result<String, OAuthError> {
    let bad = || invalid_metadata("jwks_uri must be an absolute https URL");
    if uri.len() > MAX_URI_LEN {
        return Err(bad());
    }
    let url = Url::parse(uri).map_err(|_| bad())?;
    let secure = url.scheme() == "https"
        || (url.scheme() == "http" && crate::oauth::redirect::is_loopback(&url));
    if secure && url.host().is_some() && url.fragment().is_none() {
        Ok(uri.to_string())
    } else {
        Err(bad())
    }
}

/// `client_uri` / `logo_uri`: absolute http(s) URLs, since they end up in
/// links and images on the consent screen.
fn web_url(field: &str, value: Option<&str>) -> Result<Option<String>, OAuthError> {
    let Some(uri) = value else {
        return Ok(None);
    };
    let bad = || invalid_metadata(format!("{field} must be an absolute http or https URL"));
    if uri.len() > MAX_URI_LEN {
        return Err(bad());
    }
    let url = Url::parse(uri).map_err(|_| bad())?;
    if matches!(url.scheme(), "http" | "https") && url.host().is_some() {
        Ok(Some(uri.to_string()))
    } else {
        Err(bad())
    }
}

/// `id_token_signed_response_alg` (OIDC Registration §2): one we sign with.
fn id_token_alg(req: &MetadataRequest) -> Result<Option<String>, OAuthError> {
    match req.id_token_signed_response_alg.as_deref() {
        None => Ok(None),
        Some(alg) if ID_TOKEN_ALGS.contains(&alg) => Ok(Some(alg.to_string())),
        Some(alg) => Err(invalid_metadata(format!(
            "unsupported id_token_signed_response_alg {alg:?}; use one of {}",
            ID_TOKEN_ALGS.join(", ")
        ))),
    }
}

/// `contacts` (RFC 7591 §2): a few short strings.
fn contacts(req: &MetadataRequest) -> Result<Vec<String>, OAuthError> {
    let contacts = dedup(req.contacts.as_deref().unwrap_or_default());
    if contacts.len() > MAX_CONTACTS {
        return Err(invalid_metadata(format!(
            "contacts: at most {MAX_CONTACTS} entries"
        )));
    }
    for c in &contacts {
        short_text("contacts", Some(c))?;
    }
    Ok(contacts)
}

/// A short, printable, single-line string with nothing that hides or
/// reorders what a person reads (`display_text`).
fn short_text(field: &str, value: Option<&str>) -> Result<Option<String>, OAuthError> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if !display_text::is_clean(v) {
        return Err(invalid_metadata(format!(
            "{field} contains control, invisible or text-direction characters"
        )));
    }
    if v.chars().count() > MAX_TEXT_LEN {
        return Err(invalid_metadata(format!(
            "{field} must be printable text of at most {MAX_TEXT_LEN} characters"
        )));
    }
    Ok(Some(v.to_string()))
}

/// `client_name`, or a name derived from the first redirect URI's host (or
/// scheme, for private-use URIs), or from `client_uri`.
fn client_name(
    req: &MetadataRequest,
    redirect_uris: &[String],
    client_uri: Option<&str>,
) -> Result<String, OAuthError> {
    if let Some(name) = short_text("client_name", req.client_name.as_deref())? {
        return Ok(name);
    }
    let derived = redirect_uris
        .iter()
        .map(String::as_str)
        .chain(client_uri)
        .filter_map(|u| Url::parse(u).ok())
        .map(|u| match u.host_str() {
            Some(host) if !host.is_empty() => host.to_string(),
            _ => u.scheme().to_string(),
        })
        .next();
    Ok(derived.unwrap_or_else(|| "Unnamed client".to_string()))
}

// ---------------------------------------------------------------------------
// Registration (RFC 7591 §3)
// ---------------------------------------------------------------------------

/// Handles `POST /oauth2/register` for a caller at `ip`: 403 `access_denied`
/// while registration is closed, 429 when the address registers too often,
/// else the client information response (RFC 7591 §3.2.1).
pub async fn register(state: &AppState, ip: &str, body: &[u8]) -> Result<Value, OAuthError> {
    if !state.settings.registration.open {
        return Err(registration_closed());
    }
    state.limit(Family::Registration, &[crate::ratelimit::ip_key(ip)])?;
    let valid = validate(&parse(body)?, &state.discovery.scopes)?;
    let secret = uses_client_secret(&valid.metadata.token_endpoint_auth_method)
        .then(|| opaque::new_prefixed_secret("pcs_"));
    let token = opaque::new_secret();
    let row = clients::Model {
        id: opaque::new_id(),
        name: valid.name,
        secret_hash: secret.as_deref().map(opaque::hash_secret),
        metadata: metadata_json(&valid.metadata)?,
        origin: Origin::Dynamic.as_str().into(),
        trusted: false,
        registration_token_hash: Some(opaque::hash_secret(&token)),
        created_at: state.now(),
        resource_server: false,
        pkce_optional: false,
    };
    store::clients::insert(&state.db, row.clone()).await?;
    let client = Client::from_row(row)?;
    tracing::info!(client_id = %client.id, name = %client.name, "client registered");
    Ok(client_information(
        state,
        &client,
        secret.as_deref(),
        &token,
    ))
}

fn metadata_json(metadata: &ClientMetadata) -> Result<String, Error> {
    serde_json::to_string(metadata).map_err(|e| Error::internal(format!("client metadata: {e}")))
}

/// The client information response (RFC 7591 §3.2.1, RFC 7592 §3): every
/// registered field, the secret only when just issued, and the management
/// credentials.
fn client_information(
    state: &AppState,
    client: &Client,
    secret: Option<&str>,
    registration_token: &str,
) -> Value {
    let mut v = client.registration_response(secret);
    v["registration_access_token"] = json!(registration_token);
    v["registration_client_uri"] = json!(registration_client_uri(state, &client.id));
    v
}

/// Where the client manages its registration (RFC 7592 §3).
pub fn registration_client_uri(state: &AppState, client_id: &str) -> String {
    endpoint(
        &state.settings.issuer,
        &format!("/oauth2/register/{client_id}"),
    )
}

// ---------------------------------------------------------------------------
// Management (RFC 7592 §2)
// ---------------------------------------------------------------------------

/// The dynamic client `id` if `token` is its registration access token;
/// otherwise 401 `invalid_token` (RFC 7592 §2.1), unknown clients included.
async fn authorize(
    state: &AppState,
    id: &str,
    token: Option<&str>,
) -> Result<clients::Model, OAuthError> {
    let token = token.filter(|t| !t.is_empty()).ok_or_else(invalid_token)?;
    let row = store::clients::find(&state.db, id)
        .await?
        .ok_or_else(invalid_token)?;
    let presented = opaque::hash_secret(token);
    let matches = row
        .registration_token_hash
        .as_deref()
        .is_some_and(|stored| opaque::constant_time_eq(stored, &presented));
    if matches && row.origin == Origin::Dynamic.as_str() {
        Ok(row)
    } else {
        Err(invalid_token())
    }
}

/// `GET /oauth2/register/{id}` (RFC 7592 §2.1): the current registration,
/// without the client secret (only its hash is kept).
pub async fn read(state: &AppState, id: &str, token: Option<&str>) -> Result<Value, OAuthError> {
    let row = authorize(state, id, token).await?;
    let client = Client::from_row(row)?;
    Ok(client_information(
        state,
        &client,
        None,
        token.unwrap_or_default(),
    ))
}

/// `PUT /oauth2/register/{id}` (RFC 7592 §2.2): replaces the metadata with the
/// body's, checked as at registration. The body names the client; a
/// `client_secret` in it must be the current one. A client that switches to a
/// secret-based method gets a secret (returned once); one that switches away
/// loses its secret.
pub async fn update(
    state: &AppState,
    id: &str,
    token: Option<&str>,
    body: &[u8],
) -> Result<Value, OAuthError> {
    let row = authorize(state, id, token).await?;
    let req = parse(body)?;
    check_update_identity(&req, &row)?;
    let valid = validate(&req, &state.discovery.scopes)?;
    let (secret_hash, new_secret) = secret_after_update(&row, &valid.metadata);
    let metadata = metadata_json(&valid.metadata)?;
    let updated = store::clients::update(
        &state.db,
        id,
        valid.name.clone(),
        secret_hash.clone(),
        metadata.clone(),
    )
    .await?;
    client::forget(state, id).await;
    if !updated {
        return Err(invalid_token());
    }
    let row = clients::Model {
        name: valid.name,
        secret_hash,
        metadata,
        ..row
    };
    let client = Client::from_row(row)?;
    Ok(client_information(
        state,
        &client,
        new_secret.as_deref(),
        token.unwrap_or_default(),
    ))
}

/// RFC 7592 §2.2: the body's `client_id` must be the client's, and a
/// `client_secret`, if sent, the current one.
fn check_update_identity(req: &MetadataRequest, row: &clients::Model) -> Result<(), OAuthError> {
    if req.client_id.as_deref() != Some(row.id.as_str()) {
        return Err(invalid_metadata(
            "the body's client_id must be this client's identifier (RFC 7592 §2.2)",
        ));
    }
    let Some(secret) = req.client_secret.as_deref() else {
        return Ok(());
    };
    let matches = row
        .secret_hash
        .as_deref()
        .is_some_and(|stored| opaque::constant_time_eq(stored, &opaque::hash_secret(secret)));
    if matches {
        Ok(())
    } else {
        Err(invalid_metadata(
            "client_secret does not match the current secret; it cannot be chosen by the client \
             (RFC 7592 §2.2)",
        ))
    }
}

/// The secret hash to keep after an update, and a fresh secret when the client
/// newly needs one.
fn secret_after_update(
    row: &clients::Model,
    metadata: &ClientMetadata,
) -> (Option<String>, Option<String>) {
    if !uses_client_secret(&metadata.token_endpoint_auth_method) {
        return (None, None);
    }
    if let Some(hash) = &row.secret_hash {
        return (Some(hash.clone()), None);
    }
    let secret = opaque::new_prefixed_secret("pcs_");
    (Some(opaque::hash_secret(&secret)), Some(secret))
}

/// `DELETE /oauth2/register/{id}` (RFC 7592 §2.3): removes the client and,
/// by cascade, its codes, tokens and consents.
pub async fn delete(state: &AppState, id: &str, token: Option<&str>) -> Result<(), OAuthError> {
    authorize(state, id, token).await?;
    store::clients::delete(&state.db, id).await?;
    client::forget(state, id).await;
    tracing::info!(client_id = %id, "client deleted its registration");
    Ok(())
}

// ---------------------------------------------------------------------------
// Cleanup
// ---------------------------------------------------------------------------

/// Removes dynamic clients created more than [`STALE_AFTER_SECS`] before `now`
/// that no user ever consented to. Returns how many went. Other instances may
/// serve a removed client from their cache for up to
/// [`client::CLIENT_CACHE_SECS`].
pub async fn remove_stale_dynamic_clients(
    db: &impl ConnectionTrait,
    now: i64,
) -> Result<u64, Error> {
    store::clients::delete_unconsented(db, Origin::Dynamic.as_str(), now - STALE_AFTER_SECS).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validated(body: Value) -> Result<Validated, OAuthError> {
        let settings = crate::config::Settings::load_from(vec![]).unwrap_or_else(|e| panic!("{e}"));
        validate(
            &parse(body.to_string().as_bytes())?,
            &Allowlist::from_settings(&settings),
        )
    }

    fn code_of(r: Result<Validated, OAuthError>) -> OAuthErrorCode {
        r.err().map(|e| e.error).expect("an error")
    }

    #[test]
    fn defaults_follow_rfc7591_section_2() {
        let v = validated(json!({ "redirect_uris": ["https://app.example/cb"] }))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v.metadata.token_endpoint_auth_method, "client_secret_basic");
        assert_eq!(v.metadata.grant_types, vec!["authorization_code"]);
        assert_eq!(v.metadata.response_types, vec!["code"]);
        assert_eq!(v.metadata.scope, scope::DEFAULT_CLIENT_SCOPE);
        assert_eq!(v.name, "app.example");
    }

    #[test]
    fn device_clients_need_no_redirect_uri() {
        let v = validated(json!({
            "grant_types": [GRANT_DEVICE_CODE, "refresh_token"],
            "token_endpoint_auth_method": "none",
            "client_name": "TV"
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(v.metadata.response_types.is_empty());
        assert!(v.metadata.redirect_uris.is_empty());
    }

    #[test]
    fn refusals_name_the_right_code() {
        use OAuthErrorCode::{InvalidClientMetadata as M, InvalidRedirectUri as R};
        let cases = [
            (json!({}), R),
            (json!({ "redirect_uris": ["javascript:alert(1)"] }), R),
            (json!({ "redirect_uris": "https://a.example/cb" }), M),
            (
                json!({ "redirect_uris": ["https://a.example/cb"], "grant_types": ["client_credentials"] }),
                M,
            ),
            (
                json!({ "redirect_uris": ["https://a.example/cb"], "grant_types": ["password"] }),
                M,
            ),
            (
                json!({ "redirect_uris": ["https://a.example/cb"], "response_types": ["token"] }),
                M,
            ),
            (
                json!({ "redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt" }),
                M,
            ),
            (
                json!({ "redirect_uris": ["https://a.example/cb"], "jwks_uri": "https://a.example/jwks", "jwks": { "keys": [{ "kty": "EC" }] } }),
                M,
            ),
            (
                json!({ "redirect_uris": ["https://a.example/cb"], "id_token_signed_response_alg": "none" }),
                M,
            ),
            (
                json!({ "redirect_uris": ["https://a.example/cb"], "scope": "openid bad\"scope" }),
                M,
            ),
            (
                json!({ "redirect_uris": ["https://a.example/cb"], "scope": "openid admin:all" }),
                M,
            ),
            (
                json!({ "redirect_uris": ["https://a.example/cb"], "client_name": "Evil\u{202E}moc.elgoog" }),
                M,
            ),
            (
                json!({ "redirect_uris": ["https://a.example/cb"], "logo_uri": "javascript:alert(1)" }),
                M,
            ),
            (
                json!({ "redirect_uris": ["https://a.example/cb"], "post_logout_redirect_uris": ["data:text/html,x"] }),
                M,
            ),
        ];
        for (body, want) in cases {
            assert_eq!(code_of(validated(body.clone())), want, "{body}");
        }
        assert!(parse(b"not json").is_err());
        assert!(parse(b"[1]").is_err());
    }
}
