//! What the checks produce: the recipient of the answer, then the whole
//! checked request that the session, consent and code steps read (and the
//! consent screen carries to its answer).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use url::Url;

use super::outcome::Outcome;
use super::params::Params;
use crate::domain::resource::Resources;
use crate::domain::scope::Scopes;
use crate::error::{Error, OAuthErrorCode, PageError};
use crate::oauth::client::Client;

/// Who gets the answer: a registered client and a redirect URI registered
/// for it (RFC 6749 §3.1.2), known before any other parameter is read.
pub(super) struct Recipient {
    pub client: Arc<Client>,
    pub redirect_uri: String,
    /// Echoed exactly as received (RFC 6749 §4.1.2).
    pub state: Option<String>,
    /// Whether errors go back to the redirect URI (see `errors_may_redirect`
    /// in `checks.rs`); otherwise they are shown here.
    pub errors_redirect: bool,
}

impl Recipient {
    /// An error response (RFC 6749 §4.1.2.1), or a page when errors may not
    /// go to this client.
    pub fn error(&self, issuer: &str, refusal: Refusal) -> Outcome {
        let code = serde_json::to_value(refusal.code)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        if !self.errors_redirect {
            // The description can quote the request, which anyone can write.
            let description: String = crate::oauth::display_text::clean(&refusal.description)
                .chars()
                .take(200)
                .collect();
            return Outcome::Page(PageError::bad_request(format!(
                "The application \u{201c}{}\u{201d} sent a request that cannot be completed \
                 ({code}: {description}). You were not sent back to it: nobody here has \
                 verified it, and you have not approved it.",
                self.client.display_name()
            )));
        }
        Outcome::Redirect(self.redirect_with(
            &[
                ("error", &code),
                ("error_description", &refusal.description),
            ],
            issuer,
        ))
    }

    /// The redirect URI with response parameters appended to its query, plus
    /// `state` exactly as received and `iss` (RFC 9207 §2).
    pub fn redirect_with(&self, pairs: &[(&str, &str)], issuer: &str) -> String {
        let Ok(mut url) = Url::parse(&self.redirect_uri) else {
            return self.redirect_uri.clone();
        };
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in pairs {
                q.append_pair(k, v);
            }
            if let Some(s) = &self.state {
                q.append_pair("state", s);
            }
            q.append_pair("iss", issuer);
        }
        url.to_string()
    }
}

/// An error for the client (RFC 6749 §4.1.2.1): its code and description.
#[derive(Debug)]
pub(super) struct Refusal {
    pub code: OAuthErrorCode,
    pub description: String,
}

pub(super) fn refuse(code: OAuthErrorCode, description: impl Into<String>) -> Refusal {
    Refusal {
        code,
        description: description.into(),
    }
}

/// Why the steps after the parameter checks stop short of a code.
pub(super) enum Stop {
    /// The answer for now: an error for the client, or the user has to act
    /// (sign in, give a second factor, consent).
    Answer(Outcome),
    Fail(Error),
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Stop::Fail(e)
    }
}

/// The answer a run of steps came to.
pub(super) fn settle(steps: Result<Outcome, Stop>) -> Result<Outcome, Error> {
    match steps {
        Ok(outcome) | Err(Stop::Answer(outcome)) => Ok(outcome),
        Err(Stop::Fail(e)) => Err(e),
    }
}

/// `prompt` (OIDC Core §3.1.2.1). `select_account` is accepted: there is
/// only ever the signed-in account to select.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub(super) struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// An authorization request that passed every parameter check.
pub(super) struct Request {
    pub to: Recipient,
    pub scopes: Scopes,
    pub resources: Resources,
    /// The PKCE challenge (RFC 7636 §4.3), `S256`.
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    /// `max_age` in seconds (OIDC Core §3.1.2.1).
    pub max_age: Option<i64>,
    /// As received: `nonce`, `acr_values`, the `redirect_uri` as sent (the
    /// token request must repeat it, RFC 6749 §4.1.3), and the query for a
    /// trip through `/login`.
    pub params: Params,
}

impl Request {
    /// An error for the client, ending the steps.
    pub fn refuse(&self, issuer: &str, code: OAuthErrorCode, description: &str) -> Stop {
        Stop::Answer(self.to.error(issuer, refuse(code, description)))
    }
}
