//! Settings: built-in defaults, then `portcullis.toml` (or `$PORTCULLIS_CONFIG`),
//! then environment variables (CONTRACT §2). [`Settings::load`] fails with one
//! line that names the offending variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;
use url::Url;

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
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct PasswordSettings {
    /// How many Argon2id hashes may run at once (each takes 19 MiB).
    pub max_concurrent_hashes: usize,
}

const DEFAULTS: &str = r#"
bind = "127.0.0.1:8080"
issuer = "http://localhost:8080"
database_url = "sqlite://portcullis.db?mode=rwc"
log_format = "text"
trusted_proxy_header = "x-forwarded-for"

[mail]
transport = "outbox"
outbox_dir = "./mail-outbox"

[smtp]

[registration]
open = true

[client_metadata]
allow_loopback = false

[tokens]
access_token_ttl = 900
id_token_ttl = 3600
refresh_token_ttl = 2592000
code_ttl = 60
refresh_reuse_grace = 10
device_code_ttl = 600
device_poll_interval = 5

[session]
ttl = 604800

[password]
max_concurrent_hashes = 4

[magic_link]
allow_sign_up = true

[email_code]
max_per_day = 20

[keys]
publish_delay = 3600

[rate_limit]
sign_in = 10
sign_up = 5
registration = 10
device_code = 10
mail = 10
magic_link = 5
second_factor = 5
passkey = 30
email_code = 10
document_fetch = 4
document_fetch_total = 60
document_fetch_address = 10
device_authorization = 30
device_authorization_client = 600

[metrics]
allow = ["127.0.0.0/8", "::1/128"]
"#;

/// Variables read without the `PORTCULLIS_` prefix (CONTRACT §2), and the key
/// each sets.
const UNPREFIXED: &[(&str, &str)] = &[
    ("DATABASE_URL", "database_url"),
    ("AUTH_ALLOWED_ORIGINS", "auth_allowed_origins"),
    ("SMTP_HOST", "smtp.host"),
    ("SMTP_PORT", "smtp.port"),
    ("SMTP_USERNAME", "smtp.username"),
    ("SMTP_PASSWORD", "smtp.password"),
    ("SMTP_FROM", "smtp.from"),
    ("SMTP_TLS", "smtp.tls"),
];

/// Keys whose value is a comma-separated list in the environment.
const LIST_KEYS: &[&str] = &[
    "resources",
    "auth_allowed_origins",
    "scopes",
    "resource_scopes",
    "trusted_proxies",
    "secrets.old_keys",
    "metrics.allow",
];

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
    /// Reads the process environment and the configuration file.
    pub fn load() -> Result<Self, ConfigError> {
        Self::load_from(std::env::vars().collect())
    }

    /// Loads from the given environment (tests pass their own).
    pub fn load_from(env: Vec<(String, String)>) -> Result<Self, ConfigError> {
        let lookup = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let file = lookup("PORTCULLIS_CONFIG");
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        builder = match &file {
            Some(path) => builder.add_source(config::File::new(path, config::FileFormat::Toml)),
            None => builder.add_source(
                config::File::new("portcullis.toml", config::FileFormat::Toml).required(false),
            ),
        };
        for (var, key) in UNPREFIXED {
            if let Some(v) = lookup(var) {
                builder = builder
                    .set_override(*key, list_or_value(key, &v))
                    .map_err(|e| ConfigError(format!("invalid {var}: {e}")))?;
            }
        }
        let mut source: std::collections::HashMap<String, String> = Default::default();
        for (k, v) in &env {
            if k.starts_with("PORTCULLIS_") && k != "PORTCULLIS_CONFIG" {
                source.insert(k.clone(), v.clone());
            }
        }
        let mut environment = config::Environment::with_prefix("PORTCULLIS")
            .prefix_separator("_")
            .separator("__")
            .try_parsing(true)
            .list_separator(",")
            .source(Some(source));
        for key in LIST_KEYS {
            environment = environment.with_list_parse_key(key);
        }
        let mut settings: Settings = builder
            .add_source(environment)
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| describe(e, file.as_deref()))?;
        settings.validate()?;
        settings.trusted_proxy_nets = parse_trusted_proxies(&settings.trusted_proxies)?;
        Ok(settings)
    }

    /// Checks what serde cannot: URLs, addresses, schemes.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: String| ConfigError(format!("invalid {}: {why}", env_name(key)));
        self.bind.parse::<SocketAddr>().map_err(|_| {
            bad(
                "bind",
                format!("{:?} is not an address like 127.0.0.1:8080", self.bind),
            )
        })?;
        let issuer = Url::parse(&self.issuer)
            .map_err(|e| bad("issuer", format!("{:?} is not a URL ({e})", self.issuer)))?;
        if !matches!(issuer.scheme(), "http" | "https")
            || issuer.host().is_none()
            || issuer.query().is_some()
            || issuer.fragment().is_some()
        {
            return Err(bad(
                "issuer",
                format!(
                    "{:?} must be an http(s) URL without query or fragment",
                    self.issuer
                ),
            ));
        }
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            return Err(bad(
                "database_url",
                "expected sqlite:… or postgres://…".to_string(),
            ));
        }
        for r in &self.resources {
            match Url::parse(r) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.fragment().is_none() => {}
                _ => {
                    return Err(bad(
                        "resources",
                        format!("{r:?} is not an absolute http(s) URI without fragment"),
                    ));
                }
            }
        }
        self.check_scopes()?;
        for o in &self.auth_allowed_origins {
            match Url::parse(o) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                _ => {
                    return Err(bad(
                        "auth_allowed_origins",
                        format!("{o:?} is not an origin"),
                    ));
                }
            }
        }
        parse_trusted_proxies(&self.trusted_proxies)?;
        if self.mail.transport == MailTransport::Smtp && self.smtp.host.is_none() {
            return Err(ConfigError(
                "invalid PORTCULLIS_MAIL__TRANSPORT: smtp needs SMTP_HOST".to_string(),
            ));
        }
        if let Some(tls) = &self.smtp.tls
            && !matches!(tls.as_str(), "starttls" | "tls" | "none")
        {
            return Err(ConfigError(format!(
                "invalid SMTP_TLS: {tls:?} (expected starttls, tls or none)"
            )));
        }
        for (key, v) in [
            ("tokens.access_token_ttl", self.tokens.access_token_ttl),
            ("tokens.id_token_ttl", self.tokens.id_token_ttl),
            ("tokens.refresh_token_ttl", self.tokens.refresh_token_ttl),
            ("tokens.code_ttl", self.tokens.code_ttl),
            ("tokens.device_code_ttl", self.tokens.device_code_ttl),
            (
                "tokens.device_poll_interval",
                self.tokens.device_poll_interval,
            ),
            ("session.ttl", self.session.ttl),
        ] {
            if v <= 0 {
                return Err(bad(
                    key,
                    format!("{v} must be a positive number of seconds"),
                ));
            }
        }
        // A user code is looked up in the lap of its sequence that is under
        // way and the two beside it (`tokens::user_codes`), so no device code
        // may outlive a lap (9.26 days); a day is already generous.
        if self.tokens.device_code_ttl > crate::tokens::user_codes::MAX_TTL_SECS {
            return Err(bad(
                "tokens.device_code_ttl",
                format!(
                    "{} is longer than a day ({} seconds)",
                    self.tokens.device_code_ttl,
                    crate::tokens::user_codes::MAX_TTL_SECS
                ),
            ));
        }
        for (key, v) in [
            ("rate_limit.sign_in", self.rate_limit.sign_in),
            ("rate_limit.sign_up", self.rate_limit.sign_up),
            ("rate_limit.registration", self.rate_limit.registration),
            ("rate_limit.device_code", self.rate_limit.device_code),
            ("rate_limit.mail", self.rate_limit.mail),
            ("rate_limit.magic_link", self.rate_limit.magic_link),
            ("rate_limit.second_factor", self.rate_limit.second_factor),
            ("rate_limit.passkey", self.rate_limit.passkey),
            (
                "rate_limit.device_authorization",
                self.rate_limit.device_authorization,
            ),
            (
                "rate_limit.device_authorization_client",
                self.rate_limit.device_authorization_client,
            ),
            ("rate_limit.email_code", self.rate_limit.email_code),
            ("rate_limit.document_fetch", self.rate_limit.document_fetch),
            (
                "rate_limit.document_fetch_total",
                self.rate_limit.document_fetch_total,
            ),
            (
                "rate_limit.document_fetch_address",
                self.rate_limit.document_fetch_address,
            ),
        ] {
            if v.is_nan() || v < 1.0 {
                return Err(bad(
                    key,
                    format!("{v} must be at least 1 request per minute"),
                ));
            }
        }
        if self.email_code.max_per_day < 1 {
            return Err(bad(
                "email_code.max_per_day",
                format!("{} must be at least 1", self.email_code.max_per_day),
            ));
        }
        if let Some(key) = &self.secrets.key
            && crate::secrets::decode_key(key).is_none()
        {
            return Err(bad(
                "secrets.key",
                "expected 32 bytes in base64 (openssl rand -base64 32)".into(),
            ));
        }
        if self
            .secrets
            .old_keys
            .iter()
            .any(|k| crate::secrets::decode_key(k).is_none())
        {
            return Err(bad(
                "secrets.old_keys",
                "expected a comma-separated list of 32-byte keys in base64".into(),
            ));
        }
        let min_delay = crate::tokens::keys::MIN_PUBLISH_DELAY_SECS;
        if self.keys.publish_delay <= min_delay {
            return Err(bad(
                "keys.publish_delay",
                format!(
                    "{} must be longer than {min_delay} seconds (the JWKS Cache-Control max-age plus the key-set reload interval)",
                    self.keys.publish_delay
                ),
            ));
        }
        if let Some(c) = self
            .metrics
            .allow
            .iter()
            .find(|c| !c.trim().is_empty() && parse_cidr(c).is_none())
        {
            return Err(bad(
                "metrics.allow",
                format!("{c:?} is not an address or CIDR like 10.0.0.0/8"),
            ));
        }
        if self.metrics.token.as_deref().is_some_and(|t| t.len() < 16) {
            return Err(bad(
                "metrics.token",
                "must be at least 16 characters".into(),
            ));
        }
        if self.password.max_concurrent_hashes == 0 {
            return Err(bad(
                "password.max_concurrent_hashes",
                "must be at least 1".into(),
            ));
        }
        Ok(())
    }

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

    /// Scope tokens are well-formed and every resource scope names a resource.
    fn check_scopes(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: String| ConfigError(format!("invalid {}: {why}", env_name(key)));
        if let Some(s) = self
            .general_scopes()
            .iter()
            .find(|s| !crate::domain::scope::is_valid_token(s))
        {
            return Err(bad("scopes", format!("{s:?} is not a scope token")));
        }
        let resources = self.resources();
        for entry in &self.resource_scopes {
            let mut words = entry.split_whitespace();
            let Some(named) = words.next() else {
                continue;
            };
            if find_resource(&resources, named).is_none() {
                return Err(bad(
                    "resource_scopes",
                    format!("{named:?} is not one of PORTCULLIS_RESOURCES"),
                ));
            }
            let scopes: Vec<&str> = words.collect();
            if scopes.is_empty() {
                return Err(bad(
                    "resource_scopes",
                    format!("{named:?} names no scopes (expected \"<resource> <scope> <scope>…\")"),
                ));
            }
            if let Some(s) = scopes
                .iter()
                .find(|s| !crate::domain::scope::is_valid_token(s))
            {
                return Err(bad(
                    "resource_scopes",
                    format!("{s:?} is not a scope token"),
                ));
            }
        }
        Ok(())
    }

    /// Whether the issuer is served over TLS (decides `Secure` and `__Host-` cookies).
    pub fn issuer_is_https(&self) -> bool {
        self.issuer.starts_with("https://")
    }
}

/// The configured spelling of `named` among `resources` (`https://x` and
/// `https://x/` are one resource, as in RFC 8707 matching).
fn find_resource<'a>(resources: &'a [String], named: &str) -> Option<&'a String> {
    resources.iter().find(|r| {
        *r == named || matches!((Url::parse(r), Url::parse(named)), (Ok(a), Ok(b)) if a == b)
    })
}

/// Each entry a CIDR (`10.0.0.0/8`, `fd00::/8`) or a single address.
fn parse_trusted_proxies(entries: &[String]) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    entries
        .iter()
        .map(|e| e.trim())
        .filter(|e| !e.is_empty())
        .map(|e| {
            e.parse::<ipnet::IpNet>()
                .map(|n| n.trunc())
                .or_else(|_| e.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    ConfigError(format!(
                        "invalid {}: {e:?} is not a CIDR like 10.0.0.0/8 or an address",
                        env_name("trusted_proxies")
                    ))
                })
        })
        .collect()
}

fn list_or_value(key: &str, v: &str) -> config::Value {
    if LIST_KEYS.contains(&key) {
        let items: Vec<config::Value> = v
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| config::Value::from(s.to_string()))
            .collect();
        config::Value::from(items)
    } else {
        config::Value::from(v.to_string())
    }
}

/// The environment variable that sets a key (`mail.outbox_dir` →
/// `PORTCULLIS_MAIL__OUTBOX_DIR`), or its unprefixed name.
pub fn env_name(key: &str) -> String {
    if let Some((var, _)) = UNPREFIXED.iter().find(|(_, k)| *k == key) {
        if *var == "DATABASE_URL" {
            return "PORTCULLIS_DATABASE_URL".into();
        }
        return (*var).to_string();
    }
    format!("PORTCULLIS_{}", key.replace('.', "__").to_uppercase())
}

/// Turns a `config` error into one line naming the variable.
fn describe(e: config::ConfigError, file: Option<&str>) -> ConfigError {
    let text = e.to_string().replace('\n', " ");
    // config phrases type errors as "... for key `a.b`"; name the variable instead.
    if let Some(start) = text.find("for key `") {
        let rest = &text[start + 9..];
        if let Some(end) = rest.find('`') {
            let key = &rest[..end];
            let what = text[..start].trim_end();
            return ConfigError(format!("invalid {}: {what}", env_name(key)));
        }
    }
    match file {
        Some(f) => ConfigError(format!("invalid configuration ({f}): {text}")),
        None => ConfigError(format!("invalid configuration: {text}")),
    }
}
