//! Authorization server metadata: OpenID Connect Discovery 1.0 §3 and RFC 8414
//! §2, served identically at both well-known paths. Built once from the
//! settings and kept serialised.

use bytes::Bytes;
use serde_json::{Value, json};

use crate::config::{ConfigError, Settings};
use crate::domain::grant_type::GrantType;
use crate::oauth::scope::Allowlist;

/// Client authentication methods (RFC 6749 §2.3, RFC 7523 §2.2).
const AUTH_METHODS: [&str; 4] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "none",
];

/// Introspection needs an authenticated client (RFC 7662 §2.1): no `none`.
const INTROSPECTION_AUTH_METHODS: [&str; 3] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
];

pub struct Discovery {
    /// The metadata document, serialised (shared: answering copies nothing).
    pub document: Bytes,
    /// The issuer exactly as configured; every URL below is built from it.
    pub issuer: String,
    /// Where people enter a device's user code (RFC 8628 §3.2
    /// `verification_uri`), built once rather than per device request.
    pub device_verification_uri: String,
    /// The scopes this deployment offers; `scopes_supported` lists exactly these.
    pub scopes: Allowlist,
}

impl Discovery {
    pub fn new(settings: &Settings) -> Result<Self, ConfigError> {
        let iss = settings.issuer.as_str();
        let scopes = Allowlist::from_settings(settings);
        let doc: Value = json!({
            "issuer": iss,
            "authorization_endpoint": settings.endpoint("/oauth2/authorize"),
            "token_endpoint": settings.endpoint("/oauth2/token"),
            "userinfo_endpoint": settings.endpoint("/oauth2/userinfo"),
            "jwks_uri": settings.endpoint("/oauth2/jwks"),
            "registration_endpoint": settings.endpoint("/oauth2/register"),
            "introspection_endpoint": settings.endpoint("/oauth2/introspect"),
            "revocation_endpoint": settings.endpoint("/oauth2/revoke"),
            "end_session_endpoint": settings.endpoint("/oauth2/end_session"),
            "device_authorization_endpoint": settings.endpoint("/oauth2/device_authorization"),
            "grant_types_supported": GrantType::ALL.map(GrantType::as_str),
            "token_endpoint_auth_methods_supported": AUTH_METHODS,
            "token_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256", "EdDSA"],
            "introspection_endpoint_auth_methods_supported": INTROSPECTION_AUTH_METHODS,
            "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
            "scopes_supported": scopes.offered(),
            "acr_values_supported": crate::login::assurance::ACR_VALUES,
            "claims_supported": [
                "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid",
                "name", "email", "email_verified", "picture", "org_id"
            ],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": true,
            "client_id_metadata_document_supported": true,
            "claims_parameter_supported": false,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
        });
        let document =
            serde_json::to_vec(&doc).map_err(|e| ConfigError(format!("discovery: {e}")))?;
        Ok(Discovery {
            document: document.into(),
            issuer: iss.to_string(),
            device_verification_uri: settings.endpoint("/device"),
            scopes,
        })
    }
}
