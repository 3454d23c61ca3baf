//! The authorization request's parameter checks, one function each, in the
//! order they run (node oidc-provider's `check_*` steps are the model):
//! client and redirect URI first, whose failures are shown and never
//! redirected (RFC 6749 §4.1.2.1), then the rest, whose failures go back to
//! the client as `error=…` (OIDC Core §3.1.2.2 validates in the same way).

use std::sync::Arc;

use super::params::Params;
use super::request::{Prompt, Recipient, Refusal, refuse};
use crate::domain::grant_type::GrantType;
use crate::domain::ids::ClientId;
use crate::domain::resource::Resources;
use crate::domain::scope::Scopes;
use crate::error::{Error, OAuthErrorCode, PageError};
use crate::login::session::SessionInfo;
use crate::oauth::client::{self, Client};
use crate::oauth::{pkce, redirect};
use crate::state::AppState;
use crate::store;

/// What the parameter checks establish beyond the recipient.
pub(super) struct Checked {
    pub scopes: Scopes,
    pub resources: Resources,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
}

/// The client and its redirect URI (RFC 6749 §4.1.2.1: problems with either
/// are shown to the user, never sent to the URI).
pub(super) async fn check_recipient(
    state: &AppState,
    p: &Params,
) -> Result<Result<Recipient, PageError>, Error> {
    let client = match check_client(state, p).await? {
        Ok(c) => c,
        Err(page) => return Ok(Err(page)),
    };
    Ok(
        check_redirect_uri(&client, p).map(|redirect_uri| Recipient {
            client,
            redirect_uri,
            state: p.state.clone(),
            errors_redirect: false,
        }),
    )
}

/// `client_id` names a registered client (RFC 6749 §4.1.1, §2.2), sent once.
async fn check_client(
    state: &AppState,
    p: &Params,
) -> Result<Result<Arc<Client>, PageError>, Error> {
    if matches!(p.duplicate.as_deref(), Some("client_id" | "redirect_uri")) {
        return Ok(Err(PageError::bad_request(
            "The request repeats client_id or redirect_uri.",
        )));
    }
    let Some(client_id) = p.client_id.as_deref().filter(|c| !c.is_empty()) else {
        return Ok(Err(PageError::bad_request(
            "The request names no client (client_id is missing).",
        )));
    };
    Ok(
        client::find_for(state, &ClientId::from(client_id), p.address.as_deref())
            .await?
            .ok_or_else(|| {
                PageError::bad_request("The application that sent you here is not registered.")
            }),
    )
}

/// `redirect_uri` is one the client registered (RFC 6749 §3.1.2.3; loopback
/// with any port, RFC 8252 §7.3), and may be left out only when it
/// registered exactly one (RFC 6749 §3.1.2.3).
fn check_redirect_uri(client: &Client, p: &Params) -> Result<String, PageError> {
    let registered = &client.metadata.redirect_uris;
    match p.redirect_uri.as_deref() {
        Some(r) if registered.iter().any(|reg| redirect::matches(reg, r)) => Ok(r.to_string()),
        Some(_) => Err(PageError::bad_request(
            "The application asked to return to an address it has not registered.",
        )),
        None if registered.len() == 1 => Ok(registered[0].clone()),
        None => Err(PageError::bad_request("The request has no redirect_uri.")),
    }
}

/// Whether an error may be sent to the client's redirect URI (RFC 6749
/// §4.1.2.1) rather than shown here. A self-described client (dynamic
/// registration, metadata document) chose its redirect URIs itself, so an
/// error redirect before the user has met it would make this server an open
/// redirector for anyone who registers (RFC 9700 §4.11.2): its errors go back
/// only once the signed-in user has approved it at least once. (The answer
/// to the consent screen, which named the destination, always may.)
pub(super) async fn errors_may_redirect(
    state: &AppState,
    client: &Client,
    session: Option<&SessionInfo>,
) -> Result<bool, Error> {
    if client.is_verified() {
        return Ok(true);
    }
    let Some(session) = session else {
        return Ok(false);
    };
    Ok(
        store::consents::find(&state.db, &session.user.id, &client.id)
            .await?
            .is_some(),
    )
}

/// Every other parameter, in order; the first failure is the answer.
pub(super) fn check_parameters(
    state: &AppState,
    p: &Params,
    client: &Client,
) -> Result<Checked, Refusal> {
    check_unique(p)?;
    check_response_type(p, client)?;
    let scopes = check_scope(p, client)?;
    let code_challenge = check_pkce(p, client)?;
    let resources = check_resource(state, p, client)?;
    check_scope_offered(state, client, &scopes, &resources)?;
    let (prompt, max_age) = check_prompt_and_max_age(p)?;
    Ok(Checked {
        scopes,
        resources,
        code_challenge,
        prompt,
        max_age,
    })
}

/// No parameter sent twice (RFC 6749 §3.1; `resource` may repeat, RFC 8707 §2).
fn check_unique(p: &Params) -> Result<(), Refusal> {
    match &p.duplicate {
        Some(d) => Err(refuse(
            OAuthErrorCode::InvalidRequest,
            format!("parameter {d} repeated"),
        )),
        None => Ok(()),
    }
}

/// `response_type=code` (RFC 6749 §4.1.1, §4.1.2.1 `unsupported_response_type`),
/// in the query response mode, without request objects (OIDC Core §6, not
/// supported), from a client allowed the code grant (`unauthorized_client`).
fn check_response_type(p: &Params, client: &Client) -> Result<(), Refusal> {
    match p.response_type.as_deref() {
        None => {
            return Err(refuse(
                OAuthErrorCode::InvalidRequest,
                "response_type is required",
            ));
        }
        Some("code") => {}
        Some(_) => {
            return Err(refuse(
                OAuthErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ));
        }
    }
    if p.request.is_some() || p.request_uri.is_some() {
        return Err(refuse(
            OAuthErrorCode::InvalidRequest,
            "request objects are not supported",
        ));
    }
    if p.response_mode.as_deref().is_some_and(|m| m != "query") {
        return Err(refuse(
            OAuthErrorCode::InvalidRequest,
            "only response_mode=query is supported",
        ));
    }
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(refuse(
            OAuthErrorCode::UnauthorizedClient,
            "this client may not use the authorization code grant",
        ));
    }
    Ok(())
}

/// The scopes asked for, within the client's registered scope; all of it
/// when none are asked for (RFC 6749 §3.3, `invalid_scope`).
fn check_scope(p: &Params, client: &Client) -> Result<Scopes, Refusal> {
    let allowed = Scopes::parse(&client.metadata.scope);
    let asked = p
        .scope
        .as_deref()
        .map(Scopes::parse_requested)
        .transpose()
        .map_err(|why| refuse(OAuthErrorCode::InvalidScope, why))?;
    Scopes::within(asked, &allowed).map_err(|bad| {
        refuse(
            OAuthErrorCode::InvalidScope,
            format!("scope {bad:?} is not allowed for this client"),
        )
    })
}

/// PKCE (RFC 7636 §4.3): `S256` only; required of every client (OAuth 2.1
/// §4.1.1) unless an administrator exempted it. The challenge, if any.
fn check_pkce(p: &Params, client: &Client) -> Result<Option<String>, Refusal> {
    let invalid = |d: &str| Err(refuse(OAuthErrorCode::InvalidRequest, d));
    match (
        p.code_challenge.as_deref(),
        p.code_challenge_method.as_deref(),
    ) {
        (Some(_), Some(m)) if m != "S256" => {
            invalid("code_challenge_method must be S256 (plain is not supported)")
        }
        (Some(c), _) if !pkce::is_well_formed(c) => {
            invalid("code_challenge must be 43-128 characters of base64url")
        }
        (None, Some(_)) => invalid("code_challenge_method without code_challenge"),
        (None, None) if client.requires_pkce() => {
            invalid("PKCE is required: send code_challenge with code_challenge_method=S256")
        }
        (challenge, _) => Ok(challenge.map(str::to_string)),
    }
}

/// `resource` (RFC 8707 §2): resources of this deployment the client may
/// use, in their configured spelling (`invalid_target`).
fn check_resource(state: &AppState, p: &Params, client: &Client) -> Result<Resources, Refusal> {
    Resources::resolve(
        &p.resource,
        &state.settings.resources(),
        &client.metadata.resources,
    )
    .map_err(|d| refuse(OAuthErrorCode::InvalidTarget, d))
}

/// The deployment offers the scopes, for those resources
/// ([`Allowlist::check`](crate::oauth::scope::Allowlist::check), `invalid_scope`).
fn check_scope_offered(
    state: &AppState,
    client: &Client,
    scopes: &Scopes,
    resources: &Resources,
) -> Result<(), Refusal> {
    state
        .discovery
        .scopes
        .check(client.is_verified(), scopes, resources)
        .map_err(|d| refuse(OAuthErrorCode::InvalidScope, d))
}

/// `prompt` and `max_age` (OIDC Core §3.1.2.1): known prompt values,
/// `none` alone, `max_age` a non-negative integer.
fn check_prompt_and_max_age(p: &Params) -> Result<(Prompt, Option<i64>), Refusal> {
    let values: Vec<&str> = p
        .prompt
        .as_deref()
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    if values
        .iter()
        .any(|x| !matches!(*x, "none" | "login" | "consent" | "select_account"))
    {
        return Err(refuse(
            OAuthErrorCode::InvalidRequest,
            "unknown prompt value",
        ));
    }
    let prompt = Prompt {
        none: values.contains(&"none"),
        login: values.contains(&"login"),
        consent: values.contains(&"consent"),
    };
    if prompt.none && values.len() > 1 {
        return Err(refuse(
            OAuthErrorCode::InvalidRequest,
            "prompt=none cannot be combined with other values",
        ));
    }
    let max_age = match p.max_age.as_deref().map(str::parse::<i64>) {
        None => None,
        Some(Ok(m)) if m >= 0 => Some(m),
        Some(_) => {
            return Err(refuse(
                OAuthErrorCode::InvalidRequest,
                "max_age must be a non-negative integer",
            ));
        }
    };
    Ok((prompt, max_age))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn prompt_none_stands_alone_and_max_age_is_a_count() {
        let ok =
            check_prompt_and_max_age(&params(&[("prompt", "login consent"), ("max_age", "0")]));
        let (prompt, max_age) = ok.expect("valid");
        assert!(prompt.login && prompt.consent && !prompt.none);
        assert_eq!(max_age, Some(0));
        for bad in [
            [("prompt", "none login"), ("max_age", "1")],
            [("prompt", "none none"), ("max_age", "1")],
            [("prompt", "create"), ("max_age", "1")],
            [("prompt", "login"), ("max_age", "-1")],
            [("prompt", "login"), ("max_age", "1.5")],
        ] {
            let refused = check_prompt_and_max_age(&params(&bad)).map(|_| ());
            assert!(
                matches!(
                    refused,
                    Err(Refusal {
                        code: OAuthErrorCode::InvalidRequest,
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_repeated_parameter_is_named() {
        let refused = check_unique(&params(&[("scope", "a"), ("scope", "b")]));
        assert!(refused.is_err_and(|r| r.description == "parameter scope repeated"));
        assert!(check_unique(&params(&[("resource", "a"), ("resource", "b")])).is_ok());
    }
}
