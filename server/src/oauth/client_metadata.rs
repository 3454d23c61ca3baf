//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document),
//! as the MCP authorization spec recommends: a `client_id` that is an https
//! URL names a JSON document describing the client, fetched on first use.
//!
//! Fetching is SSRF-safe: https only; the host must resolve to public
//! addresses only and the connection is pinned to the vetted address (no DNS
//! rebinding between check and connect); never through a proxy (a proxy would
//! connect wherever the name points, past the address check); no redirects; a
//! size and a time limit; results cached for a bounded time, failures too;
//! fetches limited per document and per minute. Loopback `http` is allowed
//! only with `PORTCULLIS_CLIENT_METADATA__ALLOW_LOOPBACK` (tests, local
//! development).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use entities::clients;
use serde_json::Value;
use url::{Host, Url};

use crate::error::Error;
use crate::oauth::client::{self, Client, ClientMetadata, Origin};
use crate::oauth::redirect::check_registrable;
use crate::oauth::scope::{self, Allowlist};
use crate::ratelimit::{Family, ip_key};
use crate::state::AppState;
use crate::store;

/// Largest document accepted.
pub const MAX_BYTES: usize = 16 * 1024;
/// How long a fetched document stays good enough to use when fetching it
/// again is refused by a budget or fails: a known client keeps working while
/// strangers spend the instance's budget or its host has a bad minute.
pub const CACHE_SECS: u64 = 300;
const TIMEOUT: Duration = Duration::from_secs(5);
/// How long a refused document is not fetched again: every authorize request
/// naming a broken (or hostile) document would otherwise make a connection.
pub const REFUSED_CACHE_SECS: u64 = 30;

/// Document URLs refused recently, with why (for the log) and whether the
/// refusal was about reaching it rather than what it said.
#[derive(Clone)]
pub struct RefusedDocuments(moka::future::Cache<String, (Arc<str>, Reach)>);

/// Whether a refusal came from getting the document (a budget, the network,
/// its host) or from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Unreachable,
    Refused,
}

impl Default for RefusedDocuments {
    fn default() -> Self {
        RefusedDocuments(
            moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(REFUSED_CACHE_SECS))
                .build(),
        )
    }
}

/// Whether a `client_id` is meant as a metadata document URL.
pub fn is_document_url(client_id: &str) -> bool {
    client_id.starts_with("https://") || client_id.starts_with("http://")
}

/// Why a document was refused (logged; the user sees a generic page).
#[derive(Debug, thiserror::Error)]
#[error("client metadata document {url}: {why}")]
pub struct Refused {
    pub url: String,
    pub why: String,
}

fn refuse(url: &str, why: impl Into<String>) -> Refused {
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
fn check_url(raw: &str, allow_loopback: bool) -> Result<Url, Refused> {
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

async fn fetch(url: &Url, allow_loopback: bool) -> Result<Value, Refused> {
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

/// Builds the client from a fetched document (§4): `client_id` must equal
/// the URL; unknown fields are ignored; public (`none`) unless it says
/// `private_key_jwt` with keys; shared secrets are impossible here. Scopes
/// this deployment does not offer are dropped (a document is written for
/// many servers, and nobody is there to tell), and the name loses any
/// characters that would disguise it (`display_text`).
fn to_client(
    url: &str,
    doc: &Value,
    now: i64,
    offered: &Allowlist,
) -> Result<(Client, clients::Model), Refused> {
    let obj = doc
        .as_object()
        .ok_or_else(|| refuse(url, "not a JSON object"))?;
    if obj.get("client_id").and_then(Value::as_str) != Some(url) {
        return Err(refuse(url, "its client_id does not equal its URL"));
    }
    // A list that is not a list of strings is refused, not filtered: what
    // is left after dropping entries is not what the document says.
    let strings = |k: &str| -> Result<Vec<String>, Refused> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| refuse(url, format!("{k} must be an array of strings"))),
            Some(_) => Err(refuse(url, format!("{k} must be an array of strings"))),
        }
    };
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
    let redirect_uris = strings("redirect_uris")?;
    if redirect_uris.is_empty() {
        return Err(refuse(url, "redirect_uris is required"));
    }
    // Where logout sends the user is a redirect as much as the code's.
    let post_logout_redirect_uris = strings("post_logout_redirect_uris")?;
    for r in redirect_uris.iter().chain(&post_logout_redirect_uris) {
        check_registrable(r).map_err(|e| refuse(url, e))?;
    }
    let method = text("token_endpoint_auth_method").unwrap_or_else(|| "none".into());
    match method.as_str() {
        "none" => {}
        "private_key_jwt" if obj.get("jwks").is_some() => {}
        "private_key_jwt" => return Err(refuse(url, "private_key_jwt needs inline jwks")),
        other => {
            return Err(refuse(
                url,
                format!(
                    "token_endpoint_auth_method {other:?} is not possible for a metadata document client"
                ),
            ));
        }
    }
    let mut grant_types = strings("grant_types")?;
    if grant_types.is_empty() {
        grant_types = vec![client::GRANT_AUTHORIZATION_CODE.into()];
    }
    if let Some(g) = grant_types.iter().find(|g| {
        ![
            client::GRANT_AUTHORIZATION_CODE,
            client::GRANT_REFRESH_TOKEN,
            client::GRANT_DEVICE_CODE,
        ]
        .contains(&g.as_str())
    }) {
        return Err(refuse(
            url,
            format!("grant type {g:?} is not available to metadata document clients"),
        ));
    }
    let scopes: Vec<String> = match text("scope") {
        Some(asked) => scope::parse(&asked),
        None => scope::parse(&offered.default_client_scope()),
    };
    if scopes.iter().any(|s| !scope::is_valid_token(s)) {
        return Err(refuse(url, "invalid scope"));
    }
    let scopes: Vec<String> = scopes.into_iter().filter(|s| offered.offers(s)).collect();
    let host = Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let metadata = ClientMetadata {
        redirect_uris,
        response_types: vec!["code".into()],
        grant_types,
        token_endpoint_auth_method: method,
        scope: scopes.join(" "),
        client_uri: text("client_uri"),
        logo_uri: text("logo_uri"),
        post_logout_redirect_uris,
        jwks: obj.get("jwks").cloned(),
        ..Default::default()
    };
    let name: String = text("client_name")
        .map(|n| crate::oauth::display_text::clean(&n))
        .filter(|n| !n.is_empty())
        .unwrap_or(host)
        .chars()
        .take(200)
        .collect();
    let row = clients::Model {
        id: url.to_string(),
        name,
        secret_hash: None,
        metadata: serde_json::to_string(&metadata).map_err(|e| refuse(url, e.to_string()))?,
        origin: Origin::MetadataDocument.as_str().into(),
        trusted: false,
        registration_token_hash: None,
        created_at: now,
        resource_server: false,
        pkce_optional: false,
    };
    let client = Client::from_row(row.clone()).map_err(|e| refuse(url, e.to_string()))?;
    Ok((client, row))
}

/// Fetches (or re-fetches) the document and stores the client row (codes and
/// tokens reference it). `Ok(None)` when the document is refused. `address`
/// is the client address that caused the fetch, where there is one (the
/// authorization request): its own budget comes before the shared one.
pub async fn resolve(
    state: &AppState,
    client_id: &str,
    address: Option<&str>,
) -> Result<Option<Arc<Client>>, Error> {
    let allow_loopback = state.settings.client_metadata.allow_loopback;
    let url = match check_url(client_id, allow_loopback) {
        Ok(url) => url,
        Err(refused) => {
            tracing::warn!(%refused, "client metadata document refused");
            return Ok(None);
        }
    };
    let stored = store::clients::find(&state.db, client_id)
        .await?
        .filter(|row| row.origin == Origin::MetadataDocument.as_str());
    let attempt = async {
        if let Some((why, reach)) = state.caches.refused_documents.0.get(client_id).await {
            return Err((
                refuse(client_id, format!("refused recently ({why})")),
                reach,
            ));
        }
        may_fetch(state, client_id, address, stored.is_none())
            .map_err(|r| (r, Reach::Unreachable))?;
        let fetched = match fetch(&url, allow_loopback).await {
            Ok(doc) => to_client(client_id, &doc, state.now(), &state.discovery.scopes)
                .map_err(|r| (r, Reach::Refused)),
            Err(r) => Err((r, Reach::Unreachable)),
        };
        if let Err((refused, reach)) = &fetched {
            state
                .caches
                .refused_documents
                .0
                .insert(client_id.to_string(), (refused.why.as_str().into(), *reach))
                .await;
        }
        fetched
    };
    let (refused, reach) = match attempt.await {
        Ok((client, row)) => {
            store::clients::upsert_document_client(&state.db, row).await?;
            return Ok(Some(Arc::new(client)));
        }
        Err(failed) => failed,
    };
    // `created_at` is when the stored copy was last fetched.
    let recent = stored.filter(|row| state.now() - row.created_at < CACHE_SECS as i64);
    match (reach, recent) {
        (Reach::Unreachable, Some(row)) => {
            tracing::info!(%refused, "client metadata document: using the copy fetched recently");
            Ok(Some(Arc::new(Client::from_row(row)?)))
        }
        _ => {
            tracing::warn!(%refused, "client metadata document refused");
            Ok(None)
        }
    }
}

/// Takes a fetch from the causing address's budget, this document's, and,
/// for a document not seen before, the instance's: a stream of authorize
/// requests naming documents must not turn the server into a source of
/// outgoing requests, nor spend the budget known clients need.
fn may_fetch(
    state: &AppState,
    client_id: &str,
    address: Option<&str>,
    new: bool,
) -> Result<(), Refused> {
    let by_address = || match address {
        Some(a) => state.limit(Family::DocumentFetchAddress, &[ip_key(a)]),
        None => Ok(()),
    };
    let shared = || match new {
        true => state.limit(Family::DocumentFetchTotal, &["all".to_string()]),
        false => Ok(()),
    };
    by_address()
        .and_then(|()| state.limit(Family::DocumentFetch, &[format!("document:{client_id}")]))
        .and_then(|()| shared())
        .map_err(|_| refuse(client_id, "too many fetches; try again in a minute"))
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
