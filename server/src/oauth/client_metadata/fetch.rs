//! Fetching a client ID metadata document, SSRF-safe (module docs of
//! `client_metadata`): the URL rules of the draft (§3), an address check
//! pinned to the connection, and size and time limits.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde_json::Value;
use url::{Host, Url};

use crate::domain::address::is_public;

/// Largest document accepted.
pub const MAX_BYTES: usize = 16 * 1024;
const TIMEOUT: Duration = Duration::from_secs(5);

/// Why a document was refused (logged; the user sees a generic page).
#[derive(Debug, thiserror::Error)]
#[error("client metadata document {url}: {why}")]
pub struct Refused {
    pub url: String,
    pub why: String,
}

pub(super) fn refuse(url: &str, why: impl Into<String>) -> Refused {
    Refused {
        url: url.to_string(),
        why: why.into(),
    }
}

/// The URL rules of the draft (§3): https, a path, no fragment, no
/// credentials, no dot segments.
pub(super) fn check_url(raw: &str, allow_loopback: bool) -> Result<Url, Refused> {
    let url = Url::parse(raw).map_err(|_| refuse(raw, "not a URL"))?;
    let loopback_http = allow_loopback
        && url.scheme() == "http"
        && matches!(
            url.host(),
            Some(Host::Domain("localhost")) | Some(Host::Ipv4(_)) | Some(Host::Ipv6(_))
        )
        && crate::oauth::redirect::is_loopback(&url);
    if url.scheme() != "https" && !loopback_http {
        return Err(refuse(raw, "must be an https URL"));
    }
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(refuse(raw, "must not contain a fragment or credentials"));
    }
    if url.path() == "/" || url.path().is_empty() {
        return Err(refuse(raw, "must contain a path"));
    }
    if raw.contains("/./") || raw.contains("/../") || raw.ends_with("/.") || raw.ends_with("/..") {
        return Err(refuse(raw, "must not contain dot segments"));
    }
    if url.as_str() != raw {
        return Err(refuse(raw, "must be in normalised form"));
    }
    Ok(url)
}

/// Resolves the host and keeps one address the fetch may use.
async fn vetted_address(url: &Url, allow_loopback: bool) -> Result<SocketAddr, Refused> {
    let raw = url.as_str();
    let host = url.host_str().ok_or_else(|| refuse(raw, "no host"))?;
    let port = url
        .port_or_known_default()
        .ok_or_else(|| refuse(raw, "no port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::time::timeout(TIMEOUT, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| refuse(raw, "DNS lookup timed out"))?
            .map_err(|_| refuse(raw, "the host does not resolve"))?
            .collect(),
    };
    let allowed = |ip: IpAddr| is_public(ip) || (allow_loopback && ip.is_loopback());
    // Every address must be acceptable: a name that also points inside is refused.
    if addrs.is_empty() || !addrs.iter().all(|a| allowed(a.ip())) {
        return Err(refuse(
            raw,
            "the host resolves to a private, loopback or link-local address",
        ));
    }
    Ok(addrs[0])
}

pub(super) async fn fetch(url: &Url, allow_loopback: bool) -> Result<Value, Refused> {
    let raw = url.as_str();
    let addr = vetted_address(url, allow_loopback).await?;
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let tls = crate::tls::http_client_config().map_err(|e| refuse(raw, format!("TLS: {e}")))?;
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .http1_only()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .resolve(&host, addr)
        .user_agent("Portcullis client-metadata fetcher")
        .build()
        .map_err(|e| refuse(raw, format!("HTTP client: {e}")))?;
    let mut res = http
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| refuse(raw, format!("fetch failed: {e}")))?;
    if res.status() != reqwest::StatusCode::OK {
        return Err(refuse(
            raw,
            format!("answered {} (redirects are not followed)", res.status()),
        ));
    }
    if res.content_length().is_some_and(|n| n as usize > MAX_BYTES) {
        return Err(refuse(raw, "document too large"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = res
        .chunk()
        .await
        .map_err(|e| refuse(raw, format!("read failed: {e}")))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_BYTES {
            return Err(refuse(raw, "document too large"));
        }
    }
    serde_json::from_slice(&body).map_err(|_| refuse(raw, "not a JSON document"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_not_public() {
        for ip in [
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:10.0.0.1",
            "192.0.0.8",
            "::10.0.0.1",
            "64:ff9b::a00:1",
            "2002:a00:1::1",
            "fec0::1",
            "feff::1",
            "64:ff9b:1::1",
            "64:ff9b:1:ffff::5db8:d822",
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:2::1",
            "2001:10::1",
            "100::1",
            "3fff::1",
            "::ffff:0:10.0.0.1",
            "::ffff:0:127.0.0.1",
            "192.88.99.1",
            "192.31.196.1",
            "192.52.193.1",
            "192.175.48.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "2606:2800:220:1::1",
            "64:ff9b::5db8:d822",
            "2001:200::1",
            "2001:4860:4860::8888",
            "::ffff:0:93.184.216.34",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn url_rules() {
        assert!(check_url("https://app.example/client.json", false).is_ok());
        for bad in [
            "http://app.example/c",
            "https://app.example",
            "https://app.example/",
            "https://u:p@app.example/c",
            "https://app.example/c#f",
            "https://app.example/a/../c",
        ] {
            assert!(check_url(bad, false).is_err(), "{bad}");
        }
        assert!(check_url("http://127.0.0.1:8000/c.json", false).is_err());
        assert!(check_url("http://127.0.0.1:8000/c.json", true).is_ok());
    }
}
