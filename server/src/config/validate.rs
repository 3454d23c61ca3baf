//! What serde cannot check: URLs, addresses, schemes, bounds. Each check is
//! named for what it covers; the first failure is the one line printed.

use std::net::SocketAddr;

use url::Url;

use super::load::parse_trusted_proxies;
use super::{
    ConfigError, MAX_DEVICE_CODE_TTL_SECS, MailTransport, Settings, env_name, find_resource,
    parse_cidr,
};

/// One line naming the variable that sets `key`.
fn bad(key: &str, why: String) -> ConfigError {
    ConfigError(format!("invalid {}: {why}", env_name(key)))
}

impl Settings {
    /// Checks what serde cannot: URLs, addresses, schemes, bounds.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check_addresses()?;
        self.check_resources()?;
        self.check_scopes()?;
        self.check_origins()?;
        parse_trusted_proxies(&self.trusted_proxies)?;
        self.check_mail()?;
        self.check_lifetimes()?;
        self.check_rate_limits()?;
        self.check_secrets()?;
        self.check_keys()?;
        self.check_metrics()?;
        self.check_providers()?;
        self.check_password()
    }

    /// Where to listen, the issuer (CONTRACT §3) and the database.
    fn check_addresses(&self) -> Result<(), ConfigError> {
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
        Ok(())
    }

    /// Resource URIs (RFC 8707 §2): absolute http(s), no fragment.
    fn check_resources(&self) -> Result<(), ConfigError> {
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
        Ok(())
    }

    /// Origins trusted for cookie-authenticated requests.
    fn check_origins(&self) -> Result<(), ConfigError> {
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
        Ok(())
    }

    /// SMTP needs a host, and a TLS mode it knows.
    fn check_mail(&self) -> Result<(), ConfigError> {
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
        Ok(())
    }

    /// Lifetimes are positive; a device code lives at most
    /// [`MAX_DEVICE_CODE_TTL_SECS`].
    fn check_lifetimes(&self) -> Result<(), ConfigError> {
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
        if self.tokens.device_code_ttl > MAX_DEVICE_CODE_TTL_SECS {
            return Err(bad(
                "tokens.device_code_ttl",
                format!(
                    "{} is longer than a day ({MAX_DEVICE_CODE_TTL_SECS} seconds)",
                    self.tokens.device_code_ttl,
                ),
            ));
        }
        Ok(())
    }

    /// Every rate is at least one request a minute; email codes at least one a day.
    fn check_rate_limits(&self) -> Result<(), ConfigError> {
        let r = &self.rate_limit;
        for (key, v) in [
            ("rate_limit.sign_in", r.sign_in),
            ("rate_limit.sign_up", r.sign_up),
            ("rate_limit.registration", r.registration),
            ("rate_limit.device_code", r.device_code),
            ("rate_limit.mail", r.mail),
            ("rate_limit.magic_link", r.magic_link),
            ("rate_limit.second_factor", r.second_factor),
            ("rate_limit.passkey", r.passkey),
            ("rate_limit.upstream", r.upstream),
            ("rate_limit.device_authorization", r.device_authorization),
            (
                "rate_limit.device_authorization_client",
                r.device_authorization_client,
            ),
            ("rate_limit.email_code", r.email_code),
            ("rate_limit.document_fetch", r.document_fetch),
            ("rate_limit.document_fetch_total", r.document_fetch_total),
            (
                "rate_limit.document_fetch_address",
                r.document_fetch_address,
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
        Ok(())
    }

    /// The key-encryption keys decode (`secrets`).
    fn check_secrets(&self) -> Result<(), ConfigError> {
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
        Ok(())
    }

    /// A new signing key is published longer than any key-set cache lives.
    fn check_keys(&self) -> Result<(), ConfigError> {
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
        Ok(())
    }

    /// Who may read `/metrics`.
    fn check_metrics(&self) -> Result<(), ConfigError> {
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
        Ok(())
    }

    fn check_password(&self) -> Result<(), ConfigError> {
        if self.password.max_concurrent_hashes == 0 {
            return Err(bad(
                "password.max_concurrent_hashes",
                "must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// Scope tokens are well-formed and every resource scope names a resource.
    fn check_scopes(&self) -> Result<(), ConfigError> {
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
}
