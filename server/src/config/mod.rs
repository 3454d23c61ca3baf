//! Settings: built-in defaults, then `portcullis.toml` (or `$PORTCULLIS_CONFIG`),
//! then environment variables (CONTRACT §2, `load`). [`Settings::load`] fails
//! with one line that names the offending variable (`validate`).
//!
//! Configuration is on the ground floor: it imports nothing from `oauth`,
//! `login` or `state`; bounds other modules rely on are defined here.

mod load;
pub mod providers;
mod validate;

use std::path::PathBuf;

use serde::Deserialize;
use url::Url;

pub use load::env_name;
pub use providers::{GithubSettings, OidcProviderSettings, OidcSocialSettings, SsoSettings};

/// The longest a device code may live (`tokens.device_code_ttl`). A user code
/// is looked up in the lap of its sequence that is under way and the two
/// beside it (`user_codes`), so no device code may outlive a lap; a day is
/// already generous.
pub const MAX_DEVICE_CODE_TTL_SECS: i64 = 24 * 60 * 60;

/// Everything configurable. Field names are the TOML keys; the environment
/// variable is `PORTCULLIS_<SECTION>__<KEY>` (see [`env_name`]).
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub bind: String,
    /// The `iss`, byte for byte as configured (CONTRACT §3).
    pub issuer: String,
    pub database_url: String,
    pub log_format: LogFormat,
    /// Resource URIs (RFC 8707) this server issues access tokens for.
    #[serde(default)]
    pub resources: Vec<String>,
    /// Scopes offered to every client (`oauth::scope::Allowlist`); entries may
    /// hold several space-separated scopes.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// Scopes offered only in tokens for one resource: each entry is
    /// `<resource URI> <scope> <scope>…`.
    #[serde(default)]
    pub resource_scopes: Vec<String>,
    pub mail: MailSettings,
    pub smtp: SmtpSettings,
    pub registration: RegistrationSettings,
    pub client_metadata: ClientMetadataSettings,
    pub tokens: TokenSettings,
    pub session: SessionSettings,
    pub password: PasswordSettings,
    pub rate_limit: RateLimitSettings,
    pub magic_link: MagicLinkSettings,
    pub email_code: EmailCodeSettings,
    /// Extra origins trusted for cookie-authenticated requests.
    #[serde(default)]
    pub auth_allowed_origins: Vec<String>,
    /// Proxies (CIDRs or addresses) whose forwarding header names the client.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Which header those proxies set.
    pub trusted_proxy_header: ProxyHeader,
    /// [`Self::trusted_proxies`], parsed when the settings are loaded.
    #[serde(skip)]
    pub trusted_proxy_nets: Vec<ipnet::IpNet>,
    /// The key-encryption key of the secrets at rest (`secrets`).
    #[serde(default)]
    pub secrets: SecretsSettings,
    pub keys: KeysSettings,
    pub metrics: MetricsSettings,
    /// Upstream sign-in (`providers`).
    #[serde(default)]
    pub github: GithubSettings,
    #[serde(default)]
    pub google: OidcSocialSettings,
    #[serde(default)]
    pub microsoft: OidcSocialSettings,
    #[serde(default)]
    pub oidc_providers: Vec<OidcProviderSettings>,
    #[serde(default)]
    pub sso: SsoSettings,
}

/// The header a trusted proxy adds the address it received a request from to.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ProxyHeader {
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=…`.
    Forwarded,
}

/// Where the key sealing the database's secrets comes from
/// (`secrets::key_source`).
#[derive(Clone, Deserialize, Default)]
pub struct SecretsSettings {
    /// 32 bytes in base64; wins over the key file.
    pub key: Option<String>,
    /// Default: beside the SQLite database, or `./portcullis.key`.
    pub key_file: Option<PathBuf>,
    /// Keys still accepted for opening while secrets are re-sealed.
    #[serde(default)]
    pub old_keys: Vec<String>,
}

impl std::fmt::Debug for SecretsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsSettings")
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .field("key_file", &self.key_file)
            .field("old_keys", &self.old_keys.len())
            .finish()
    }
}

/// Who may read `/metrics`: clients at these addresses, or any client with
/// the bearer token.
#[derive(Clone, Deserialize)]
pub struct MetricsSettings {
    /// CIDRs (`10.0.0.0/8`, `::1/128`); a bare address is one host.
    pub allow: Vec<String>,
    pub token: Option<String>,
}

impl std::fmt::Debug for MetricsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsSettings")
            .field("allow", &self.allow)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Signing-key rotation.
#[derive(Debug, Clone, Deserialize)]
pub struct KeysSettings {
    /// Seconds a new key is published before it signs: longer than every
    /// key-set cache on the way (see `tokens::keys::MIN_PUBLISH_DELAY_SECS`).
    pub publish_delay: i64,
}

impl MetricsSettings {
    /// Whether a client at `ip` may read the metrics without the token.
    pub fn allows(&self, ip: std::net::IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.allow
            .iter()
            .filter_map(|c| parse_cidr(c))
            .any(|net| net.contains(&ip))
    }
}

/// A CIDR, or a bare address as a one-host network.
fn parse_cidr(raw: &str) -> Option<ipnet::IpNet> {
    let raw = raw.trim();
    raw.parse::<ipnet::IpNet>()
        .ok()
        .or_else(|| raw.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    Outbox,
    Smtp,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MailSettings {
    pub transport: MailTransport,
    pub outbox_dir: PathBuf,
}

#[derive(Clone, Deserialize, Default)]
pub struct SmtpSettings {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: Option<String>,
    pub tls: Option<String>,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .field("tls", &self.tls)
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct RegistrationSettings {
    pub open: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ClientMetadataSettings {
    pub allow_loopback: bool,
}

/// Lifetimes in seconds.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenSettings {
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    pub refresh_token_ttl: i64,
    pub code_ttl: i64,
    pub refresh_reuse_grace: i64,
    /// RFC 8628 `expires_in` of a device code.
    pub device_code_ttl: i64,
    /// RFC 8628 minimum polling `interval`.
    pub device_poll_interval: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SessionSettings {
    /// Seconds a session lives.
    pub ttl: i64,
    /// Seconds after signing in during which a session may add a way to
    /// sign in (link a provider, set a password) without signing in again.
    pub fresh_age: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MagicLinkSettings {
    /// Whether a magic link to an address without an account creates one.
    pub allow_sign_up: bool,
}

/// 6-digit email codes (`email-otp/…`).
#[derive(Debug, Clone, Deserialize)]
pub struct EmailCodeSettings {
    /// Codes mailed to one account per day, whatever the address or session
    /// asking: each code allows five guesses, so this bounds the guesses a day.
    pub max_per_day: i32,
}

/// Requests per minute (and burst) per IP address or account, by family.
#[derive(Debug, Clone, Deserialize)]
pub struct RateLimitSettings {
    pub sign_in: f64,
    pub sign_up: f64,
    pub registration: f64,
    pub device_code: f64,
    pub mail: f64,
    pub magic_link: f64,
    /// TOTP and backup codes tried, per address and per account.
    pub second_factor: f64,
    /// Passkey sign-in ceremonies started, per address.
    pub passkey: f64,
    /// Device authorization requests (RFC 8628 §3.1), per address.
    pub device_authorization: f64,
    /// Device authorization requests, per client (all its users together).
    pub device_authorization_client: f64,
    /// 6-digit email codes tried, per address and per account.
    pub email_code: f64,
    /// Fetches of one client ID metadata document.
    pub document_fetch: f64,
    /// Fetches of all metadata documents together, per instance.
    pub document_fetch_total: f64,
    /// Fetches of metadata documents caused by one client address.
    pub document_fetch_address: f64,
    /// Sign-ins started at an upstream provider, per address.
    #[serde(default = "default_upstream_rate")]
    pub upstream: f64,
}

fn default_upstream_rate() -> f64 {
    30.0
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        RateLimitSettings {
            sign_in: 10.0,
            sign_up: 5.0,
            registration: 10.0,
            device_code: 10.0,
            mail: 10.0,
            magic_link: 5.0,
            second_factor: 5.0,
            passkey: 30.0,
            device_authorization: 30.0,
            device_authorization_client: 600.0,
            email_code: 10.0,
            document_fetch: 4.0,
            document_fetch_total: 60.0,
            document_fetch_address: 10.0,
            upstream: default_upstream_rate(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct PasswordSettings {
    /// How many Argon2id hashes may run at once (each takes 19 MiB).
    pub max_concurrent_hashes: usize,
}

fn default_scopes() -> Vec<String> {
    crate::domain::scope::DEFAULT_SCOPES
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// A configuration problem, already phrased as the one line to print.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Settings {
    /// The resources tokens may be issued for; `<issuer>/mcp` unless configured.
    pub fn resources(&self) -> Vec<String> {
        if self.resources.is_empty() {
            vec![format!("{}/mcp", self.issuer.trim_end_matches('/'))]
        } else {
            self.resources.clone()
        }
    }

    /// `scopes`, one scope per item (an item may hold several, space-separated).
    pub fn general_scopes(&self) -> Vec<String> {
        crate::domain::scope::Scopes::parse(&self.scopes.join(" ")).into_vec()
    }

    /// `resource_scopes` as (configured resource, its scopes); entries that
    /// name no configured resource are left out ([`Settings::validate`]
    /// refuses them).
    pub fn resource_scopes(&self) -> Vec<(String, Vec<String>)> {
        let resources = self.resources();
        self.resource_scopes
            .iter()
            .filter_map(|entry| {
                let mut words = entry.split_whitespace();
                let named = words.next()?;
                let resource = find_resource(&resources, named)?;
                let scopes =
                    crate::domain::scope::Scopes::parse(&words.collect::<Vec<_>>().join(" "))
                        .into_vec();
                Some((resource.clone(), scopes))
            })
            .collect()
    }

    /// Whether the issuer is served over TLS (decides `Secure` and `__Host-` cookies).
    pub fn issuer_is_https(&self) -> bool {
        self.issuer.starts_with("https://")
    }

    /// The URL of `path` on this server: the issuer with `path` appended,
    /// keeping any path the issuer has (`https://x/auth` →
    /// `https://x/auth/oauth2/token`).
    pub fn endpoint(&self, path: &str) -> String {
        issuer_endpoint(&self.issuer, path)
    }
}

/// [`Settings::endpoint`] for an issuer as configured.
fn issuer_endpoint(issuer: &str, path: &str) -> String {
    match Url::parse(issuer) {
        Ok(mut url) => {
            let joined = [url.path().trim_end_matches('/'), path].concat();
            url.set_path(&joined);
            url.to_string()
        }
        Err(_) => [issuer.trim_end_matches('/'), path].concat(),
    }
}

/// The configured spelling of `named` among `resources` (`https://x` and
/// `https://x/` are one resource, as in RFC 8707 matching).
fn find_resource<'a>(resources: &'a [String], named: &str) -> Option<&'a String> {
    resources.iter().find(|r| {
        *r == named || matches!((Url::parse(r), Url::parse(named)), (Ok(a), Ok(b)) if a == b)
    })
}

#[cfg(test)]
mod tests {
    use super::issuer_endpoint;

    #[test]
    fn endpoints_keep_the_issuer_path() {
        assert_eq!(
            issuer_endpoint("http://localhost:8080", "/oauth2/jwks"),
            "http://localhost:8080/oauth2/jwks"
        );
        assert_eq!(
            issuer_endpoint("https://x.io/auth/", "/oauth2/jwks"),
            "https://x.io/auth/oauth2/jwks"
        );
        assert_eq!(
            issuer_endpoint("https://x.io/auth", "/oauth2/jwks"),
            "https://x.io/auth/oauth2/jwks"
        );
    }
}
