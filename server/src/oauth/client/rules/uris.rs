//! Where a client sends people and keeps its keys: redirect URIs (RFC 6749
//! §3.1.2, RFC 8252 §7), post-logout URIs, `jwks` / `jwks_uri`, web pages,
//! resources (RFC 8707).

use serde_json::Value;
use url::Url;

use crate::domain::client_origin::ClientOrigin;
use crate::oauth::redirect::{check_registrable, is_loopback};

use super::{MAX_URI_LEN, MAX_URIS, Policy, Requested, Violation, metadata, redirect};

/// `redirect_uris`: each registrable (RFC 8252 §7, no fragment, no script
/// schemes); at least one for the authorization code grant.
pub(super) fn redirect_uris(
    req: &Requested,
    policy: &Policy,
    uses_code: bool,
) -> Result<Vec<String>, Violation> {
    let uris = policy.list(req.redirect_uris.as_deref());
    if uris.is_empty() && (uses_code || policy.code_flow_only()) {
        return Err(redirect(match policy.origin {
            ClientOrigin::Admin => "authorization_code needs at least one --redirect-uri",
            ClientOrigin::Dynamic => "the authorization_code grant needs at least one redirect URI",
            ClientOrigin::MetadataDocument => "redirect_uris is required",
        }));
    }
    check_uris(policy, "redirect_uris", &uris).map_err(redirect)?;
    Ok(uris)
}

/// `post_logout_redirect_uris` (OIDC RP-Initiated Logout §3.1): where logout
/// sends the user is a redirect as much as the code's, so the same checks; a
/// bad one is `invalid_client_metadata`, since RFC 7591's
/// `invalid_redirect_uri` names `redirect_uris` only.
pub(super) fn post_logout_redirect_uris(
    req: &Requested,
    policy: &Policy,
) -> Result<Vec<String>, Violation> {
    let uris = policy.list(req.post_logout_redirect_uris.as_deref());
    check_uris(policy, "post_logout_redirect_uris", &uris).map_err(metadata)?;
    Ok(uris)
}

/// [`check_registrable`] for a list of redirect targets, and for a stranger
/// its count and lengths.
pub(super) fn check_uris(policy: &Policy, field: &str, uris: &[String]) -> Result<(), String> {
    if !policy.answers() {
        return uris.iter().try_for_each(|u| check_registrable(u).map(drop));
    }
    if uris.len() > MAX_URIS {
        return Err(format!("{field}: at most {MAX_URIS} URIs"));
    }
    for uri in uris {
        if uri.len() > MAX_URI_LEN {
            return Err(format!("{field}: a URI is longer than {MAX_URI_LEN} bytes"));
        }
        check_registrable(uri).map_err(|e| format!("{field}: {e}"))?;
    }
    Ok(())
}

/// `jwks` / `jwks_uri` (RFC 7591 §2): never both; a set well formed. A
/// document's keys are taken as written: they are checked when used.
pub(super) fn client_keys(
    req: &Requested,
    policy: &Policy,
) -> Result<(Option<Value>, Option<String>), Violation> {
    if !policy.answers() {
        return Ok((req.jwks.clone(), req.jwks_uri.clone()));
    }
    if req.jwks.is_some() && req.jwks_uri.is_some() {
        return Err(metadata(
            "jwks and jwks_uri must not both be present (RFC 7591 §2)",
        ));
    }
    if let Some(jwks) = &req.jwks {
        check_jwks(jwks)?;
    }
    let jwks_uri = req.jwks_uri.as_deref().map(check_jwks_uri).transpose()?;
    Ok((req.jwks.clone(), jwks_uri))
}

/// A JWK Set (RFC 7517 §5): an object whose `keys` is a non-empty array of
/// objects with a `kty`.
pub(super) fn check_jwks(jwks: &Value) -> Result<(), Violation> {
    let keys = jwks.get("keys").and_then(Value::as_array);
    let ok = keys.is_some_and(|keys| {
        !keys.is_empty()
            && keys
                .iter()
                .all(|k| k.get("kty").and_then(Value::as_str).is_some())
    });
    if ok {
        Ok(())
    } else {
        Err(metadata(
            "jwks must be a JWK Set: {\"keys\": [...]} with a kty in every key (RFC 7517 §5)",
        ))
    }
}

/// `jwks_uri`: an https URL (loopback http allowed for development).
pub(super) fn check_jwks_uri(uri: &str) -> Result<String, Violation> {
    let bad = || metadata("jwks_uri must be an absolute https URL");
    if uri.len() > MAX_URI_LEN {
        return Err(bad());
    }
    let url = Url::parse(uri).map_err(|_| bad())?;
    let secure = url.scheme() == "https" || (url.scheme() == "http" && is_loopback(&url));
    if secure && url.host().is_some() && url.fragment().is_none() {
        Ok(uri.to_string())
    } else {
        Err(bad())
    }
}

/// `client_uri` / `logo_uri`: absolute http(s) URLs, since they end up in
/// links and images on the consent screen. A document's are kept as
/// written: the screens show neither for a client nobody here verified.
pub(super) fn web_url(
    policy: &Policy,
    field: &str,
    value: Option<&str>,
) -> Result<Option<String>, Violation> {
    let Some(uri) = value else {
        return Ok(None);
    };
    if !policy.answers() {
        return Ok(Some(uri.to_string()));
    }
    let bad = || metadata(format!("{field} must be an absolute http or https URL"));
    if uri.len() > MAX_URI_LEN {
        return Err(bad());
    }
    let url = Url::parse(uri).map_err(|_| bad())?;
    if matches!(url.scheme(), "http" | "https") && url.host().is_some() {
        Ok(Some(uri.to_string()))
    } else {
        Err(bad())
    }
}

/// Resources (RFC 8707 §2): absolute URIs without fragment. Only an
/// administrator narrows a client to some; other origins send none.
pub(super) fn resources(req: &Requested) -> Result<Vec<String>, Violation> {
    for r in &req.resources {
        match Url::parse(r) {
            Ok(u) if u.fragment().is_none() => {}
            _ => {
                return Err(metadata(format!(
                    "--resource {r:?} must be an absolute URI without fragment (RFC 8707)"
                )));
            }
        }
    }
    Ok(req.resources.clone())
}
