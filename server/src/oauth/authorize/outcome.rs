//! What the endpoint answers, for `http/` to turn into a response.

use crate::domain::resource::Resources;
use crate::domain::scope::Scopes;
use crate::error::PageError;

/// What the endpoint answers.
#[derive(Debug)]
pub enum Outcome {
    /// Shown to the user; never a redirect (RFC 6749 §4.1.2.1).
    Page(PageError),
    /// A redirect to the client (code or error).
    Redirect(String),
    /// Sign in first, then come back to `return_to`.
    Login {
        return_to: String,
        force: bool,
    },
    /// Prove a second factor in this session (step-up), then come back.
    SecondFactor {
        return_to: String,
    },
    Consent(ConsentScreen),
}

/// What the consent screen shows: facts only, never the client's own
/// claims about itself as if they were facts.
#[derive(Debug, Clone)]
pub struct ConsentScreen {
    pub request_id: String,
    /// The client's name, cleaned for display (self-asserted unless verified).
    pub client_name: String,
    /// The host the browser is sent to with the answer (the redirect URI's).
    pub destination: String,
    /// Created by an administrator; otherwise it described itself.
    pub verified: bool,
    /// The host that served a metadata-document client's description.
    pub published_by: Option<String>,
    pub scopes: Scopes,
    pub resources: Resources,
}
