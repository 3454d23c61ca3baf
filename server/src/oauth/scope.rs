//! Scopes (RFC 6749 §3.3): space-delimited, case-sensitive, unordered, and
//! the deployment's allowlist of them.
//!
//! Policy: a client that registered itself (RFC 7591) or is described by a
//! metadata document may only ever hold and be granted the scopes this
//! deployment offers (`PORTCULLIS_SCOPES` plus `PORTCULLIS_RESOURCE_SCOPES`),
//! checked when it registers and again on every request (rows stored before a
//! scope left the configuration included). A client an administrator created
//! may hold any scope the administrator gave it: that is the operator's own
//! decision, and the way internal scopes that must not be offered to
//! strangers (or advertised) are handed out. For every client, a scope tied
//! to resources is granted only for those resources.

use crate::config::Settings;

/// The scope a client gets when it registers none (the built-in default).
pub const DEFAULT_CLIENT_SCOPE: &str = "openid profile email offline_access";

/// The scopes this deployment offers, from configuration.
#[derive(Debug, Clone)]
pub struct Allowlist {
    /// Offered to every client, for any audience.
    general: Vec<String>,
    /// Offered only in tokens for the resource: (resource, its scopes).
    by_resource: Vec<(String, Vec<String>)>,
}

impl Allowlist {
    pub fn from_settings(settings: &Settings) -> Self {
        Allowlist {
            general: settings.general_scopes(),
            by_resource: settings.resource_scopes(),
        }
    }

    /// Every scope offered, general ones first (discovery's `scopes_supported`).
    pub fn offered(&self) -> Vec<String> {
        let mut out = self.general.clone();
        for (_, scopes) in &self.by_resource {
            for s in scopes {
                if !out.contains(s) {
                    out.push(s.clone());
                }
            }
        }
        out
    }

    /// The scopes a client may use with `resource` (RFC 9728 `scopes_supported`).
    pub fn for_resource(&self, resource: &str) -> Vec<String> {
        let mut out = self.general.clone();
        for (r, scopes) in &self.by_resource {
            if r == resource {
                out.extend(scopes.iter().filter(|s| !self.general.contains(s)).cloned());
            }
        }
        out
    }

    /// What a client that registers no scope gets: every general scope.
    pub fn default_client_scope(&self) -> String {
        self.general.join(" ")
    }

    /// Whether the deployment offers `scope` at all.
    pub fn offers(&self, scope: &str) -> bool {
        self.general.iter().any(|g| g == scope)
            || self
                .by_resource
                .iter()
                .any(|(_, scopes)| scopes.iter().any(|s| s == scope))
    }

    /// Checks scopes a request would grant a client for `resources` (empty:
    /// the token's audience is this server); the reason for `invalid_scope`.
    /// `client_verified`: an administrator created the client, so it may hold
    /// scopes the deployment does not offer (see the module docs).
    pub fn check(
        &self,
        client_verified: bool,
        scopes: &[String],
        resources: &[String],
    ) -> Result<(), String> {
        let unverified = !client_verified;
        for s in scopes {
            if self.general.contains(s) {
                continue;
            }
            let homes: Vec<&str> = self
                .by_resource
                .iter()
                .filter(|(_, scopes)| scopes.contains(s))
                .map(|(r, _)| r.as_str())
                .collect();
            if homes.is_empty() {
                if unverified {
                    return Err(format!("scope {s:?} is not offered by this server"));
                }
                continue;
            }
            // A token for this server, or for any other resource too, would
            // carry the scope where it does not belong.
            if resources.is_empty() || !resources.iter().all(|r| homes.contains(&r.as_str())) {
                return Err(format!(
                    "scope {s:?} is for {}; ask for that resource",
                    homes.join(", ")
                ));
            }
        }
        Ok(())
    }
}

pub use crate::domain::scope::{DEFAULT_SCOPES, MAX_SCOPES, Scopes, is_valid_token};
