//! Scopes (RFC 6749 §3.3): space-delimited, case-sensitive, unordered.

/// The scopes this server understands on its own.
pub const SUPPORTED_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// The scope a client gets when it registers none.
pub const DEFAULT_CLIENT_SCOPE: &str = "openid profile email offline_access";

/// Splits a scope string into distinct tokens, keeping first-seen order.
pub fn parse(scope: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in scope.split(' ').filter(|s| !s.is_empty()) {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    out
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
        assert_eq!(parse(" openid  email openid "), vec!["openid", "email"]);
        assert!(is_valid_token("mcp:tools"));
        assert!(!is_valid_token("a\"b"));
        assert!(!is_valid_token("a\\b"));
    }
}
