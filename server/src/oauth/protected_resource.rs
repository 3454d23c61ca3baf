//! Protected resource metadata (RFC 9728) for the resources this deployment
//! hosts under the issuer's origin (`PORTCULLIS_RESOURCES`, default
//! `<issuer>/mcp`). The document sits at the well-known path inserted between
//! the host and the resource's path (§3.1) and names this issuer exactly.

use serde_json::{Value, json};
use url::Url;

use crate::config::Settings;
use crate::oauth::scope::Allowlist;

/// The well-known path a resource's document is served at, if the resource
/// lives on the issuer's origin.
pub fn well_known_path(settings: &Settings, resource: &str) -> Option<String> {
    let issuer = Url::parse(&settings.issuer).ok()?;
    let r = Url::parse(resource).ok()?;
    if r.origin() != issuer.origin() {
        return None;
    }
    let path = r.path().trim_end_matches('/');
    Some(format!("/.well-known/oauth-protected-resource{path}"))
}

/// The RFC 9728 §2 document for the resource served at `request_path`.
pub fn document(settings: &Settings, request_path: &str) -> Option<Value> {
    let resource = settings.resources().into_iter().find(|r| {
        well_known_path(settings, r).as_deref() == Some(request_path.trim_end_matches('/'))
    })?;
    Some(json!({
        "resource": resource,
        "authorization_servers": [settings.issuer],
        "scopes_supported": Allowlist::from_settings(settings).for_resource(&resource),
        "bearer_methods_supported": ["header"],
        "resource_signing_alg_values_supported": ["ES256"],
    }))
}
