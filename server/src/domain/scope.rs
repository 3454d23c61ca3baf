//! Scope values (RFC 6749 §3.3): space-delimited, case-sensitive, unordered
//! tokens. Parsed once into [`Scopes`]; every "asked within allowed" rule is
//! [`Scopes::within`].

use std::collections::HashSet;
use std::fmt;
use std::ops::Deref;

/// The scopes offered when nothing is configured (OIDC Core §5.4, §11).
pub const DEFAULT_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// The most scope tokens a request or a registration may name: far more than
/// any real client asks for, and a bound on the work one request can cause.
pub const MAX_SCOPES: usize = 100;

/// Distinct scope tokens in first-seen order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(Vec<String>);

impl Scopes {
    /// Splits a scope string into distinct tokens, keeping first-seen order
    /// (in time linear in its length, whatever a stranger sends).
    pub fn parse(scope: &str) -> Self {
        let mut seen: HashSet<&str> = HashSet::new();
        Scopes(
            scope
                .split(' ')
                .filter(|s| !s.is_empty() && seen.insert(s))
                .map(str::to_string)
                .collect(),
        )
    }

    /// [`parse`](Self::parse) for a scope a request or a registration names:
    /// more than [`MAX_SCOPES`] distinct tokens is refused (the reason, for
    /// `invalid_scope`).
    pub fn parse_requested(scope: &str) -> Result<Self, String> {
        let out = Self::parse(scope);
        if out.len() > MAX_SCOPES {
            return Err(format!("at most {MAX_SCOPES} scopes may be requested"));
        }
        Ok(out)
    }

    /// What a request gets, bounded by what it may have (RFC 6749 §3.3, §6):
    /// all of `allowed` when it asked for nothing, else what it asked for,
    /// every scope of which must be in `allowed`. `Err` names the first
    /// scope outside.
    pub fn within(asked: Option<Scopes>, allowed: &Scopes) -> Result<Scopes, String> {
        match asked {
            Some(asked) if !asked.is_empty() => match asked.iter().find(|s| !allowed.contains(s)) {
                Some(outside) => Err(outside.clone()),
                None => Ok(asked),
            },
            _ => Ok(allowed.clone()),
        }
    }

    /// The first token that is not a valid scope token, if any.
    pub fn first_invalid(&self) -> Option<&str> {
        self.iter().map(String::as_str).find(|s| !is_valid_token(s))
    }

    /// The scopes without those `drop` names.
    pub fn without(&self, drop: &[&str]) -> Scopes {
        Scopes(
            self.iter()
                .filter(|s| !drop.contains(&s.as_str()))
                .cloned()
                .collect(),
        )
    }

    pub fn into_vec(self) -> Vec<String> {
        self.0
    }
}

impl Deref for Scopes {
    type Target = [String];
    fn deref(&self) -> &[String] {
        &self.0
    }
}

impl From<Vec<String>> for Scopes {
    fn from(v: Vec<String>) -> Self {
        Scopes(v)
    }
}

impl From<Scopes> for Vec<String> {
    fn from(s: Scopes) -> Self {
        s.0
    }
}

/// Space-separated, as on the wire and in the database.
impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

/// Whether a scope token is syntactically valid (RFC 6749 §3.3: %x21 / %x23-5B / %x5D-7E).
pub fn is_valid_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_dedups() {
        assert_eq!(
            *Scopes::parse(" openid  email openid "),
            ["openid", "email"]
        );
        assert!(is_valid_token("mcp:tools"));
        assert!(!is_valid_token("a\"b"));
        assert!(!is_valid_token("a\\b"));
        assert_eq!(Scopes::parse("a b").to_string(), "a b");
    }

    #[test]
    fn requests_naming_more_than_a_hundred_scopes_are_refused() {
        let many: Vec<String> = (0..=MAX_SCOPES).map(|i| format!("s{i}")).collect();
        assert!(Scopes::parse_requested(&many.join(" ")).is_err());
        assert_eq!(
            Scopes::parse_requested(&many[..MAX_SCOPES].join(" ")).map(|v| v.len()),
            Ok(MAX_SCOPES)
        );
        // Repeats count once.
        assert_eq!(
            Scopes::parse_requested(&"a ".repeat(10_000)).map(Scopes::into_vec),
            Ok(vec!["a".to_string()])
        );
    }

    #[test]
    fn within_takes_all_allowed_when_nothing_is_asked_and_refuses_wider() {
        let allowed = Scopes::parse("openid email");
        assert_eq!(Scopes::within(None, &allowed), Ok(allowed.clone()));
        assert_eq!(
            Scopes::within(Some(Scopes::parse("")), &allowed),
            Ok(allowed.clone())
        );
        assert_eq!(
            Scopes::within(Some(Scopes::parse("email")), &allowed),
            Ok(Scopes::parse("email"))
        );
        assert_eq!(
            Scopes::within(Some(Scopes::parse("email admin")), &allowed),
            Err("admin".to_string())
        );
    }
}
