//! What a client may ask for and what people read: scope (RFC 6749 §3.3),
//! the ID token algorithm, contacts and names (`display_text`).

use url::Url;

use crate::domain::client_origin::ClientOrigin;
use crate::domain::scope::{Scopes, is_valid_token};
use crate::oauth::display_text;
use crate::oauth::scope::DEFAULT_CLIENT_SCOPE;

use super::{
    ID_TOKEN_ALGS, MAX_CONTACTS, MAX_DOCUMENT_NAME, MAX_TEXT_LEN, MAX_URI_LEN, Policy, Requested,
    Violation, metadata,
};

/// `scope`: each token per RFC 6749 §3.3. Registration refuses scopes this
/// deployment does not offer, so the client learns at once what it cannot
/// have; a document's are dropped; an administrator's are theirs to choose.
pub(super) fn client_scope(req: &Requested, policy: &Policy) -> Result<String, Violation> {
    let Some(raw) = req.scope.as_deref() else {
        return Ok(match policy.offered {
            Some(offered) => offered.default_client_scope(),
            None => DEFAULT_CLIENT_SCOPE.to_string(),
        });
    };
    let scopes = if policy.answers() {
        if raw.len() > MAX_URI_LEN {
            return Err(metadata("scope is too long"));
        }
        Scopes::parse_requested(raw).map_err(metadata)?
    } else {
        Scopes::parse(raw)
    };
    if let Some(bad) = scopes.iter().find(|s| !is_valid_token(s)) {
        return Err(metadata(match policy.origin {
            ClientOrigin::Admin => format!("invalid scope {bad:?}"),
            ClientOrigin::Dynamic => format!("invalid scope token {bad:?}"),
            ClientOrigin::MetadataDocument => "invalid scope".to_string(),
        }));
    }
    let Some(offered) = policy.offered else {
        return Ok(scopes.to_string());
    };
    if !policy.answers() {
        let kept: Vec<String> = scopes
            .iter()
            .filter(|s| offered.offers(s))
            .cloned()
            .collect();
        return Ok(Scopes::from(kept).to_string());
    }
    if let Some(bad) = scopes.iter().find(|s| !offered.offers(s)) {
        return Err(metadata(format!(
            "scope {bad:?} is not offered by this server; choose from: {}",
            offered.offered().join(" ")
        )));
    }
    if scopes.is_empty() {
        return Ok(offered.default_client_scope());
    }
    Ok(scopes.to_string())
}

/// `id_token_signed_response_alg` (OIDC Registration §2): one we sign with.
pub(super) fn id_token_alg(req: &Requested, policy: &Policy) -> Result<Option<String>, Violation> {
    match req.id_token_signed_response_alg.as_deref() {
        None => Ok(None),
        Some(alg) if ID_TOKEN_ALGS.contains(&alg) => Ok(Some(alg.to_string())),
        Some(alg) => Err(metadata(match policy.origin {
            ClientOrigin::Admin => format!("--id-token-alg {alg:?} must be RS256, ES256 or EdDSA"),
            _ => format!(
                "unsupported id_token_signed_response_alg {alg:?}; use one of {}",
                ID_TOKEN_ALGS.join(", ")
            ),
        })),
    }
}

/// `contacts` (RFC 7591 §2): a few short strings.
pub(super) fn contacts(req: &Requested, policy: &Policy) -> Result<Vec<String>, Violation> {
    let contacts = policy.list(req.contacts.as_deref());
    if contacts.len() > MAX_CONTACTS {
        return Err(metadata(format!(
            "contacts: at most {MAX_CONTACTS} entries"
        )));
    }
    for c in &contacts {
        short_text("contacts", Some(c))?;
    }
    Ok(contacts)
}

/// A short, printable, single-line string with nothing that hides or
/// reorders what a person reads (`display_text`).
pub(super) fn short_text(field: &str, value: Option<&str>) -> Result<Option<String>, Violation> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if !display_text::is_clean(v) {
        return Err(metadata(format!(
            "{field} contains control, invisible or text-direction characters"
        )));
    }
    if v.chars().count() > MAX_TEXT_LEN {
        return Err(metadata(format!(
            "{field} must be printable text of at most {MAX_TEXT_LEN} characters"
        )));
    }
    Ok(Some(v.to_string()))
}

/// The name people are shown. An administrator must give a clean one; a
/// registering client's is refused if disguised, else derived from its first
/// redirect URI's host (or scheme, for private-use URIs) or `client_uri`; a
/// document's is cleaned, else the host it was published on.
pub(super) fn client_name(
    req: &Requested,
    policy: &Policy,
    redirect_uris: &[String],
    client_uri: Option<&str>,
) -> Result<String, Violation> {
    match policy.origin {
        ClientOrigin::Admin => admin_name(req.client_name.as_deref().unwrap_or_default()),
        ClientOrigin::Dynamic => match short_text("client_name", req.client_name.as_deref())? {
            Some(name) => Ok(name),
            None => Ok(derived_name(redirect_uris, client_uri)),
        },
        ClientOrigin::MetadataDocument => Ok(document_name(
            req.client_name.as_deref(),
            policy.document.unwrap_or_default(),
        )),
    }
}

pub(super) fn admin_name(name: &str) -> Result<String, Violation> {
    let name = name.trim();
    if name.is_empty() {
        return Err(metadata("--name must not be empty"));
    }
    if !display_text::is_clean(name) {
        return Err(metadata(
            "--name contains control, invisible or text-direction characters",
        ));
    }
    Ok(name.to_string())
}

pub(super) fn derived_name(redirect_uris: &[String], client_uri: Option<&str>) -> String {
    redirect_uris
        .iter()
        .map(String::as_str)
        .chain(client_uri)
        .filter_map(|u| Url::parse(u).ok())
        .map(|u| match u.host_str() {
            Some(host) if !host.is_empty() => host.to_string(),
            _ => u.scheme().to_string(),
        })
        .next()
        .unwrap_or_else(|| "Unnamed client".to_string())
}

pub(super) fn document_name(name: Option<&str>, url: &str) -> String {
    let host = || {
        Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default()
    };
    name.map(display_text::clean)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(host)
        .chars()
        .take(MAX_DOCUMENT_NAME)
        .collect()
}
