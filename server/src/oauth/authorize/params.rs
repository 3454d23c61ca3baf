//! The authorization request's parameters as received (RFC 6749 §4.1.1,
//! OIDC Core §3.1.2.1), before any check.

use serde::{Deserialize, Serialize};

/// Internal parameter added to the return trip through `/login`: the session
/// must have authenticated at or after this time (`prompt=login`, `max_age`).
pub(super) const AUTH_AFTER: &str = "pc_auth_after";

/// The authorization request's parameters (RFC 6749 §4.1.1 and extensions).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Params {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub response_mode: Option<String>,
    pub login_hint: Option<String>,
    pub acr_values: Option<String>,
    pub request: Option<String>,
    pub request_uri: Option<String>,
    #[serde(default)]
    pub resource: Vec<String>,
    /// `pc_auth_after=<time>.<mac>`: set by us on the way to `/login`, only
    /// trusted when the MAC checks out (a forged one would skip re-authentication).
    pub auth_after: Option<String>,
    /// A parameter that appeared more than once (RFC 6749 §3.1 forbids it).
    #[serde(skip)]
    pub duplicate: Option<String>,
    /// The address the request came from (not a parameter): a metadata
    /// document it makes us fetch counts against that address's budget.
    #[serde(skip)]
    pub address: Option<String>,
}

impl Params {
    /// From decoded query or form pairs. Only `resource` may repeat (RFC 8707 §2).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Params {
        let mut p = Params::default();
        for (k, v) in pairs {
            let v = v.to_string();
            let slot = match k {
                "resource" => {
                    p.resource.push(v);
                    continue;
                }
                AUTH_AFTER => {
                    p.auth_after = Some(v);
                    continue;
                }
                "response_type" => &mut p.response_type,
                "client_id" => &mut p.client_id,
                "redirect_uri" => &mut p.redirect_uri,
                "scope" => &mut p.scope,
                "state" => &mut p.state,
                "nonce" => &mut p.nonce,
                "code_challenge" => &mut p.code_challenge,
                "code_challenge_method" => &mut p.code_challenge_method,
                "prompt" => &mut p.prompt,
                "max_age" => &mut p.max_age,
                "response_mode" => &mut p.response_mode,
                "login_hint" => &mut p.login_hint,
                "acr_values" => &mut p.acr_values,
                "request" => &mut p.request,
                "request_uri" => &mut p.request_uri,
                _ => continue, // unknown parameters are ignored (RFC 6749 §3.1)
            };
            if slot.is_some() && p.duplicate.is_none() {
                p.duplicate = Some(k.to_string());
            }
            *slot = Some(v);
        }
        p
    }

    /// Back into a query string (for the trip through `/login`).
    pub fn to_query(&self) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        let fields = [
            ("response_type", &self.response_type),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("scope", &self.scope),
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
            ("prompt", &self.prompt),
            ("max_age", &self.max_age),
            ("response_mode", &self.response_mode),
            ("login_hint", &self.login_hint),
            ("acr_values", &self.acr_values),
        ];
        for (k, v) in fields {
            if let Some(v) = v {
                s.append_pair(k, v);
            }
        }
        for r in &self.resource {
            s.append_pair("resource", r);
        }
        if let Some(t) = &self.auth_after {
            s.append_pair(AUTH_AFTER, t);
        }
        s.finish()
    }
}
