//! Microsoft's identity platform, the way Microsoft documents validating it.
//!
//! - The multi-tenant endpoints (`common`, `organizations`, `consumers`)
//!   publish an issuer template, `https://login.microsoftonline.com/{tenantid}/v2.0`:
//!   an ID token's `iss` must be that template with the token's own `tid`,
//!   and `tid` must belong to the audience the endpoint serves (personal
//!   accounts live in one fixed tenant).
//! - The `email` claim is whatever a tenant's administrator typed: it proves
//!   nothing about the mailbox ("nOAuth"). Microsoft vouches for an address
//!   only with the `xms_edov` claim (email domain owner verified), so that is
//!   the only thing taken as `email_verified`.

use serde_json::Value;

/// The tenant personal Microsoft accounts belong to.
pub const CONSUMERS_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
const TEMPLATE: &str = "{tenantid}";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tenant {
    Common,
    Organizations,
    Consumers,
    /// One tenant, by id or domain.
    Single(String),
}

impl Tenant {
    pub fn parse(s: &str) -> Tenant {
        match s.to_ascii_lowercase().as_str() {
            "common" => Tenant::Common,
            "organizations" => Tenant::Organizations,
            "consumers" => Tenant::Consumers,
            other => Tenant::Single(other.to_string()),
        }
    }

    fn segment(&self) -> &str {
        match self {
            Tenant::Common => "common",
            Tenant::Organizations => "organizations",
            Tenant::Consumers => "consumers",
            Tenant::Single(t) => t,
        }
    }

    pub fn default_issuer(&self) -> String {
        format!("https://login.microsoftonline.com/{}/v2.0", self.segment())
    }

    /// Whether a discovery document's `issuer` fits the configured one:
    /// the same, or on a multi-tenant endpoint the same with the tenant
    /// replaced by the template.
    pub fn metadata_issuer_ok(&self, configured: &str, published: &str) -> bool {
        if published == configured {
            return true;
        }
        let multi = !matches!(self, Tenant::Single(_));
        let segment = format!("/{}/", self.segment());
        multi
            && configured.contains(&segment)
            && published == configured.replacen(&segment, &format!("/{TEMPLATE}/"), 1)
    }

    /// Whether an ID token's `iss` and `tid` fit the published issuer.
    pub fn token_issuer_ok(&self, published: &str, iss: &str, tid: Option<&str>) -> bool {
        if !published.contains(TEMPLATE) {
            return iss == published;
        }
        let Some(tid) = tid.filter(|t| is_tenant_id(t)) else {
            return false;
        };
        let audience_ok = match self {
            Tenant::Consumers => tid == CONSUMERS_TENANT,
            Tenant::Organizations => tid != CONSUMERS_TENANT,
            Tenant::Common => true,
            Tenant::Single(t) => t == tid,
        };
        audience_ok && iss == published.replacen(TEMPLATE, tid, 1)
    }

    /// Whether the issuer check is ours rather than the verifier's.
    pub fn templated(published: &str) -> bool {
        published.contains(TEMPLATE)
    }
}

/// Whether `iss` is the template with some tenant id in it.
pub fn fills_template(published: &str, iss: &str) -> bool {
    let Some((before, after)) = published.split_once(TEMPLATE) else {
        return false;
    };
    iss.strip_prefix(before)
        .and_then(|rest| rest.strip_suffix(after))
        .is_some_and(is_tenant_id)
}

/// A tenant id is a GUID.
pub fn is_tenant_id(s: &str) -> bool {
    s.len() == 36
        && s.chars().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Microsoft vouches for an address only through `xms_edov`.
pub fn email_verified(xms_edov: Option<&Value>) -> bool {
    match xms_edov {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "1" || s.eq_ignore_ascii_case("true"),
        Some(Value::Number(n)) => n.as_u64() == Some(1),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMON: &str = "https://login.microsoftonline.com/common/v2.0";
    const PUBLISHED: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";
    const CONTOSO: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    #[test]
    fn a_multi_tenant_endpoint_publishes_the_template() {
        assert!(Tenant::Common.metadata_issuer_ok(COMMON, PUBLISHED));
        assert!(Tenant::Common.metadata_issuer_ok(COMMON, COMMON));
        assert!(!Tenant::Common.metadata_issuer_ok(COMMON, "https://evil.example/{tenantid}/v2.0"));
        let single = Tenant::Single(CONTOSO.into());
        let configured = single.default_issuer();
        assert!(!single.metadata_issuer_ok(&configured, PUBLISHED));
    }

    #[test]
    fn the_token_issuer_carries_its_own_tenant() {
        let iss = format!("https://login.microsoftonline.com/{CONTOSO}/v2.0");
        assert!(Tenant::Common.token_issuer_ok(PUBLISHED, &iss, Some(CONTOSO)));
        // Another tenant's issuer with this tid, no tid, a tid that is no GUID.
        let other = "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0";
        assert!(!Tenant::Common.token_issuer_ok(PUBLISHED, other, Some(CONTOSO)));
        assert!(!Tenant::Common.token_issuer_ok(PUBLISHED, &iss, None));
        assert!(!Tenant::Common.token_issuer_ok(PUBLISHED, PUBLISHED, Some("{tenantid}")));
        // Endpoint audiences: personal accounts only on consumers, never on organizations.
        let personal = format!("https://login.microsoftonline.com/{CONSUMERS_TENANT}/v2.0");
        assert!(Tenant::Consumers.token_issuer_ok(PUBLISHED, &personal, Some(CONSUMERS_TENANT)));
        assert!(!Tenant::Consumers.token_issuer_ok(PUBLISHED, &iss, Some(CONTOSO)));
        assert!(!Tenant::Organizations.token_issuer_ok(
            PUBLISHED,
            &personal,
            Some(CONSUMERS_TENANT)
        ));
        assert!(Tenant::Organizations.token_issuer_ok(PUBLISHED, &iss, Some(CONTOSO)));
    }

    #[test]
    fn only_xms_edov_vouches_for_an_address() {
        assert!(email_verified(Some(&Value::Bool(true))));
        assert!(email_verified(Some(&Value::String("1".into()))));
        assert!(!email_verified(Some(&Value::Bool(false))));
        assert!(!email_verified(None));
    }
}
