//! Authorization server metadata: OpenID Connect Discovery 1.0 §3 and RFC 8414
//! §2, served identically at both well-known paths. Built once from the
//! settings and kept serialised.

use serde_json::{Value, json};
use url::Url;

use crate::config::{ConfigError, Settings};
use crate::oauth::scope::SUPPORTED_SCOPES;

pub struct Discovery {
    /// The metadata document, serialised.
    pub document: String,
    /// The issuer exactly as configured; every URL below is built from it.
    pub issuer: String,
}

/// `issuer` + `path`, keeping any path the issuer has (`https://x/auth` →
/// `https://x/auth/oauth2/token`).
pub fn endpoint(issuer: &str, path: &str) -> String {
    match Url::parse(issuer) {
        Ok(mut u) => {
            let joined = format!("{}{}", u.path().trim_end_matches('/'), path);
            u.set_path(&joined);
            u.to_string()
        }
        Err(_) => format!("{}{}", issuer.trim_end_matches('/'), path),
    }
}

impl Discovery {
    pub fn new(settings: &Settings) -> Result<Self, ConfigError> {
        let iss = settings.issuer.as_str();
        let doc: Value = json!({
            "issuer": iss,
            "authorization_endpoint": endpoint(iss, "/oauth2/authorize"),
            "jwks_uri": endpoint(iss, "/oauth2/jwks"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
            "scopes_supported": SUPPORTED_SCOPES,
            "claims_supported": [
                "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid",
                "name", "email", "email_verified", "picture", "org_id"
            ],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": true,
            "claims_parameter_supported": false,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
        });
        let document =
            serde_json::to_string(&doc).map_err(|e| ConfigError(format!("discovery: {e}")))?;
        Ok(Discovery {
            document,
            issuer: iss.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::endpoint;

    #[test]
    fn endpoints_keep_the_issuer_path() {
        assert_eq!(
            endpoint("http://localhost:8080", "/oauth2/jwks"),
            "http://localhost:8080/oauth2/jwks"
        );
        assert_eq!(
            endpoint("https://x.io/auth/", "/oauth2/jwks"),
            "https://x.io/auth/oauth2/jwks"
        );
        assert_eq!(
            endpoint("https://x.io/auth", "/oauth2/jwks"),
            "https://x.io/auth/oauth2/jwks"
        );
    }
}
