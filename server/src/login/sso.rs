//! Enterprise SSO: an organisation's owner connects an OpenID Connect
//! provider for an email domain; once the domain is proved, everyone with an
//! address there signs in through it (`/login` hands them over after they
//! type the address), and addresses in the domain are the connection's to
//! vouch for.
//!
//! The domain is proved by mail to one of the addresses the CA/Browser
//! Forum's baseline requirements (§3.2.2.4.4) accept as the domain's
//! administrator: admin, administrator, webmaster, hostmaster or postmaster.
//! Until then the connection routes nobody, and of two organisations claiming
//! one domain, the first proved wins (a partial unique index).
//!
//! The connection's issuer is chosen by an organisation, not the operator:
//! every call to it reaches public addresses only (`social::http::Reach`).

use std::sync::Arc;

use entities::{sso_connections, users};
use url::Url;

use super::social::providers::{Protocol, Provider};
use crate::config::providers::upstream_url_allowed;
use crate::domain::ids::OrgId;
use crate::error::{ApiError, Error};
use crate::login::email::Email;
use crate::mail::templates;
use crate::secrets::Slot;
use crate::state::AppState;
use crate::store;
use crate::store::sso::Proved;
use crate::tokens::opaque;

/// Provider ids of connections are `sso-<connection id>`.
pub const PREFIX: &str = "sso-";
/// How long a domain proof mail works.
pub const PROOF_TTL: i64 = 24 * 60 * 60;
/// The mailboxes that speak for a domain (CA/B BR §3.2.2.4.4).
pub const ADMIN_MAILBOXES: [&str; 5] = [
    "admin",
    "administrator",
    "webmaster",
    "hostmaster",
    "postmaster",
];
pub const PROOF_PATH: &str = "/sso/verify-domain";

/// Where an address's domain sends its people to sign in.
#[derive(Debug, Clone)]
pub struct SsoRoute {
    /// The provider id (`sso-<connection id>`).
    pub provider_id: String,
    pub domain: String,
}

/// A connection an owner asks for.
pub struct Registration {
    pub organization_id: OrgId,
    pub domain: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub scopes: Vec<String>,
    /// The administrator mailbox the proof goes to (local part).
    pub mailbox: String,
}

fn bad(code: &'static str, message: &str) -> ApiError {
    ApiError::new(400, code, message)
}

/// Mail services whose users are not the domain's organisation: their
/// administrator mailboxes prove nothing about who may speak for their
/// users, and some such services have let users register them.
const SHARED_MAIL_DOMAINS: [&str; 24] = [
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "yahoo.com",
    "ymail.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "pm.me",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "mail.ru",
    "yandex.ru",
    "yandex.com",
    "qq.com",
    "163.com",
];

/// Whether a domain belongs to a shared mail service (or a subdomain of one).
pub fn is_shared_mail(domain: &str) -> bool {
    SHARED_MAIL_DOMAINS
        .iter()
        .any(|d| domain == *d || domain.ends_with(&format!(".{d}")))
}

/// A DNS name of at least two labels, lowercase, without a trailing dot.
pub fn normalise_domain(raw: &str) -> Option<String> {
    let d = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    let labels: Vec<&str> = d.split('.').collect();
    let tld_ok = labels
        .last()
        .is_some_and(|t| t.bytes().any(|b| b.is_ascii_alphabetic()));
    (d.len() <= 253 && labels.len() >= 2 && labels.iter().all(|l| label_ok(l)) && tld_ok)
        .then_some(d)
}

/// A registration's domain and scopes, once everything in it is acceptable.
fn checked(state: &AppState, reg: &Registration) -> Result<(String, Vec<String>), ApiError> {
    let domain =
        normalise_domain(&reg.domain).ok_or_else(|| bad("INVALID_DOMAIN", "Not a domain name."))?;
    if is_shared_mail(&domain) {
        return Err(bad(
            "INVALID_DOMAIN",
            "A shared mail service's domain cannot be bound to one organisation.",
        ));
    }
    if !ADMIN_MAILBOXES.contains(&reg.mailbox.as_str()) {
        return Err(bad(
            "INVALID_MAILBOX",
            "The proof goes to admin, administrator, webmaster, hostmaster or postmaster.",
        ));
    }
    let issuer_ok = Url::parse(&reg.issuer).is_ok_and(|u| {
        upstream_url_allowed(&u, state.settings.client_metadata.allow_loopback)
            && u.query().is_none()
            && u.fragment().is_none()
    });
    if !issuer_ok || reg.client_id.trim().is_empty() || reg.client_secret.is_empty() {
        return Err(bad(
            "INVALID_CONNECTION",
            "An https issuer, a client ID and a client secret are needed.",
        ));
    }
    let scopes = if reg.scopes.is_empty() {
        crate::config::providers::default_scopes()
    } else {
        reg.scopes.clone()
    };
    if !scopes.iter().any(|s| s == "openid")
        || scopes
            .iter()
            .any(|s| s.is_empty() || s.contains(char::is_whitespace))
    {
        return Err(bad("INVALID_SCOPE", "Scopes must include openid."));
    }
    Ok((domain, scopes))
}

/// Checks a registration, stores the connection unproved, and mails the
/// proof to the domain's administrator mailbox. Returns the connection and
/// where the proof went.
pub async fn register(
    state: &AppState,
    owner: &users::Model,
    reg: Registration,
) -> Result<(sso_connections::Model, String), ApiError> {
    let role = store::orgs::role_of(&state.db, &reg.organization_id, &owner.id).await?;
    if role.as_deref() != Some("owner") {
        return Err(ApiError::forbidden(
            "FORBIDDEN",
            "Only an owner of the organisation can set up single sign-on.",
        ));
    }
    let (domain, scopes) = checked(state, &reg)?;
    let id = opaque::new_id();
    let token = opaque::new_secret();
    let row = sso_connections::Model {
        id: id.clone(),
        organization_id: reg.organization_id,
        domain,
        issuer: reg.issuer,
        client_id: reg.client_id.trim().to_string(),
        client_secret: state
            .secrets
            .seal(Slot::SsoClientSecret(&id), reg.client_secret.as_bytes())?,
        scopes: scopes.join(" "),
        verification_token: opaque::hash_secret(&token),
        verified_at: None,
        created_by: owner.id.clone(),
        created_at: state.now(),
    };
    // The provider must answer discovery before anyone is sent there.
    let provider = provider_of(&row, reg.client_secret);
    super::social::oidc::discover(&state.upstreams, &provider, true)
        .await
        .map_err(|r| {
            bad(
                "INVALID_ISSUER",
                &format!("The issuer's discovery failed: {}", r.message("The issuer")),
            )
        })?;
    store::sso::insert(&state.db, row.clone()).await?;
    let to = format!("{}@{}", reg.mailbox, row.domain);
    let org = store::orgs::find(&state.db, &row.organization_id)
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    let link = crate::login::one_time::link(state, PROOF_PATH, &[("token", token.as_str())])?;
    state
        .mailer
        .send(templates::sso_domain_proof(&to, &row.domain, &org, &link));
    Ok((row, to))
}

/// The domain and organisation a live proof is for, without using it.
pub async fn peek_proof(state: &AppState, token: &str) -> Result<Option<(String, String)>, Error> {
    let since = state.now() - PROOF_TTL;
    let Some(row) =
        store::sso::find_unproved(&state.db, &opaque::hash_secret(token), since).await?
    else {
        return Ok(None);
    };
    let org = store::orgs::find(&state.db, &row.organization_id)
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    Ok(Some((row.domain, org)))
}

/// Proves the domain a proof names (its confirm page's POST).
pub async fn prove(state: &AppState, token: &str) -> Result<(), ApiError> {
    let now = state.now();
    match store::sso::prove(&state.db, &opaque::hash_secret(token), now - PROOF_TTL, now).await? {
        Proved::Now => Ok(()),
        Proved::Unknown => Err(bad(
            "INVALID_TOKEN",
            "This link was used, expired, or never issued.",
        )),
        Proved::DomainTaken => Err(ApiError::new(
            409,
            "DOMAIN_TAKEN",
            "Another organisation's single sign-on already serves this domain.",
        )),
    }
}

/// The SSO connection an address must sign in through, if its domain has a
/// proved one.
pub async fn route_for(state: &AppState, email: &str) -> Result<Option<SsoRoute>, Error> {
    let Some(email) = Email::parse(email) else {
        return Ok(None);
    };
    let Some((_, domain)) = email.as_str().rsplit_once('@') else {
        return Ok(None);
    };
    Ok(store::sso::proved_for_domain(&state.db, domain)
        .await?
        .map(|c| SsoRoute {
            provider_id: format!("{PREFIX}{}", c.id),
            domain: c.domain,
        }))
}

fn provider_of(row: &sso_connections::Model, client_secret: String) -> Provider {
    Provider {
        id: format!("{PREFIX}{}", row.id),
        name: format!("{} single sign-on", row.domain),
        protocol: Protocol::Oidc {
            issuer: row.issuer.clone(),
            scopes: row.scopes.split(' ').map(str::to_string).collect(),
            tenant: None,
        },
        client_id: row.client_id.clone(),
        client_secret,
        trust_mfa: false,
        sso_domain: Some(row.domain.clone()),
    }
}

/// The provider behind `sso-<id>`, when that connection is proved.
pub async fn provider(state: &AppState, id: &str) -> Result<Option<Arc<Provider>>, Error> {
    let Some(conn_id) = id.strip_prefix(PREFIX) else {
        return Ok(None);
    };
    let Some(row) = store::sso::find(&state.db, conn_id)
        .await?
        .filter(|c| c.verified_at.is_some())
    else {
        return Ok(None);
    };
    let secret = state
        .secrets
        .open_text(Slot::SsoClientSecret(&row.id), &row.client_secret)
        .map_err(|e| Error::internal(format!("SSO client secret: {e}")))?;
    Ok(Some(Arc::new(provider_of(&row, secret.to_string()))))
}

/// A configured provider or a proved SSO connection.
pub async fn any_provider(state: &AppState, id: &str) -> Result<Option<Arc<Provider>>, Error> {
    match state.upstreams.providers.get(id) {
        Some(p) => Ok(Some(p)),
        None => provider(state, id).await,
    }
}

#[cfg(test)]
mod tests {
    use super::normalise_domain;

    #[test]
    fn domains_are_names_of_two_labels_or_more() {
        assert_eq!(
            normalise_domain(" Acme.TEST. ").as_deref(),
            Some("acme.test")
        );
        assert_eq!(
            normalise_domain("mail.acme.co.uk").as_deref(),
            Some("mail.acme.co.uk")
        );
        for bad in [
            "acme",
            "10.0.0.1",
            "-acme.test",
            "acme..test",
            "acme.test/x",
            "a@acme.test",
            "",
            "acme.123",
        ] {
            assert_eq!(normalise_domain(bad), None, "{bad}");
        }
    }
}
