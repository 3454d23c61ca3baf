//! The client metadata rules (RFC 7591 §2, OIDC Registration §2, OIDC
//! RP-Initiated Logout §3.1, draft-ietf-oauth-client-id-metadata-document §4):
//! one validator for every way a client comes to exist — an administrator
//! (`portcullis client create`), dynamic registration (RFC 7591) and a client
//! ID metadata document. What differs between them is a [`Policy`], chosen by
//! [`ClientOrigin`]:
//!
//! - an administrator may give any grant type and any well-formed scope, and
//!   is told in terms of the command's flags;
//! - a dynamically registered client is a stranger who gets an answer: its
//!   lists are de-duplicated and bounded, anything malformed or not offered
//!   here is refused with the RFC 7591 §3.2.2 error that names it;
//! - a metadata document is written for many servers and nobody reads our
//!   refusal: it describes a code-flow client (redirect URIs required), is
//!   public unless it carries its keys, scopes this deployment does not offer
//!   are dropped and a disguised name is cleaned rather than refused.

use serde_json::Value;
use url::Url;

use crate::domain::client_origin::ClientOrigin;
use crate::domain::grant_type::GrantType;
use crate::domain::scope::{Scopes, is_valid_token};
use crate::oauth::client::model::{
    AUTH_CLIENT_SECRET_BASIC, AUTH_NONE, AUTH_PRIVATE_KEY_JWT, ClientMetadata,
    TOKEN_ENDPOINT_AUTH_METHODS,
};
use crate::oauth::display_text;
use crate::oauth::redirect::{check_registrable, is_loopback};
use crate::oauth::scope::{Allowlist, DEFAULT_CLIENT_SCOPE};

/// The only response type this server issues (RFC 6749 §4.1).
const RESPONSE_TYPE_CODE: &str = "code";
/// ID token signing algorithms a client may ask for (OIDC Registration §2).
const ID_TOKEN_ALGS: &[&str] = &["RS256", "ES256", "EdDSA"];
/// Bounds that keep one registration small.
const MAX_URIS: usize = 20;
const MAX_URI_LEN: usize = 2048;
const MAX_CONTACTS: usize = 10;
const MAX_TEXT_LEN: usize = 255;
/// A document's name is cut to this many characters.
const MAX_DOCUMENT_NAME: usize = 200;

/// Grant types a client that describes itself may use: `client_credentials`
/// clients are created by an administrator.
const SELF_DESCRIBED_GRANTS: &[GrantType] = &[
    GrantType::AuthorizationCode,
    GrantType::RefreshToken,
    GrantType::DeviceCode,
];

/// Client metadata as asked for (RFC 7591 §2), whatever the origin. `None`
/// is absent.
#[derive(Debug, Default, Clone)]
pub struct Requested {
    pub client_name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
    pub token_endpoint_auth_method: Option<String>,
    pub scope: Option<String>,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub jwks: Option<Value>,
    pub jwks_uri: Option<String>,
    pub id_token_signed_response_alg: Option<String>,
    pub contacts: Option<Vec<String>>,
    pub software_id: Option<String>,
    pub software_version: Option<String>,
    /// Resources (RFC 8707) the client is narrowed to (administrators only).
    pub resources: Vec<String>,
}

/// Checked metadata and the name to show, ready to store.
#[derive(Debug, Clone)]
pub struct Checked {
    pub name: String,
    pub metadata: ClientMetadata,
}

/// Which RFC 7591 §3.2.2 error a refusal is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `invalid_redirect_uri`.
    RedirectUri,
    /// `invalid_client_metadata`.
    Metadata,
}

/// Why metadata was refused, in the words of its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub fault: Fault,
    pub message: String,
}

fn metadata(message: impl Into<String>) -> Violation {
    Violation {
        fault: Fault::Metadata,
        message: message.into(),
    }
}

fn redirect(message: impl Into<String>) -> Violation {
    Violation {
        fault: Fault::RedirectUri,
        message: message.into(),
    }
}

/// What a client of one origin may register, and how it is told.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    pub origin: ClientOrigin,
    /// The deployment's scopes; an administrator's client is not held to them.
    offered: Option<&'a Allowlist>,
    /// The document URL, for a metadata document (its name falls back to the host).
    document: Option<&'a str>,
}

impl<'a> Policy<'a> {
    /// `portcullis client create`.
    pub fn admin() -> Self {
        Policy {
            origin: ClientOrigin::Admin,
            offered: None,
            document: None,
        }
    }

    /// Dynamic registration (RFC 7591 §3), held to the scopes `offered`.
    pub fn dynamic(offered: &'a Allowlist) -> Self {
        Policy {
            origin: ClientOrigin::Dynamic,
            offered: Some(offered),
            document: None,
        }
    }

    /// The metadata document at `url`, narrowed to the scopes `offered`.
    pub fn document(url: &'a str, offered: &'a Allowlist) -> Self {
        Policy {
            origin: ClientOrigin::MetadataDocument,
            offered: Some(offered),
            document: Some(url),
        }
    }

    /// A stranger that gets an answer: lists de-duplicated and bounded,
    /// display strings refused rather than cleaned.
    fn answers(&self) -> bool {
        self.origin == ClientOrigin::Dynamic
    }

    /// A metadata document names a client of the code flow.
    fn code_flow_only(&self) -> bool {
        self.origin == ClientOrigin::MetadataDocument
    }

    fn grants(&self) -> &'static [GrantType] {
        match self.origin {
            ClientOrigin::Admin => &GrantType::ALL,
            _ => SELF_DESCRIBED_GRANTS,
        }
    }

    /// `grant_types` when absent: RFC 7591 §2 says `authorization_code`; an
    /// administrator's client also refreshes.
    fn default_grants(&self) -> &'static [GrantType] {
        match self.origin {
            ClientOrigin::Admin => &[GrantType::AuthorizationCode, GrantType::RefreshToken],
            _ => &[GrantType::AuthorizationCode],
        }
    }

    /// Methods allowed, and the one when absent: RFC 7591 §2's default for
    /// registration; a document cannot hold a shared secret.
    fn auth_methods(&self) -> (&'static [&'static str], &'static str) {
        match self.origin {
            ClientOrigin::Admin => (
                &[AUTH_NONE, AUTH_CLIENT_SECRET_BASIC],
                AUTH_CLIENT_SECRET_BASIC,
            ),
            ClientOrigin::Dynamic => (TOKEN_ENDPOINT_AUTH_METHODS, AUTH_CLIENT_SECRET_BASIC),
            ClientOrigin::MetadataDocument => (&[AUTH_NONE, AUTH_PRIVATE_KEY_JWT], AUTH_NONE),
        }
    }

    /// Keeps the first of each value where the origin's lists are de-duplicated.
    fn list(&self, values: Option<&[String]>) -> Vec<String> {
        let values = values.unwrap_or_default();
        if !self.answers() {
            return values.to_vec();
        }
        let mut out: Vec<String> = Vec::with_capacity(values.len());
        for v in values {
            if !out.contains(v) {
                out.push(v.clone());
            }
        }
        out
    }
}

/// Checks `req` under `policy` and fills in the defaults. The checks run in
/// one order for every origin; the first refusal is returned.
pub fn check(req: &Requested, policy: &Policy) -> Result<Checked, Violation> {
    let auth_method = auth_method(req, policy)?;
    let grant_types = grant_types(req, policy, &auth_method)?;
    let uses_code = grant_types
        .iter()
        .any(|g| g == GrantType::AuthorizationCode.as_str());
    let response_types = response_types(req, policy, uses_code)?;
    let redirect_uris = redirect_uris(req, policy, uses_code)?;
    let post_logout_redirect_uris = post_logout_redirect_uris(req, policy)?;
    let (jwks, jwks_uri) = client_keys(req, policy)?;
    let client_uri = web_url(policy, "client_uri", req.client_uri.as_deref())?;
    let name = client_name(req, policy, &redirect_uris, client_uri.as_deref())?;
    let metadata = ClientMetadata {
        redirect_uris,
        grant_types,
        response_types,
        token_endpoint_auth_method: auth_method,
        scope: client_scope(req, policy)?,
        client_uri,
        logo_uri: web_url(policy, "logo_uri", req.logo_uri.as_deref())?,
        post_logout_redirect_uris,
        jwks_uri,
        jwks,
        id_token_signed_response_alg: id_token_alg(req, policy)?,
        resources: resources(req)?,
        contacts: contacts(req, policy)?,
        software_id: short_text("software_id", req.software_id.as_deref())?,
        software_version: short_text("software_version", req.software_version.as_deref())?,
    };
    Ok(Checked { name, metadata })
}

/// `token_endpoint_auth_method` (RFC 7591 §2): one the origin may use;
/// `private_key_jwt` needs the client's keys.
fn auth_method(req: &Requested, policy: &Policy) -> Result<String, Violation> {
    let (allowed, default) = policy.auth_methods();
    let method = req.token_endpoint_auth_method.as_deref().unwrap_or(default);
    if !allowed.contains(&method) {
        return Err(metadata(match policy.origin {
            ClientOrigin::MetadataDocument => format!(
                "token_endpoint_auth_method {method:?} is not possible for a metadata document client"
            ),
            _ => format!(
                "unsupported token_endpoint_auth_method {method:?}; use one of {}",
                allowed.join(", ")
            ),
        }));
    }
    if method == AUTH_PRIVATE_KEY_JWT && req.jwks.is_none() && req.jwks_uri.is_none() {
        return Err(metadata(match policy.origin {
            ClientOrigin::MetadataDocument => "private_key_jwt needs inline jwks",
            _ => "private_key_jwt needs the client's keys in jwks or jwks_uri",
        }));
    }
    Ok(method.to_string())
}

/// `grant_types`: ones the origin may use (`client_credentials` only for an
/// administrator's confidential client).
fn grant_types(
    req: &Requested,
    policy: &Policy,
    auth_method: &str,
) -> Result<Vec<String>, Violation> {
    let grants = match policy.list(req.grant_types.as_deref()) {
        given if !given.is_empty() => given,
        _ => policy
            .default_grants()
            .iter()
            .map(|g| g.as_str().to_string())
            .collect(),
    };
    let allowed = policy.grants();
    for g in &grants {
        if allowed.iter().any(|a| a.as_str() == g) {
            continue;
        }
        return Err(metadata(refused_grant(policy, g)));
    }
    let credentials = GrantType::ClientCredentials.as_str();
    if auth_method == AUTH_NONE && grants.iter().any(|g| g == credentials) {
        return Err(metadata("a --public client cannot use client_credentials"));
    }
    Ok(grants)
}

fn refused_grant(policy: &Policy, grant: &str) -> String {
    let names = |grants: &[GrantType]| {
        grants
            .iter()
            .map(|g| g.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match policy.origin {
        ClientOrigin::Admin => format!(
            "unknown grant type {grant:?} (expected one of {})",
            names(&GrantType::ALL)
        ),
        ClientOrigin::Dynamic if grant == GrantType::ClientCredentials.as_str() => {
            "client_credentials clients cannot register themselves; an administrator \
             creates them with `portcullis client create`"
                .to_string()
        }
        ClientOrigin::Dynamic => format!(
            "unsupported grant type {grant:?}; dynamically registered clients may use {}",
            names(SELF_DESCRIBED_GRANTS)
        ),
        ClientOrigin::MetadataDocument => {
            format!("grant type {grant:?} is not available to metadata document clients")
        }
    }
}

/// `response_types`: only `code`, and exactly when the client uses the
/// authorization code grant (RFC 7591 §2.1 asks the two to agree); a
/// document's client is a code-flow client.
fn response_types(
    req: &Requested,
    policy: &Policy,
    uses_code: bool,
) -> Result<Vec<String>, Violation> {
    let types = policy.list(req.response_types.as_deref());
    if policy.code_flow_only() {
        return Ok(vec![RESPONSE_TYPE_CODE.to_string()]);
    }
    if types.is_empty() {
        return Ok(if uses_code {
            vec![RESPONSE_TYPE_CODE.to_string()]
        } else {
            Vec::new()
        });
    }
    if let Some(bad) = types.iter().find(|t| *t != RESPONSE_TYPE_CODE) {
        return Err(metadata(format!(
            "unsupported response type {bad:?}; only \"code\" is supported"
        )));
    }
    if !uses_code {
        return Err(metadata(
            "response type \"code\" needs the authorization_code grant type (RFC 7591 §2.1)",
        ));
    }
    Ok(types)
}

/// `redirect_uris`: each registrable (RFC 8252 §7, no fragment, no script
/// schemes); at least one for the authorization code grant.
fn redirect_uris(
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
fn post_logout_redirect_uris(req: &Requested, policy: &Policy) -> Result<Vec<String>, Violation> {
    let uris = policy.list(req.post_logout_redirect_uris.as_deref());
    check_uris(policy, "post_logout_redirect_uris", &uris).map_err(metadata)?;
    Ok(uris)
}

/// [`check_registrable`] for a list of redirect targets, and for a stranger
/// its count and lengths.
fn check_uris(policy: &Policy, field: &str, uris: &[String]) -> Result<(), String> {
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
fn client_keys(
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
fn check_jwks(jwks: &Value) -> Result<(), Violation> {
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
fn check_jwks_uri(uri: &str) -> Result<String, Violation> {
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
fn web_url(policy: &Policy, field: &str, value: Option<&str>) -> Result<Option<String>, Violation> {
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

/// `scope`: each token per RFC 6749 §3.3. Registration refuses scopes this
/// deployment does not offer, so the client learns at once what it cannot
/// have; a document's are dropped; an administrator's are theirs to choose.
fn client_scope(req: &Requested, policy: &Policy) -> Result<String, Violation> {
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
fn id_token_alg(req: &Requested, policy: &Policy) -> Result<Option<String>, Violation> {
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

/// Resources (RFC 8707 §2): absolute URIs without fragment. Only an
/// administrator narrows a client to some; other origins send none.
fn resources(req: &Requested) -> Result<Vec<String>, Violation> {
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

/// `contacts` (RFC 7591 §2): a few short strings.
fn contacts(req: &Requested, policy: &Policy) -> Result<Vec<String>, Violation> {
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
fn short_text(field: &str, value: Option<&str>) -> Result<Option<String>, Violation> {
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
fn client_name(
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

fn admin_name(name: &str) -> Result<String, Violation> {
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

fn derived_name(redirect_uris: &[String], client_uri: Option<&str>) -> String {
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

fn document_name(name: Option<&str>, url: &str) -> String {
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
