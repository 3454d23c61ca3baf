//! `Email`: a trimmed, lower-cased address, checked for a plausible shape.

use std::fmt;

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Accepts `local@domain` with a dotted domain, no spaces, ≤ 254 bytes
    /// (RFC 5321 §4.5.3.1.3).
    pub fn parse(raw: &str) -> Option<Email> {
        let e = raw.trim().to_lowercase();
        let (local, domain) = e.rsplit_once('@')?;
        let ok = !local.is_empty()
            && local.len() <= 64
            && e.len() <= 254
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !e.chars().any(|c| c.is_whitespace() || c.is_control())
            && !local.contains('@');
        ok.then_some(Email(e))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn normalises_and_rejects() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").map(|e| e.to_string()),
            Some("ada@example.com".into())
        );
        for bad in [
            "",
            "ada",
            "@x.io",
            "ada@",
            "ada@localhost",
            "a da@x.io",
            "ada@x.io.",
            "a@b@c.io",
        ] {
            assert!(Email::parse(bad).is_none(), "{bad}");
        }
    }
}
