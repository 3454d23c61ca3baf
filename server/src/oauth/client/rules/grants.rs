//! Grant types, response types and the client's authentication method
//! (RFC 7591 §2, §2.1).

use crate::domain::client_origin::ClientOrigin;
use crate::domain::grant_type::GrantType;
use crate::oauth::client::model::{AUTH_NONE, AUTH_PRIVATE_KEY_JWT};

use super::{Policy, RESPONSE_TYPE_CODE, Requested, SELF_DESCRIBED_GRANTS, Violation, metadata};

/// `token_endpoint_auth_method` (RFC 7591 §2): one the origin may use.
pub(super) fn auth_method(req: &Requested, policy: &Policy) -> Result<String, Violation> {
    let (allowed, default) = policy.auth_methods();
    let method = req.token_endpoint_auth_method.as_deref().unwrap_or(default);
    if !allowed.contains(&method) {
        return Err(metadata(match policy.origin {
            ClientOrigin::MetadataDocument => format!(
                "token_endpoint_auth_method {method:?} is not possible for a metadata document client"
            ),
            _ => format!(
                "unsupported token_endpoint_auth_method {method:?}; use one of {}",
                allowed.join(", ")
            ),
        }));
    }
    Ok(method.to_string())
}

/// `private_key_jwt` needs the client's keys (RFC 7523 §2.2). Checked after
/// the redirect URIs, so a request wrong in both ways keeps getting
/// `invalid_redirect_uri` (RFC 7591 §3.2.2) as it always has.
pub(super) fn keys_for(
    auth_method: &str,
    req: &Requested,
    policy: &Policy,
) -> Result<(), Violation> {
    if auth_method == AUTH_PRIVATE_KEY_JWT && req.jwks.is_none() && req.jwks_uri.is_none() {
        return Err(metadata(match policy.origin {
            ClientOrigin::MetadataDocument => "private_key_jwt needs inline jwks",
            _ => "private_key_jwt needs the client's keys in jwks or jwks_uri",
        }));
    }
    Ok(())
}

/// `grant_types`: ones the origin may use (`client_credentials` only for an
/// administrator's confidential client).
pub(super) fn grant_types(
    req: &Requested,
    policy: &Policy,
    auth_method: &str,
) -> Result<Vec<String>, Violation> {
    let grants = match policy.list(req.grant_types.as_deref()) {
        given if !given.is_empty() => given,
        _ => policy
            .default_grants()
            .iter()
            .map(|g| g.as_str().to_string())
            .collect(),
    };
    let allowed = policy.grants();
    for g in &grants {
        if allowed.iter().any(|a| a.as_str() == g) {
            continue;
        }
        return Err(metadata(refused_grant(policy, g)));
    }
    let credentials = GrantType::ClientCredentials.as_str();
    if auth_method == AUTH_NONE && grants.iter().any(|g| g == credentials) {
        return Err(metadata("a --public client cannot use client_credentials"));
    }
    Ok(grants)
}

pub(super) fn refused_grant(policy: &Policy, grant: &str) -> String {
    let names = |grants: &[GrantType]| {
        grants
            .iter()
            .map(|g| g.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match policy.origin {
        ClientOrigin::Admin => format!(
            "unknown grant type {grant:?} (expected one of {})",
            names(&GrantType::ALL)
        ),
        ClientOrigin::Dynamic if grant == GrantType::ClientCredentials.as_str() => {
            "client_credentials clients cannot register themselves; an administrator \
             creates them with `portcullis client create`"
                .to_string()
        }
        ClientOrigin::Dynamic => format!(
            "unsupported grant type {grant:?}; dynamically registered clients may use {}",
            names(SELF_DESCRIBED_GRANTS)
        ),
        ClientOrigin::MetadataDocument => {
            format!("grant type {grant:?} is not available to metadata document clients")
        }
    }
}

/// `response_types`: only `code`, and exactly when the client uses the
/// authorization code grant (RFC 7591 §2.1 asks the two to agree); a
/// document's client is a code-flow client.
pub(super) fn response_types(
    req: &Requested,
    policy: &Policy,
    uses_code: bool,
) -> Result<Vec<String>, Violation> {
    let types = policy.list(req.response_types.as_deref());
    if policy.code_flow_only() {
        return Ok(vec![RESPONSE_TYPE_CODE.to_string()]);
    }
    if types.is_empty() {
        return Ok(if uses_code {
            vec![RESPONSE_TYPE_CODE.to_string()]
        } else {
            Vec::new()
        });
    }
    if let Some(bad) = types.iter().find(|t| *t != RESPONSE_TYPE_CODE) {
        return Err(metadata(format!(
            "unsupported response type {bad:?}; only \"code\" is supported"
        )));
    }
    if !uses_code {
        return Err(metadata(
            "response type \"code\" needs the authorization_code grant type (RFC 7591 §2.1)",
        ));
    }
    Ok(types)
}
