//! Registered clients and their metadata (RFC 7591 §2). Admin registration
//! (`portcullis client create`) lives here; dynamic registration reuses the
//! same metadata checks.

use entities::clients;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::Error;
use crate::oauth::redirect::check_registrable;
use crate::oauth::scope::{self, DEFAULT_CLIENT_SCOPE};
use crate::tokens::opaque;

/// Grant types (RFC 7591 §2 `grant_types`).
pub const GRANT_AUTHORIZATION_CODE: &str = "authorization_code";
pub const GRANT_REFRESH_TOKEN: &str = "refresh_token";
pub const GRANT_CLIENT_CREDENTIALS: &str = "client_credentials";
pub const GRANT_DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";
const KNOWN_GRANTS: &[&str] = &[
    GRANT_AUTHORIZATION_CODE,
    GRANT_REFRESH_TOKEN,
    GRANT_CLIENT_CREDENTIALS,
    GRANT_DEVICE_CODE,
];

/// Where a client came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Admin,
    Dynamic,
    MetadataDocument,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Admin => "admin",
            Origin::Dynamic => "dynamic",
            Origin::MetadataDocument => "metadata_document",
        }
    }
}

/// The client metadata we keep (RFC 7591 §2); stored as JSON.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct ClientMetadata {
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub grant_types: Vec<String>,
    #[serde(default)]
    pub response_types: Vec<String>,
    pub token_endpoint_auth_method: String,
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_signed_response_alg: Option<String>,
    /// Resources (RFC 8707) this client may ask tokens for; empty means all of
    /// the deployment's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// People responsible for the client, usually email addresses (RFC 7591 §2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<String>,
    /// The client software's identifier, stable across instances (RFC 7591 §2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_id: Option<String>,
    /// The client software's version (RFC 7591 §2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_version: Option<String>,
}

/// A client as the protocol code sees it.
#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub name: String,
    pub secret_hash: Option<String>,
    pub metadata: ClientMetadata,
    pub origin: String,
    pub trusted: bool,
    pub created_at: i64,
    /// May introspect tokens issued to other clients: a protected resource
    /// (RFC 7662 §4). Set by an administrator only.
    pub resource_server: bool,
    /// Exempt from PKCE in the code flow. Set by an administrator only.
    pub pkce_optional: bool,
}

impl Client {
    pub fn from_row(row: clients::Model) -> Result<Self, Error> {
        let metadata: ClientMetadata = serde_json::from_str(&row.metadata)
            .map_err(|e| Error::internal(format!("client {} metadata: {e}", row.id)))?;
        Ok(Client {
            id: row.id,
            name: row.name,
            secret_hash: row.secret_hash,
            metadata,
            origin: row.origin,
            trusted: row.trusted,
            created_at: row.created_at,
            resource_server: row.resource_server,
            pkce_optional: row.pkce_optional,
        })
    }

    pub fn is_public(&self) -> bool {
        self.metadata.token_endpoint_auth_method == "none"
    }

    /// Whether the code flow needs PKCE (OAuth 2.1 §4.1.1): always, unless an
    /// administrator exempted this confidential client.
    pub fn requires_pkce(&self) -> bool {
        self.is_public() || !self.pkce_optional
    }

    /// Whether an administrator created this client. Others described
    /// themselves (dynamic registration, metadata documents): nobody here
    /// vouches for their name, URIs or logo.
    pub fn is_verified(&self) -> bool {
        self.origin == Origin::Admin.as_str()
    }

    /// For a metadata-document client, the host its description was fetched
    /// from: a fact about it, unlike `client_uri` (draft §6).
    pub fn published_by(&self) -> Option<String> {
        if self.origin != Origin::MetadataDocument.as_str() {
            return None;
        }
        url::Url::parse(&self.id)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
    }

    /// The name as it may be shown to a person: rows stored before names
    /// were checked may still hold characters that disguise it.
    pub fn display_name(&self) -> String {
        crate::oauth::display_text::clean(&self.name)
    }

    /// The RFC 7591 §3.2.1 response shape, with the secret when just issued.
    pub fn registration_response(&self, secret: Option<&str>) -> Value {
        let mut v = serde_json::to_value(&self.metadata).unwrap_or_else(|_| json!({}));
        v["client_id"] = json!(self.id);
        v["client_name"] = json!(self.name);
        v["client_id_issued_at"] = json!(self.created_at);
        if let Some(s) = secret {
            v["client_secret"] = json!(s);
            // RFC 7591 §3.2.1: 0 means the secret does not expire.
            v["client_secret_expires_at"] = json!(0);
        }
        v
    }
}

/// What an admin asks for with `portcullis client create`.
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    pub name: String,
    pub grant_types: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub scope: Option<String>,
    pub public: bool,
    pub trusted: bool,
    /// Resources (RFC 8707) the client is narrowed to; empty = all of the deployment's.
    pub resources: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// `id_token_signed_response_alg`: RS256 (OIDC's default) when unset.
    pub id_token_alg: Option<String>,
    /// May introspect other clients' tokens (a protected resource); confidential only.
    pub resource_server: bool,
    /// Exempt from PKCE in the code flow; confidential only.
    pub pkce_optional: bool,
}

/// A checked client ready to store, and its secret (shown once).
pub struct Registered {
    pub client: Client,
    pub row: clients::Model,
    pub secret: Option<String>,
}

/// Validates an admin's request and builds the client. Confidential clients get
/// a 256-bit secret, stored as SHA-256.
pub fn build_admin_client(req: NewClient, now: i64) -> Result<Registered, String> {
    let name = req.name.trim();
    if name.is_empty() {
        return Err("--name must not be empty".into());
    }
    if !crate::oauth::display_text::is_clean(name) {
        return Err("--name contains control, invisible or text-direction characters".into());
    }
    let grants = if req.grant_types.is_empty() {
        vec![
            GRANT_AUTHORIZATION_CODE.to_string(),
            GRANT_REFRESH_TOKEN.to_string(),
        ]
    } else {
        req.grant_types.clone()
    };
    for g in &grants {
        if !KNOWN_GRANTS.contains(&g.as_str()) {
            return Err(format!(
                "unknown grant type {g:?} (expected one of {})",
                KNOWN_GRANTS.join(", ")
            ));
        }
    }
    if req.public && grants.iter().any(|g| g == GRANT_CLIENT_CREDENTIALS) {
        return Err("a --public client cannot use client_credentials".into());
    }
    // A public client cannot prove who introspects, and without PKCE its
    // codes could be redeemed by whoever intercepts them.
    if req.public && req.resource_server {
        return Err("a --public client cannot be a --resource-server".into());
    }
    // Introspection answers a resource server only about tokens for it.
    if req.resource_server && req.resources.is_empty() {
        return Err(
            "a --resource-server needs a --resource: the audience of the tokens it may introspect"
                .into(),
        );
    }
    if req.public && req.pkce_optional {
        return Err("a --public client cannot be --pkce-optional".into());
    }
    if grants.iter().any(|g| g == GRANT_AUTHORIZATION_CODE) && req.redirect_uris.is_empty() {
        return Err("authorization_code needs at least one --redirect-uri".into());
    }
    for uri in req
        .redirect_uris
        .iter()
        .chain(&req.post_logout_redirect_uris)
    {
        check_registrable(uri)?;
    }
    for r in &req.resources {
        match url::Url::parse(r) {
            Ok(u) if u.fragment().is_none() => {}
            _ => {
                return Err(format!(
                    "--resource {r:?} must be an absolute URI without fragment (RFC 8707)"
                ));
            }
        }
    }
    let scope_str = req
        .scope
        .clone()
        .unwrap_or_else(|| DEFAULT_CLIENT_SCOPE.to_string());
    let scopes = scope::parse(&scope_str);
    if let Some(bad) = scopes.iter().find(|s| !scope::is_valid_token(s)) {
        return Err(format!("invalid scope {bad:?}"));
    }
    if let Some(alg) = &req.id_token_alg
        && !["RS256", "ES256", "EdDSA"].contains(&alg.as_str())
    {
        return Err(format!(
            "--id-token-alg {alg:?} must be RS256, ES256 or EdDSA"
        ));
    }
    let metadata = ClientMetadata {
        redirect_uris: req.redirect_uris.clone(),
        response_types: if grants.iter().any(|g| g == GRANT_AUTHORIZATION_CODE) {
            vec!["code".into()]
        } else {
            vec![]
        },
        grant_types: grants,
        token_endpoint_auth_method: if req.public {
            "none"
        } else {
            "client_secret_basic"
        }
        .into(),
        scope: scopes.join(" "),
        resources: req.resources.clone(),
        post_logout_redirect_uris: req.post_logout_redirect_uris.clone(),
        id_token_signed_response_alg: req.id_token_alg.clone(),
        ..Default::default()
    };
    let secret = (!req.public).then(|| opaque::new_prefixed_secret("pcs_"));
    let id = opaque::new_id();
    let row = clients::Model {
        id: id.clone(),
        name: name.to_string(),
        secret_hash: secret.as_deref().map(opaque::hash_secret),
        metadata: serde_json::to_string(&metadata).map_err(|e| e.to_string())?,
        origin: Origin::Admin.as_str().into(),
        trusted: req.trusted,
        registration_token_hash: None,
        created_at: now,
        resource_server: req.resource_server,
        pkce_optional: req.pkce_optional,
    };
    let client = Client::from_row(row.clone()).map_err(|e| e.to_string())?;
    Ok(Registered {
        client,
        row,
        secret,
    })
}

/// Clients served from a short-lived cache (DESIGN §1.2): a change made on
/// another instance is seen within [`CLIENT_CACHE_SECS`].
pub const CLIENT_CACHE_SECS: u64 = 30;

pub type ClientCache = moka::future::Cache<String, std::sync::Arc<Client>>;

pub fn new_cache() -> ClientCache {
    moka::future::Cache::builder()
        .max_capacity(50_000)
        .time_to_live(std::time::Duration::from_secs(CLIENT_CACHE_SECS))
        .build()
}

/// A registered client by `client_id`.
pub async fn find(
    state: &crate::AppState,
    id: &str,
) -> Result<Option<std::sync::Arc<Client>>, Error> {
    find_for(state, id, None).await
}

/// [`find`] for a request from `address` (the client address, where the
/// caller has one): a metadata document fetched for it is counted against
/// that address first.
pub async fn find_for(
    state: &crate::AppState,
    id: &str,
    address: Option<&str>,
) -> Result<Option<std::sync::Arc<Client>>, Error> {
    if let Some(c) = state.caches.clients.get(id).await {
        return Ok(Some(c));
    }
    // A URL names its own metadata: always fetched, never trusted from the
    // table alone (the row exists for the tokens that reference it).
    if crate::oauth::client_metadata::is_document_url(id) {
        let found = crate::oauth::client_metadata::resolve(state, id, address).await?;
        if let Some(c) = &found {
            state.caches.clients.insert(id.to_string(), c.clone()).await;
        }
        return Ok(found);
    }
    let Some(row) = crate::store::clients::find(&state.db, id).await? else {
        return Ok(None);
    };
    let client = std::sync::Arc::new(Client::from_row(row)?);
    state
        .caches
        .clients
        .insert(id.to_string(), client.clone())
        .await;
    Ok(Some(client))
}

/// Drops a client from this instance's cache after it changed.
pub async fn forget(state: &crate::AppState, id: &str) {
    state.caches.clients.invalidate(id).await;
}

/// Token endpoint authentication methods (RFC 7591 §2 `token_endpoint_auth_method`).
pub const AUTH_NONE: &str = "none";
pub const AUTH_CLIENT_SECRET_BASIC: &str = "client_secret_basic";
pub const AUTH_CLIENT_SECRET_POST: &str = "client_secret_post";
pub const AUTH_PRIVATE_KEY_JWT: &str = "private_key_jwt";
pub const TOKEN_ENDPOINT_AUTH_METHODS: &[&str] = &[
    AUTH_NONE,
    AUTH_CLIENT_SECRET_BASIC,
    AUTH_CLIENT_SECRET_POST,
    AUTH_PRIVATE_KEY_JWT,
];

/// Whether a client authenticating this way is issued a `client_secret`.
pub fn uses_client_secret(auth_method: &str) -> bool {
    auth_method == AUTH_CLIENT_SECRET_BASIC || auth_method == AUTH_CLIENT_SECRET_POST
}
