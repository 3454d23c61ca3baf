//! The `form-action` of a page's Content-Security-Policy.
//!
//! Every page allows its forms to post to this origin only (`'self'`), so
//! markup injected into a page cannot send a password elsewhere. Browsers
//! (Chromium, and CSP3) also apply `form-action` to the redirects that follow
//! a submission: after the consent POST the `303` to the client's
//! `redirect_uri`, after a sign-in POST the `303` to `/oauth2/authorize` and
//! its `302` to the client, after the logout confirmation the `303` to the
//! `post_logout_redirect_uri`. Under `'self'` alone those navigations are
//! blocked. So a page whose form may end at a client adds the origin of that
//! one destination, and only once it is validated: a redirect URI the client
//! registered, never one the request merely names.

use actix_web::HttpResponse;
use actix_web::http::header::{self, HeaderValue};
use url::Url;

use crate::domain::ids::ClientId;
use crate::oauth::client;
use crate::oauth::redirect::{is_loopback, is_plain_host, matches};
use crate::state::AppState;

/// The policy of every page, `form-action 'self'` included.
pub const PAGE_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
     script-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'; \
     form-action 'self'";

/// The CSP source expression that lets a form's redirect reach `uri`:
/// `scheme://host[:port]` for http(s) (any port on loopback, RFC 8252 §7.3),
/// `scheme:` for a native app's private-use scheme.
pub fn source(uri: &str) -> Option<String> {
    let url = Url::parse(uri).ok()?;
    match url.scheme() {
        "http" | "https" => {
            // A host such as `*` would widen the policy to every site.
            if !is_plain_host(&url) {
                return None;
            }
            let host = url.host_str()?;
            Some(if is_loopback(&url) {
                format!("{}://{host}:*", url.scheme())
            } else {
                match url.port() {
                    Some(p) => format!("{}://{host}:{p}", url.scheme()),
                    None => format!("{}://{host}", url.scheme()),
                }
            })
        }
        // `url` only parses schemes of RFC 3986 characters, none of which
        // can end a CSP directive.
        scheme => Some(format!("{scheme}:")),
    }
}

/// Gives a page the policy with `uris`' sources added to `form-action`.
pub fn allow(res: &mut HttpResponse, uris: &[String]) {
    let mut sources: Vec<String> = uris.iter().filter_map(|u| source(u)).collect();
    sources.sort();
    sources.dedup();
    if sources.is_empty() {
        return;
    }
    let policy = format!("{PAGE_CSP} {}", sources.join(" "));
    if let Ok(v) = HeaderValue::from_str(&policy) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
}

/// Where an authorization request of `client_id` may redirect: the named
/// `redirect_uri` if the client registered it, otherwise (none named) every
/// URI it registered.
pub async fn authorization_targets(
    state: &AppState,
    client_id: &ClientId,
    redirect_uri: Option<&str>,
) -> Vec<String> {
    let Ok(Some(client)) = client::find(state, client_id).await else {
        return Vec::new();
    };
    let registered = &client.metadata.redirect_uris;
    match redirect_uri {
        Some(r) if registered.iter().any(|reg| matches(reg, r)) => vec![r.to_string()],
        Some(_) => Vec::new(),
        None => registered.clone(),
    }
}

/// Where a sign-in form with this `return_to` may end: the client of the
/// authorization request it returns to, if it is one.
pub async fn return_to_targets(state: &AppState, return_to: &str) -> Vec<String> {
    let Some(query) = return_to.strip_prefix("/oauth2/authorize?") else {
        return Vec::new();
    };
    let mut client_id = None;
    let mut redirect_uri = None;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "client_id" => client_id = Some(ClientId::from(v.into_owned())),
            "redirect_uri" => redirect_uri = Some(v.into_owned()),
            _ => {}
        }
    }
    match client_id {
        Some(id) => authorization_targets(state, &id, redirect_uri.as_deref()).await,
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_name_the_origin_only() {
        assert_eq!(
            source("https://app.example/cb?x=1").as_deref(),
            Some("https://app.example")
        );
        assert_eq!(
            source("https://app.example:8443/cb").as_deref(),
            Some("https://app.example:8443")
        );
        assert_eq!(
            source("http://127.0.0.1:5000/cb").as_deref(),
            Some("http://127.0.0.1:*")
        );
        assert_eq!(
            source("com.example.app:/oauth2redirect").as_deref(),
            Some("com.example.app:")
        );
        assert_eq!(source("not a uri"), None);
    }

    #[test]
    fn a_wildcard_or_odd_host_adds_no_source() {
        for uri in [
            "https://*/cb",
            "https://*.example/cb",
            "https://a_b.example/cb",
            "https://a%20b.example/cb",
        ] {
            assert_eq!(source(uri), None, "{uri}");
        }
        assert_eq!(
            source("https://[2001:db8::1]/cb").as_deref(),
            Some("https://[2001:db8::1]")
        );
        assert_eq!(
            source("https://xn--bcher-kva.example/cb").as_deref(),
            Some("https://xn--bcher-kva.example")
        );
    }
}
