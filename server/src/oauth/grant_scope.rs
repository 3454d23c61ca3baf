//! The scope and audience of a grant that starts fresh, without a person's
//! consent to narrow it: client credentials (RFC 6749 §4.4) and a device
//! authorization request (RFC 8628 §3.1). Both the token endpoint and the
//! device flow use it, so it sits below both.

use crate::domain::scope::Scopes;
use crate::error::{OAuthError, OAuthErrorCode};
use crate::oauth::client::Client;
use crate::state::AppState;

/// What a request that starts a grant gets (client credentials, a device
/// authorization): the scopes it asked for within `allowed` (all of them when
/// it asked for none; RFC 6749 §3.3), the resources it named resolved for the
/// client (RFC 8707 §2), and the deployment's scope rules checked for both.
pub fn scopes_and_resources(
    state: &AppState,
    client: &Client,
    asked: Option<Scopes>,
    allowed: &Scopes,
    resource: &[String],
) -> Result<(Scopes, Vec<String>), OAuthError> {
    let scopes = Scopes::within(asked, allowed).map_err(|bad| {
        OAuthError::invalid_scope(format!("scope {bad:?} is not allowed for this client"))
    })?;
    let resources =
        crate::oauth::resource::resolve(resource, &state.settings, &client.metadata.resources)
            .map_err(|d| OAuthError::new(OAuthErrorCode::InvalidTarget, d))?;
    state
        .discovery
        .scopes
        .check(client.is_verified(), &scopes, &resources)
        .map_err(OAuthError::invalid_scope)?;
    Ok((scopes, resources))
}
