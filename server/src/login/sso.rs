//! Enterprise SSO: an organisation's OpenID Connect connection, bound to an
//! email domain once the domain is proved, and where an address in that
//! domain signs in.

use crate::error::Error;
use crate::login::email::Email;
use crate::state::AppState;

/// Where an address's domain sends its people to sign in.
#[derive(Debug, Clone)]
pub struct SsoRoute {
    /// The provider id (`sso-<connection id>`).
    pub provider_id: String,
    pub domain: String,
}

/// The SSO connection an address must sign in through, if its domain has a
/// proved one.
pub async fn route_for(_state: &AppState, email: &str) -> Result<Option<SsoRoute>, Error> {
    let Some(_email) = Email::parse(email) else {
        return Ok(None);
    };
    Ok(None)
}
