//! Resource indicators (RFC 8707): the audiences a token may carry, held in
//! the deployment's configured spelling. Resolved once from a request
//! ([`Resources::resolve`]); every "asked within granted" rule at the token
//! endpoint is [`Resources::within`].

use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};
use url::Url;

use super::scope::Scopes;

/// Distinct resource URIs in first-seen order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Resources(Vec<String>);

impl Resources {
    /// From the space-separated form a grant row stores (a resource URI has
    /// no spaces: RFC 3986 §2), which splits as a scope string does.
    pub fn parse(stored: &str) -> Self {
        Resources(Scopes::parse(stored).into_vec())
    }

    /// The requested `resource` values in their canonical (configured)
    /// spelling (RFC 8707 §2), or why the first one cannot be used
    /// (`invalid_target`): not an absolute URI, a fragment, not a resource of
    /// this deployment, or outside the client's `registered` ones (none
    /// registered: any of the deployment's).
    pub fn resolve(
        requested: &[String],
        deployment: &[String],
        registered: &[String],
    ) -> Result<Self, String> {
        let mut out = Resources::default();
        for r in requested {
            let canonical = canonical(r, deployment)?;
            let allowed = registered.is_empty() || registered.iter().any(|c| same(c, canonical));
            if !allowed {
                return Err(format!("this client may not request tokens for {r:?}"));
            }
            out.push(canonical);
        }
        Ok(out)
    }

    /// Narrowing at the token endpoint (RFC 8707 §2.2): every resource asked
    /// for must be among those `granted`; asking for none keeps them all.
    pub fn within(asked: &[String], granted: &Resources) -> Result<Self, String> {
        if asked.is_empty() {
            return Ok(granted.clone());
        }
        let mut out = Resources::default();
        for r in asked {
            let g = granted
                .iter()
                .find(|g| same(g, r))
                .ok_or_else(|| format!("{r:?} was not granted"))?;
            out.push(g);
        }
        Ok(out)
    }

    /// Whether every one of these is, in the same spelling, among `granted`.
    pub fn all_in(&self, granted: &Resources) -> bool {
        self.iter().all(|r| granted.contains(r))
    }

    /// These followed by those of `more` not already here (a consent widened).
    pub fn union(&self, more: &Resources) -> Resources {
        let mut out = self.clone();
        for r in more.iter() {
            out.push(r);
        }
        out
    }

    pub fn into_vec(self) -> Vec<String> {
        self.0
    }

    fn push(&mut self, r: &str) {
        if !self.0.iter().any(|have| have == r) {
            self.0.push(r.to_string());
        }
    }
}

/// The configured spelling of `r`: itself when configured as written (the
/// configuration already checked it is absolute and has no fragment), else
/// the configured resource it names.
fn canonical<'d>(r: &str, deployment: &'d [String]) -> Result<&'d str, String> {
    if let Some(exact) = deployment.iter().find(|d| *d == r) {
        return Ok(exact);
    }
    let parsed =
        Url::parse(r).map_err(|_| format!("{r:?} is not an absolute URI (RFC 8707 §2)"))?;
    if parsed.fragment().is_some() {
        return Err(format!("{r:?} must not contain a fragment (RFC 8707 §2)"));
    }
    deployment
        .iter()
        .find(|d| same(d, r))
        .map(String::as_str)
        .ok_or_else(|| format!("{r:?} is not a resource of this server"))
}

/// Two resource URIs name the same resource when they parse to the same URL
/// (`https://x` ≡ `https://x/`).
pub fn same(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (Url::parse(a), Url::parse(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

impl Deref for Resources {
    type Target = [String];
    fn deref(&self) -> &[String] {
        &self.0
    }
}

impl From<Resources> for Vec<String> {
    fn from(r: Resources) -> Self {
        r.0
    }
}

/// Space-separated, as in the database.
impl fmt::Display for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn trailing_slash_on_the_root_is_the_same_resource() {
        assert!(same("https://x.example", "https://x.example/"));
        assert!(!same("https://x.example/mcp", "https://x.example/mcp/"));
    }

    #[test]
    fn resolve_takes_the_configured_spelling_once() {
        let deployment = list(&["https://x.example/", "https://y.example/mcp"]);
        let got = Resources::resolve(
            &list(&["https://x.example", "https://x.example/"]),
            &deployment,
            &[],
        );
        assert_eq!(got.map(Vec::from), Ok(list(&["https://x.example/"])));
        assert!(Resources::resolve(&list(&["https://z.example/"]), &deployment, &[]).is_err());
        assert!(Resources::resolve(&list(&["x#y"]), &deployment, &[]).is_err());
        assert!(
            Resources::resolve(
                &list(&["https://y.example/mcp"]),
                &deployment,
                &list(&["https://x.example"])
            )
            .is_err()
        );
    }

    #[test]
    fn within_keeps_all_when_none_asked_and_refuses_wider() {
        let granted = Resources::parse("https://x.example/ https://y.example/mcp");
        assert_eq!(Resources::within(&[], &granted), Ok(granted.clone()));
        assert_eq!(
            Resources::within(&list(&["https://x.example"]), &granted).map(Vec::from),
            Ok(list(&["https://x.example/"]))
        );
        assert!(Resources::within(&list(&["https://z.example/"]), &granted).is_err());
    }

    #[test]
    fn union_appends_what_is_new() {
        let a = Resources::parse("https://a/ https://b/");
        let b = Resources::parse("https://b/ https://c/");
        assert_eq!(a.union(&b).to_string(), "https://a/ https://b/ https://c/");
        assert!(Resources::parse("https://b/").all_in(&a));
        assert!(!b.all_in(&a));
    }
}
