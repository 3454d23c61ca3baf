//! The token endpoint (RFC 6749 §3.2): the grant type picks one file.

pub mod authorization_code;
pub mod client_credentials;
pub mod device_code;
pub mod issue;
pub mod refresh_token;

use std::sync::Arc;

use crate::domain::resource::Resources;
use crate::domain::scope::Scopes;
use crate::error::{OAuthError, OAuthErrorCode};
use crate::oauth::client::Client;
use crate::state::AppState;

/// The grants this endpoint knows.
pub use crate::domain::grant_type::GrantType;

/// The token request's parameters (client authentication already removed).
/// Its `Debug` names which secrets were sent, never their values: a log line
/// must not hand out a code, a verifier or a refresh token.
#[derive(Default)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    pub resource: Vec<String>,
    pub device_code: Option<String>,
}

/// A parameter the grant cannot go without (`invalid_request`, RFC 6749 §5.2).
pub fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, OAuthError> {
    value
        .as_deref()
        .ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
}

impl TokenRequest {
    /// The `scope` parameter, parsed and bounded, when one was sent.
    pub fn requested_scopes(&self) -> Result<Option<Scopes>, OAuthError> {
        self.scope
            .as_deref()
            .map(Scopes::parse_requested)
            .transpose()
            .map_err(OAuthError::invalid_scope)
    }
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("TokenRequest")
            .field("grant_type", &self.grant_type)
            .field("code", &secret(&self.code))
            .field("redirect_uri", &self.redirect_uri)
            .field("code_verifier", &secret(&self.code_verifier))
            .field("refresh_token", &secret(&self.refresh_token))
            .field("scope", &self.scope)
            .field("resource", &self.resource)
            .field("device_code", &secret(&self.device_code))
            .finish()
    }
}

/// Dispatches on `grant_type` and answers with the JSON body to send.
pub async fn exchange(
    state: &AppState,
    client: Arc<Client>,
    req: TokenRequest,
) -> Result<String, OAuthError> {
    let grant = match req.grant_type.as_deref() {
        None => return Err(OAuthError::invalid_request("grant_type is required")),
        Some(g) => GrantType::parse(g).ok_or_else(|| {
            OAuthError::new(
                OAuthErrorCode::UnsupportedGrantType,
                format!("grant_type {g:?} is not supported"),
            )
        })?,
    };
    if !client.allows(grant) {
        return Err(OAuthError::new(
            OAuthErrorCode::UnauthorizedClient,
            format!("this client may not use the {} grant", grant.as_str()),
        ));
    }
    match grant {
        GrantType::AuthorizationCode => authorization_code::exchange(state, &client, &req).await,
        GrantType::RefreshToken => refresh_token::exchange(state, &client, &req).await,
        GrantType::ClientCredentials => client_credentials::exchange(state, &client, &req).await,
        GrantType::DeviceCode => device_code::exchange(state, &client, &req).await,
    }
}

/// Whether a user's grant comes with a refresh token. The client must be
/// registered for the `refresh_token` grant; and where the grant is an
/// OpenID Connect one (`openid` granted) it must also have asked for, and
/// been granted, `offline_access` (OIDC Core §11): a relying party that only
/// signs the user in gets no long-lived credential it did not ask for.
/// `offline_access` is shown on the consent screen and allowed only to
/// clients registered with it, which is the consent §11 asks for (no
/// `prompt=consent` is demanded on top: a remembered consent already covers
/// it). Plain OAuth grants (no `openid`) know no `offline_access`, so the
/// registered grant type alone decides.
pub fn issues_refresh_token(client: &Client, granted: &[String]) -> bool {
    let has = |s: &str| granted.iter().any(|g| g == s);
    client.allows(GrantType::RefreshToken) && (!has("openid") || has("offline_access"))
}

/// A space-separated list as a grant stores it (its resources): distinct
/// values in order, split like a scope.
fn stored_list(stored: &str) -> Vec<String> {
    Scopes::parse(stored).into_vec()
}

/// The resources a token request may have from what its grant stored: a
/// narrower set may be asked for, never another (RFC 8707 §2,
/// `invalid_target`).
fn narrowed_resources(req: &TokenRequest, stored: &str) -> Result<Vec<String>, OAuthError> {
    Resources::within(&req.resource, &Resources::parse(stored))
        .map(Vec::from)
        .map_err(|d| OAuthError::new(OAuthErrorCode::InvalidTarget, d))
}

#[cfg(test)]
mod tests {
    use super::TokenRequest;

    #[test]
    fn debug_names_the_secrets_sent_but_never_their_values() {
        let req = TokenRequest {
            grant_type: Some("authorization_code".into()),
            code: Some("code-secret-1".into()),
            code_verifier: Some("verifier-secret-2".into()),
            refresh_token: Some("refresh-secret-3".into()),
            device_code: Some("device-secret-4".into()),
            ..TokenRequest::default()
        };
        let shown = format!("{req:?}");
        assert!(shown.contains("authorization_code"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
        for secret in [
            "code-secret-1",
            "verifier-secret-2",
            "refresh-secret-3",
            "device-secret-4",
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
