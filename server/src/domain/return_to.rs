//! Where the screens send someone back after signing in: a `return_to` value
//! is accepted only as a path on this origin, so no form or link can turn the
//! server into an open redirector.

/// `raw` if it is a same-origin path (no scheme, no `//host`, no backslash or
/// control character, at most 4096 bytes), trimmed.
pub fn safe_return_to(raw: Option<&str>) -> Option<String> {
    let r = raw?.trim();
    let ok = r.starts_with('/')
        && !r.starts_with("//")
        && !r.starts_with("/\\")
        && !r.chars().any(|c| c.is_control() || c == '\\')
        && r.len() <= 4096;
    ok.then(|| r.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_is_same_origin_path_only() {
        assert_eq!(
            safe_return_to(Some("/oauth2/authorize?x=1")),
            Some("/oauth2/authorize?x=1".into())
        );
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "javascript:x",
            "evil",
            "/a\nb",
        ] {
            assert_eq!(safe_return_to(Some(bad)), None, "{bad}");
        }
    }
}
