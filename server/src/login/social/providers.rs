//! The providers this deployment offers, built once from the settings, and
//! the service that talks to them ([`Upstreams`]: the HTTP client and the
//! cache of discovered OpenID providers).

use std::sync::Arc;
use std::time::Duration;

use crate::config::Settings;
use crate::config::providers::credential;
use crate::error::Error;

use super::http::{Reach, UpstreamHttp};
use super::microsoft::Tenant;
use openidconnect::core::{CoreJsonWebKeySet, CoreProviderMetadata};

/// How a provider is spoken to.
#[derive(Debug, Clone)]
pub enum Protocol {
    Github {
        authorize_url: String,
        token_url: String,
        api_url: String,
    },
    Oidc {
        /// Where discovery starts; the issuer ID tokens must carry (or, for
        /// Microsoft's multi-tenant endpoints, its template).
        issuer: String,
        scopes: Vec<String>,
        /// Microsoft's tenant rule, for the `microsoft` provider only.
        tenant: Option<Tenant>,
    },
}

#[derive(Clone)]
pub struct Provider {
    /// The path segment (`sign-in/<id>`, `callback/<id>`).
    pub id: String,
    /// The button's label.
    pub name: String,
    pub protocol: Protocol,
    pub client_id: String,
    pub client_secret: String,
    /// Take the upstream's `mfa` as a second factor.
    pub trust_mfa: bool,
    /// An SSO connection's proved domain: addresses in it are the
    /// organisation's to vouch for, and addresses outside it are refused.
    pub sso_domain: Option<String>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("id", &self.id)
            .field("protocol", &self.protocol)
            .finish()
    }
}

impl Provider {
    /// Which addresses calls for this provider may reach: anywhere for
    /// configured providers, public only for organisations' connections.
    pub fn reach(&self, allow_loopback: bool) -> Reach {
        if self.sso_domain.is_some() {
            Reach::Public { allow_loopback }
        } else {
            Reach::Configured
        }
    }

    /// `oauth` (GitHub) or `oidc`, as login-methods reports it.
    pub fn kind(&self) -> &'static str {
        match self.protocol {
            Protocol::Github { .. } => "oauth",
            Protocol::Oidc { .. } => "oidc",
        }
    }
}

/// The parameters every upstream authorization request carries (RFC 6749
/// §4.1.1 with PKCE S256, RFC 7636 §4.3); callers append their own.
pub fn authorization_request(
    mut endpoint: url::Url,
    provider: &Provider,
    redirect_uri: &str,
    scope: &str,
    state: &str,
    challenge: &str,
) -> url::Url {
    endpoint
        .query_pairs_mut()
        .append_pair("client_id", &provider.client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", scope)
        .append_pair("state", state)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    endpoint
}

/// The configured providers, in the order the buttons show them.
#[derive(Debug, Clone, Default)]
pub struct Providers(Vec<Arc<Provider>>);

impl Providers {
    pub fn from_settings(s: &Settings) -> Self {
        let mut list = Vec::new();
        if let Some((id, secret)) = credential(&s.github.client_id, &s.github.client_secret) {
            list.push(Provider {
                id: "github".into(),
                name: "GitHub".into(),
                protocol: Protocol::Github {
                    authorize_url: s.github.authorize_url.clone(),
                    token_url: s.github.token_url.clone(),
                    api_url: s.github.api_url.trim_end_matches('/').to_string(),
                },
                client_id: id.into(),
                client_secret: secret.into(),
                trust_mfa: false,
                sso_domain: None,
            });
        }
        if let Some((id, secret)) = credential(&s.google.client_id, &s.google.client_secret) {
            list.push(Provider {
                id: "google".into(),
                name: "Google".into(),
                protocol: Protocol::Oidc {
                    issuer: s
                        .google
                        .issuer
                        .clone()
                        .unwrap_or_else(|| "https://accounts.google.com".into()),
                    scopes: crate::config::providers::default_scopes(),
                    tenant: None,
                },
                client_id: id.into(),
                client_secret: secret.into(),
                trust_mfa: s.google.trust_mfa,
                sso_domain: None,
            });
        }
        if let Some((id, secret)) = credential(&s.microsoft.client_id, &s.microsoft.client_secret) {
            let tenant = Tenant::parse(s.microsoft.tenant.as_deref().unwrap_or("common"));
            list.push(Provider {
                id: "microsoft".into(),
                name: "Microsoft".into(),
                protocol: Protocol::Oidc {
                    issuer: s
                        .microsoft
                        .issuer
                        .clone()
                        .unwrap_or_else(|| tenant.default_issuer()),
                    scopes: crate::config::providers::default_scopes(),
                    tenant: Some(tenant),
                },
                client_id: id.into(),
                client_secret: secret.into(),
                trust_mfa: s.microsoft.trust_mfa,
                sso_domain: None,
            });
        }
        for p in &s.oidc_providers {
            list.push(Provider {
                id: p.id.clone(),
                name: p.name.trim().to_string(),
                protocol: Protocol::Oidc {
                    issuer: p.issuer.clone(),
                    scopes: p.scopes.clone(),
                    tenant: None,
                },
                client_id: p.client_id.trim().to_string(),
                client_secret: p.client_secret.clone(),
                trust_mfa: p.trust_mfa,
                sso_domain: None,
            });
        }
        Providers(list.into_iter().map(Arc::new).collect())
    }

    pub fn get(&self, id: &str) -> Option<Arc<Provider>> {
        self.0.iter().find(|p| p.id == id).cloned()
    }

    pub fn all(&self) -> &[Arc<Provider>] {
        &self.0
    }
}

/// What discovery found (`oidc`): the metadata and the signing keys.
pub struct Discovered {
    pub metadata: CoreProviderMetadata,
    pub jwks: CoreJsonWebKeySet,
    /// The published `issuer`, verbatim.
    pub issuer: String,
    /// RFC 9207 `authorization_response_iss_parameter_supported`: every
    /// response then carries `iss`, and one without it is refused.
    pub iss_in_response: bool,
}

/// How long a discovered provider (metadata and keys) is reused before it is
/// fetched again; a key it does not know triggers one early refetch.
const DISCOVERY_TTL: Duration = Duration::from_secs(600);

/// The providers, the client that calls them, and what discovery found.
pub struct Upstreams {
    pub providers: Providers,
    pub http: UpstreamHttp,
    pub(super) discovered: moka::future::Cache<String, Arc<Discovered>>,
    /// `http://` upstreams on loopback are allowed (tests, development).
    pub allow_loopback: bool,
}

impl Upstreams {
    pub fn new(settings: &Settings) -> Result<Self, Error> {
        Ok(Upstreams {
            providers: Providers::from_settings(settings),
            http: UpstreamHttp::new()?,
            discovered: moka::future::Cache::builder()
                .max_capacity(1024)
                .time_to_live(DISCOVERY_TTL)
                .build(),
            allow_loopback: settings.client_metadata.allow_loopback,
        })
    }
}
