//! Upstream sign-in providers (CONTRACT §2): GitHub, Google and Microsoft are
//! each on exactly when both their client ID and secret are set; any number of
//! OpenID Connect providers are declared as `[[oidc_providers]]`. Every
//! endpoint can be pointed elsewhere (GitHub Enterprise, tests), but an
//! `http://` one only on loopback with `client_metadata.allow_loopback`.

use serde::Deserialize;
use url::Url;

use super::{ConfigError, Settings, env_name};

/// Ids the built-in providers and SSO connections use.
pub const RESERVED_IDS: [&str; 4] = ["github", "google", "microsoft", "sso"];

/// Redacts a secret in `Debug` output.
fn redacted(secret: &Option<String>) -> Option<&'static str> {
    secret.as_ref().map(|_| "<redacted>")
}

/// GitHub (OAuth 2.0 with its REST API; it has no OpenID Connect for people).
#[derive(Clone, Deserialize)]
#[serde(default)]
pub struct GithubSettings {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub authorize_url: String,
    pub token_url: String,
    /// `<api_url>/user` and `<api_url>/user/emails`.
    pub api_url: String,
}

impl Default for GithubSettings {
    fn default() -> Self {
        GithubSettings {
            client_id: None,
            client_secret: None,
            authorize_url: "https://github.com/login/oauth/authorize".into(),
            token_url: "https://github.com/login/oauth/access_token".into(),
            api_url: "https://api.github.com".into(),
        }
    }
}

impl std::fmt::Debug for GithubSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubSettings")
            .field("client_id", &self.client_id)
            .field("client_secret", &redacted(&self.client_secret))
            .field("authorize_url", &self.authorize_url)
            .field("token_url", &self.token_url)
            .field("api_url", &self.api_url)
            .finish()
    }
}

/// Google or Microsoft: OpenID Connect with discovery.
#[derive(Clone, Deserialize, Default)]
#[serde(default)]
pub struct OidcSocialSettings {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// Default: Google's, or Microsoft's for [`Self::tenant`].
    pub issuer: Option<String>,
    /// Microsoft only: `common` (default), `organizations`, `consumers` or a
    /// tenant id.
    pub tenant: Option<String>,
    /// Take the upstream's `amr` `mfa` as a second factor here.
    pub trust_mfa: bool,
}

impl std::fmt::Debug for OidcSocialSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSocialSettings")
            .field("client_id", &self.client_id)
            .field("client_secret", &redacted(&self.client_secret))
            .field("issuer", &self.issuer)
            .field("tenant", &self.tenant)
            .field("trust_mfa", &self.trust_mfa)
            .finish()
    }
}

/// One `[[oidc_providers]]` entry.
#[derive(Clone, Deserialize)]
pub struct OidcProviderSettings {
    /// The path segment: `sign-in/<id>`, `callback/<id>`.
    pub id: String,
    /// The button's label.
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub trust_mfa: bool,
}

impl std::fmt::Debug for OidcProviderSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProviderSettings")
            .field("id", &self.id)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

pub fn default_scopes() -> Vec<String> {
    ["openid", "email", "profile"].map(String::from).to_vec()
}

/// Enterprise SSO: where domain proofs (DNS TXT records) are looked up.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct SsoSettings {
    /// A DNS server (`address:port`) to ask instead of the system's resolvers.
    pub dns_server: Option<String>,
}

/// Both halves of a credential, when both are set and not empty.
pub fn credential<'a>(
    id: &'a Option<String>,
    secret: &'a Option<String>,
) -> Option<(&'a str, &'a str)> {
    match (id.as_deref(), secret.as_deref()) {
        (Some(id), Some(secret)) if !id.trim().is_empty() && !secret.is_empty() => {
            Some((id.trim(), secret))
        }
        _ => None,
    }
}

/// Whether `url` may be called for an upstream: https, or http on a loopback
/// host when `allow_loopback`.
pub fn upstream_url_allowed(url: &Url, allow_loopback: bool) -> bool {
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => allow_loopback && is_loopback_host(url),
        _ => false,
    }
}

pub fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

impl Settings {
    /// Provider URLs and ids (part of `validate`).
    pub(super) fn check_providers(&self) -> Result<(), ConfigError> {
        let loopback = self.client_metadata.allow_loopback;
        let url_ok = |key: &str, value: &str| -> Result<(), ConfigError> {
            let bad =
                |why: &str| ConfigError(format!("invalid {}: {value:?} {why}", env_name(key)));
            let url = Url::parse(value).map_err(|_| bad("is not a URL"))?;
            if !upstream_url_allowed(&url, loopback) || url.query().is_some() {
                return Err(bad(
                    "must be an https URL without a query (http only on loopback, with PORTCULLIS_CLIENT_METADATA__ALLOW_LOOPBACK=true)",
                ));
            }
            Ok(())
        };
        url_ok("github.authorize_url", &self.github.authorize_url)?;
        url_ok("github.token_url", &self.github.token_url)?;
        url_ok("github.api_url", &self.github.api_url)?;
        for (key, social) in [("google", &self.google), ("microsoft", &self.microsoft)] {
            if let Some(issuer) = &social.issuer {
                url_ok(&format!("{key}.issuer"), issuer)?;
            }
        }
        // By name only the three multi-tenant endpoints: a tenant given by
        // its domain publishes its GUID issuer, which we would not match.
        if let Some(tenant) = &self.microsoft.tenant
            && !["common", "organizations", "consumers"]
                .contains(&tenant.to_ascii_lowercase().as_str())
            && !(tenant.len() == 36
                && tenant.chars().enumerate().all(|(i, c)| {
                    if [8, 13, 18, 23].contains(&i) {
                        c == '-'
                    } else {
                        c.is_ascii_hexdigit()
                    }
                }))
        {
            return Err(ConfigError(format!(
                "invalid {}: {tenant:?} is not common, organizations, consumers or a tenant id (a GUID)",
                env_name("microsoft.tenant")
            )));
        }
        let mut seen: Vec<&str> = Vec::new();
        for p in &self.oidc_providers {
            check_oidc_provider(p, &seen, loopback)?;
            seen.push(&p.id);
        }
        Ok(())
    }
}

/// One `[[oidc_providers]]` entry; `seen` holds the ids before it.
fn check_oidc_provider(
    p: &OidcProviderSettings,
    seen: &[&str],
    loopback: bool,
) -> Result<(), ConfigError> {
    let bad = |why: String| ConfigError(format!("invalid [[oidc_providers]] {:?}: {why}", p.id));
    let id_ok = !p.id.is_empty()
        && p.id.len() <= 32
        && p.id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !id_ok {
        return Err(bad("id must be 1 to 32 of a-z, 0-9 and -".into()));
    }
    if RESERVED_IDS.contains(&p.id.as_str())
        || p.id.starts_with("sso-")
        || seen.contains(&p.id.as_str())
    {
        return Err(bad(
            "id is taken (built-in providers, sso-…, or declared twice)".into(),
        ));
    }
    if p.name.trim().is_empty() || p.client_id.trim().is_empty() || p.client_secret.is_empty() {
        return Err(bad("name, client_id and client_secret are required".into()));
    }
    if !p.scopes.iter().any(|s| s == "openid") {
        return Err(bad("scopes must include openid".into()));
    }
    let url =
        Url::parse(&p.issuer).map_err(|_| bad(format!("issuer {:?} is not a URL", p.issuer)))?;
    if !upstream_url_allowed(&url, loopback) || url.query().is_some() || url.fragment().is_some() {
        return Err(bad(format!(
            "issuer {:?} must be https (http only on loopback, with PORTCULLIS_CLIENT_METADATA__ALLOW_LOOPBACK=true)",
            p.issuer
        )));
    }
    Ok(())
}
