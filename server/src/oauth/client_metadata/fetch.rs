//! Fetching a client ID metadata document, SSRF-safe (module docs of
//! `client_metadata`): the URL rules of the draft (§3), an address check
//! pinned to the connection, and size and time limits.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde_json::Value;
use url::{Host, Url};

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

/// Addresses a server-side fetch must never reach.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1])) // CGNAT, RFC 6598
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19)) // benchmarking
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
                || (o[0] == 192 && o[1] == 88 && o[2] == 99) // 6to4 relay anycast, RFC 7526
                || (o[0] == 192 && o[1] == 31 && o[2] == 196) // AS112, RFC 7535
                || (o[0] == 192 && o[1] == 52 && o[2] == 193) // AMT, RFC 7450
                || (o[0] == 192 && o[1] == 175 && o[2] == 48) // AS112 direct delegation, RFC 7534
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            // Forms that carry an IPv4 address inside: IPv4-compatible
            // (::a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d), NAT64
            // (64:ff9b::/96) and 6to4 (2002::/16).
            let embedded = |hi: u16, lo: u16| {
                IpAddr::V4(std::net::Ipv4Addr::from(((hi as u32) << 16) | lo as u32))
            };
            if s[..6] == [0; 6]
                || s[..6] == [0, 0, 0, 0, 0xffff, 0]
                || (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4])
            {
                return is_public(embedded(s[6], s[7]));
            }
            if s[0] == 0x2002 {
                return is_public(embedded(s[1], s[2]));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link local
                || (s[0] & 0xffc0) == 0xfec0 // site local (deprecated, still routed inside some networks)
                || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) // local-use NAT64, RFC 8215
                || (s[0] == 0x100 && s[1..4] == [0; 3]) // discard-only, RFC 6666
                || (s[0] == 0x2001 && s[1] < 0x200) // IETF protocol assignments: Teredo, benchmarking, ORCHID
                || (s[0] == 0x2001 && s[1] == 0xdb8) // documentation
                || (s[0] & 0xfff0) == 0x3ff0) // documentation, RFC 9637
        }
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
