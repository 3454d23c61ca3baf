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

use crate::domain::client_origin::ClientOrigin;
use crate::domain::ids::ClientId;
use crate::error::{Error, OAuthError, OAuthErrorCode};
use crate::oauth::client::rules::{self, Checked, Fault, Policy, Requested, Violation};
use crate::oauth::client::{self, Client, ClientMetadata, uses_client_secret};
use crate::oauth::scope::Allowlist;
use crate::ratelimit::Family;
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;

/// A dynamic client nobody consented to is removed after this long.
pub const STALE_AFTER_SECS: i64 = 24 * 60 * 60;

/// A registration or update body (RFC 7591 §2, RFC 7592 §2.2). Unknown
/// members are ignored and `null` counts as absent.
#[derive(Debug, Default)]
pub struct MetadataRequest {
    pub metadata: Requested,
    /// Only in update requests (RFC 7592 §2.2).
    pub client_id: Option<String>,
    /// Only in update requests (RFC 7592 §2.2).
    pub client_secret: Option<String>,
}

/// Checked metadata, ready to store.
pub type Validated = Checked;

fn invalid_metadata(description: impl Into<String>) -> OAuthError {
    OAuthError::new(OAuthErrorCode::InvalidClientMetadata, description)
}

/// A refusal as RFC 7591 §3.2.2 spells it.
fn refusal(v: Violation) -> OAuthError {
    let code = match v.fault {
        Fault::RedirectUri => OAuthErrorCode::InvalidRedirectUri,
        Fault::Metadata => OAuthErrorCode::InvalidClientMetadata,
    };
    OAuthError::new(code, v.message)
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
    let metadata = Requested {
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
        resources: Vec::new(),
    };
    Ok(MetadataRequest {
        metadata,
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

// ---------------------------------------------------------------------------
// Validation (RFC 7591 §2)
// ---------------------------------------------------------------------------

/// Checks client metadata against the deployment's scopes and fills in the
/// RFC 7591 §2 defaults: the one set of client rules (`client::rules`), as
/// they apply to a client registering itself.
pub fn validate(req: &MetadataRequest, scopes: &Allowlist) -> Result<Validated, OAuthError> {
    rules::check(&req.metadata, &Policy::dynamic(scopes)).map_err(refusal)
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
        id: ClientId::from(opaque::new_id()),
        name: valid.name,
        secret_hash: secret.as_deref().map(opaque::hash_secret),
        metadata: metadata_json(&valid.metadata)?,
        origin: ClientOrigin::Dynamic,
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
pub fn registration_client_uri(state: &AppState, client_id: &ClientId) -> String {
    state
        .settings
        .endpoint(&["/oauth2/register/", client_id.as_str()].concat())
}

// ---------------------------------------------------------------------------
// Management (RFC 7592 §2)
// ---------------------------------------------------------------------------

/// The dynamic client `id` if `token` is its registration access token;
/// otherwise 401 `invalid_token` (RFC 7592 §2.1), unknown clients included.
async fn authorize(
    state: &AppState,
    id: &ClientId,
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
    if matches && row.origin == ClientOrigin::Dynamic {
        Ok(row)
    } else {
        Err(invalid_token())
    }
}

/// `GET /oauth2/register/{id}` (RFC 7592 §2.1): the current registration,
/// without the client secret (only its hash is kept).
pub async fn read(
    state: &AppState,
    id: &ClientId,
    token: Option<&str>,
) -> Result<Value, OAuthError> {
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
    id: &ClientId,
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
pub async fn delete(
    state: &AppState,
    id: &ClientId,
    token: Option<&str>,
) -> Result<(), OAuthError> {
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
    store::clients::delete_unconsented(db, ClientOrigin::Dynamic, now - STALE_AFTER_SECS).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::grant_type::GrantType;
    use crate::oauth::scope;

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
            "grant_types": [GrantType::DeviceCode.as_str(), "refresh_token"],
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
