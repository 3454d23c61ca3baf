//! The client metadata rules (RFC 7591 §2, OIDC Registration §2, OIDC
//! RP-Initiated Logout §3.1, draft-ietf-oauth-client-id-metadata-document §4):
//! one validator for every way a client comes to exist — an administrator
//! (`portcullis client create`), dynamic registration (RFC 7591) and a client
//! ID metadata document. What differs between them is a [`Policy`], chosen by
//! [`ClientOrigin`]:
//!
//! - an administrator may give any grant type and any well-formed scope, and
//!   is told in terms of the command's flags;
//! - a dynamically registered client is a stranger who gets an answer: its
//!   lists are de-duplicated and bounded, anything malformed or not offered
//!   here is refused with the RFC 7591 §3.2.2 error that names it;
//! - a metadata document is written for many servers and nobody reads our
//!   refusal: it describes a code-flow client (redirect URIs required), is
//!   public unless it carries its keys, scopes this deployment does not offer
//!   are dropped and a disguised name is cleaned rather than refused.

mod grants;
mod policy;
mod text;
mod uris;

use serde_json::Value;

use crate::domain::grant_type::GrantType;
use crate::oauth::client::model::ClientMetadata;

pub use policy::Policy;

/// The only response type this server issues (RFC 6749 §4.1).
const RESPONSE_TYPE_CODE: &str = "code";
/// ID token signing algorithms a client may ask for (OIDC Registration §2).
const ID_TOKEN_ALGS: &[&str] = &["RS256", "ES256", "EdDSA"];
/// Bounds that keep one registration small.
const MAX_URIS: usize = 20;
const MAX_URI_LEN: usize = 2048;
const MAX_CONTACTS: usize = 10;
const MAX_TEXT_LEN: usize = 255;
/// A document's name is cut to this many characters.
const MAX_DOCUMENT_NAME: usize = 200;

/// Grant types a client that describes itself may use: `client_credentials`
/// clients are created by an administrator.
const SELF_DESCRIBED_GRANTS: &[GrantType] = &[
    GrantType::AuthorizationCode,
    GrantType::RefreshToken,
    GrantType::DeviceCode,
];

/// Client metadata as asked for (RFC 7591 §2), whatever the origin. `None`
/// is absent.
#[derive(Debug, Default, Clone)]
pub struct Requested {
    pub client_name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
    pub token_endpoint_auth_method: Option<String>,
    pub scope: Option<String>,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub jwks: Option<Value>,
    pub jwks_uri: Option<String>,
    pub id_token_signed_response_alg: Option<String>,
    pub contacts: Option<Vec<String>>,
    pub software_id: Option<String>,
    pub software_version: Option<String>,
    /// Resources (RFC 8707) the client is narrowed to (administrators only).
    pub resources: Vec<String>,
}

/// Checked metadata and the name to show, ready to store.
#[derive(Debug, Clone)]
pub struct Checked {
    pub name: String,
    pub metadata: ClientMetadata,
}

/// Which RFC 7591 §3.2.2 error a refusal is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `invalid_redirect_uri`.
    RedirectUri,
    /// `invalid_client_metadata`.
    Metadata,
}

/// Why metadata was refused, in the words of its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub fault: Fault,
    pub message: String,
}

fn metadata(message: impl Into<String>) -> Violation {
    Violation {
        fault: Fault::Metadata,
        message: message.into(),
    }
}

fn redirect(message: impl Into<String>) -> Violation {
    Violation {
        fault: Fault::RedirectUri,
        message: message.into(),
    }
}

/// Checks `req` under `policy` and fills in the defaults. The checks run in
/// one order for every origin; the first refusal is returned.
pub fn check(req: &Requested, policy: &Policy) -> Result<Checked, Violation> {
    let auth_method = grants::auth_method(req, policy)?;
    let grant_types = grants::grant_types(req, policy, &auth_method)?;
    let uses_code = grant_types
        .iter()
        .any(|g| g == GrantType::AuthorizationCode.as_str());
    let response_types = grants::response_types(req, policy, uses_code)?;
    let redirect_uris = uris::redirect_uris(req, policy, uses_code)?;
    let post_logout_redirect_uris = uris::post_logout_redirect_uris(req, policy)?;
    grants::keys_for(&auth_method, req, policy)?;
    let (jwks, jwks_uri) = uris::client_keys(req, policy)?;
    let client_uri = uris::web_url(policy, "client_uri", req.client_uri.as_deref())?;
    let name = text::client_name(req, policy, &redirect_uris, client_uri.as_deref())?;
    let metadata = ClientMetadata {
        redirect_uris,
        grant_types,
        response_types,
        token_endpoint_auth_method: auth_method,
        scope: text::client_scope(req, policy)?,
        client_uri,
        logo_uri: uris::web_url(policy, "logo_uri", req.logo_uri.as_deref())?,
        post_logout_redirect_uris,
        jwks_uri,
        jwks,
        id_token_signed_response_alg: text::id_token_alg(req, policy)?,
        resources: uris::resources(req)?,
        contacts: text::contacts(req, policy)?,
        software_id: text::short_text("software_id", req.software_id.as_deref())?,
        software_version: text::short_text("software_version", req.software_version.as_deref())?,
    };
    Ok(Checked { name, metadata })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::scope::Allowlist;

    fn offered() -> Allowlist {
        let settings = crate::config::Settings::load_from(vec![]).unwrap_or_else(|e| panic!("{e}"));
        Allowlist::from_settings(&settings)
    }

    fn asking(scope: &str) -> Requested {
        Requested {
            client_name: Some("App".into()),
            redirect_uris: Some(vec!["https://app.example/cb".into()]),
            scope: Some(scope.into()),
            ..Requested::default()
        }
    }

    #[test]
    fn one_rule_three_policies_for_scopes_not_offered() {
        let offered = offered();
        let req = asking("openid admin:all");
        let admin = check(&req, &Policy::admin()).map(|c| c.metadata.scope);
        assert_eq!(admin.as_deref(), Ok("openid admin:all"));
        let dynamic = check(&req, &Policy::dynamic(&offered)).map(|c| c.metadata.scope);
        assert_eq!(dynamic.map_err(|v| v.fault), Err(Fault::Metadata));
        let url = "https://app.example/client.json";
        let document = check(&req, &Policy::document(url, &offered)).map(|c| c.metadata.scope);
        assert_eq!(document.as_deref(), Ok("openid"));
    }

    #[test]
    fn defaults_follow_the_origin() {
        let offered = offered();
        let req = Requested {
            client_name: Some("App".into()),
            redirect_uris: Some(vec!["https://app.example/cb".into()]),
            ..Requested::default()
        };
        let admin = check(&req, &Policy::admin()).unwrap_or_else(|v| panic!("{v:?}"));
        assert_eq!(
            admin.metadata.grant_types,
            vec!["authorization_code", "refresh_token"]
        );
        assert_eq!(
            admin.metadata.token_endpoint_auth_method,
            "client_secret_basic"
        );
        let url = "https://app.example/client.json";
        let document =
            check(&req, &Policy::document(url, &offered)).unwrap_or_else(|v| panic!("{v:?}"));
        assert_eq!(document.metadata.grant_types, vec!["authorization_code"]);
        assert_eq!(document.metadata.token_endpoint_auth_method, "none");
        assert_eq!(document.metadata.response_types, vec!["code"]);
    }

    #[test]
    fn client_credentials_is_for_an_administrators_confidential_client() {
        let offered = offered();
        let req = Requested {
            client_name: Some("Service".into()),
            grant_types: Some(vec!["client_credentials".into()]),
            ..Requested::default()
        };
        assert!(check(&req, &Policy::admin()).is_ok());
        let public = Requested {
            token_endpoint_auth_method: Some("none".into()),
            ..req.clone()
        };
        assert!(check(&public, &Policy::admin()).is_err());
        assert!(check(&req, &Policy::dynamic(&offered)).is_err());
    }
}
