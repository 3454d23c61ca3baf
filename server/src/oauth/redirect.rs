//! Redirect targets: which redirect URIs a client may register, how a request's
//! `redirect_uri` is matched (exact, RFC 6749 §3.1.2; any port on loopback,
//! RFC 8252 §7.3), and which `return_to` values the screens accept.

use url::{Host, Url};

/// Why a redirect URI cannot be registered (RFC 7591 `invalid_redirect_uri`).
pub fn check_registrable(uri: &str) -> Result<Url, String> {
    let url = Url::parse(uri).map_err(|_| format!("{uri:?} is not an absolute URI"))?;
    if url.fragment().is_some() || uri.contains('#') {
        return Err(format!(
            "{uri:?} must not contain a fragment (RFC 6749 §3.1.2)"
        ));
    }
    match url.scheme() {
        "javascript" | "data" | "file" | "vbscript" | "about" | "blob" | "filesystem" => {
            Err(format!("{uri:?} uses a forbidden scheme"))
        }
        "https" => {
            if url.host().is_none() {
                return Err(format!("{uri:?} has no host"));
            }
            if !is_plain_host(&url) {
                return Err(format!(
                    "{uri:?}: the host must be an IP address or a domain name of letters, digits, dots and hyphens"
                ));
            }
            Ok(url)
        }
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(format!(
            "{uri:?}: plain http is allowed only for loopback hosts (RFC 8252 §7.3)"
        )),
        // Private-use URI schemes for native apps (RFC 8252 §7.1): `cursor://…`,
        // `com.example.app:/cb`. They must look like a reverse domain or a
        // product name, not a web scheme.
        scheme if scheme.len() >= 2 => Ok(url),
        _ => Err(format!("{uri:?} has an unusable scheme")),
    }
}

/// Whether the URL's host is an IP address or a domain of `[A-Za-z0-9.-]`:
/// the URL parser also takes `*` and other characters that mean something
/// else where the host is copied, as in a CSP source (`https://*`).
pub fn is_plain_host(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => {
            !d.is_empty()
                && d.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        }
        Some(Host::Ipv4(_) | Host::Ipv6(_)) => true,
        None => false,
    }
}

/// Whether the URL's host is a loopback interface name or address.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Whether a requested `redirect_uri` matches a registered one: byte for byte,
/// or for `http` loopback URIs on scheme, host, path and query with any port.
pub fn matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    let (Ok(reg), Ok(req)) = (Url::parse(registered), Url::parse(requested)) else {
        return false;
    };
    reg.scheme() == "http"
        && req.scheme() == "http"
        && is_loopback(&reg)
        && reg.host() == req.host()
        && reg.path() == req.path()
        && reg.query() == req.query()
        && reg.fragment().is_none()
        && req.fragment().is_none()
        && req.username().is_empty()
        && req.password().is_none()
}

pub use crate::domain::return_to::safe_return_to;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_and_odd_hosts_are_not_registrable() {
        for uri in [
            "https://*/cb",
            "https://*.example/cb",
            "https://a_b.example/cb",
        ] {
            assert!(check_registrable(uri).is_err(), "{uri}");
        }
        for uri in [
            "https://app.example/cb",
            "https://192.0.2.1/cb",
            "https://[2001:db8::1]/cb",
            "https://bücher.example/cb",
        ] {
            assert!(check_registrable(uri).is_ok(), "{uri}");
        }
    }

    #[test]
    fn registrable() {
        for ok in [
            "https://app.example/cb",
            "http://127.0.0.1/cb",
            "http://[::1]:8000/cb",
            "http://localhost:3000/cb",
            "cursor://anysphere.cursor-retrieval/oauth/callback",
            "vscode://vscode.github-authentication/did-authenticate",
            "com.example.app:/oauth2redirect",
        ] {
            assert!(check_registrable(ok).is_ok(), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "file:///etc/passwd",
            "vbscript:x",
            "https://app.example/cb#frag",
            "http://app.example/cb",
            "/relative",
        ] {
            assert!(check_registrable(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn loopback_ports_are_free_elsewhere_exact() {
        let table = [
            ("https://app.example/cb", "https://app.example/cb", true),
            ("https://app.example/cb", "https://app.example/cb/", false),
            (
                "https://app.example/cb",
                "https://app.example:444/cb",
                false,
            ),
            (
                "https://app.example/cb",
                "https://APP.example/cb?x=1",
                false,
            ),
            ("http://127.0.0.1/cb", "http://127.0.0.1:53682/cb", true),
            (
                "http://127.0.0.1:9000/cb",
                "http://127.0.0.1:53682/cb",
                true,
            ),
            ("http://[::1]/cb", "http://[::1]:6000/cb", true),
            ("http://localhost/cb", "http://localhost:6000/cb", true),
            ("http://127.0.0.1/cb", "http://127.0.0.1:6000/other", false),
            ("http://127.0.0.1/cb", "http://localhost:6000/cb", false),
            ("http://127.0.0.1/cb", "http://127.0.0.2:6000/cb", false),
            ("http://127.0.0.1/cb", "https://127.0.0.1:6000/cb", false),
            (
                "http://127.0.0.1/cb",
                "http://user@127.0.0.1:6000/cb",
                false,
            ),
            ("cursor://x/cb", "cursor://x/cb", true),
        ];
        for (reg, req, want) in table {
            assert_eq!(matches(reg, req), want, "{reg} vs {req}");
        }
    }
}
