//! Loading: built-in defaults, then the file, then the environment
//! (CONTRACT §2), and one line naming the variable when that fails.

use super::{ConfigError, Settings};

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
fresh_age = 900

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
upstream = 30
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
    ("GITHUB_CLIENT_ID", "github.client_id"),
    ("GITHUB_CLIENT_SECRET", "github.client_secret"),
    ("GOOGLE_CLIENT_ID", "google.client_id"),
    ("GOOGLE_CLIENT_SECRET", "google.client_secret"),
    ("MICROSOFT_CLIENT_ID", "microsoft.client_id"),
    ("MICROSOFT_CLIENT_SECRET", "microsoft.client_secret"),
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

/// Each entry a CIDR (`10.0.0.0/8`, `fd00::/8`) or a single address.
pub(super) fn parse_trusted_proxies(entries: &[String]) -> Result<Vec<ipnet::IpNet>, ConfigError> {
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
