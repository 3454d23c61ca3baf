//! A client as the protocol code sees it, its stored metadata (RFC 7591 §2)
//! and the cache it is served from. Nothing here reaches for the application
//! state, so the state can hold the cache.

use entities::clients;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::client_origin::ClientOrigin;
use crate::domain::grant_type::GrantType;
use crate::domain::ids::ClientId;
use crate::error::Error;

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
    pub id: ClientId,
    pub name: String,
    pub secret_hash: Option<String>,
    pub metadata: ClientMetadata,
    pub origin: ClientOrigin,
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

    /// Whether the client registered `grant` (RFC 7591 §2 `grant_types`).
    pub fn allows(&self, grant: GrantType) -> bool {
        self.metadata
            .grant_types
            .iter()
            .any(|g| g == grant.as_str())
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
        self.origin == ClientOrigin::Admin
    }

    /// For a metadata-document client, the host its description was fetched
    /// from: a fact about it, unlike `client_uri` (draft §6).
    pub fn published_by(&self) -> Option<String> {
        if self.origin != ClientOrigin::MetadataDocument {
            return None;
        }
        url::Url::parse(self.id.as_str())
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

/// Clients served from a short-lived cache (DESIGN §1.2): a change made on
/// another instance is seen within [`CLIENT_CACHE_SECS`].
pub const CLIENT_CACHE_SECS: u64 = 30;

pub type ClientCache = moka::future::Cache<ClientId, std::sync::Arc<Client>>;

pub fn new_cache() -> ClientCache {
    moka::future::Cache::builder()
        .max_capacity(50_000)
        .time_to_live(std::time::Duration::from_secs(CLIENT_CACHE_SECS))
        .build()
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
