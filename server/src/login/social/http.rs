//! The HTTP client every upstream call goes through: TLS on ring with the
//! public web's roots (`tls`), no redirects followed, a deadline on each
//! call, and a cap on what is read, so a slow or hostile upstream costs one
//! bounded wait and ends on a readable page.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::domain::address::is_public;

/// Longest any one upstream call may take, connecting included.
pub const TIMEOUT: Duration = Duration::from_secs(8);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(4);
/// Largest answer read (discovery documents, key sets, token responses).
const MAX_BYTES: usize = 512 * 1024;

/// Why an upstream call failed.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// No answer in time, no connection, or a 5xx: the upstream is down.
    #[error("{0}")]
    Unavailable(String),
    /// An answer we cannot accept.
    #[error("{0}")]
    Invalid(String),
}

#[derive(Clone)]
pub struct UpstreamHttp {
    client: reqwest::Client,
}

/// Which addresses a call may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// An administrator configured the URL: wherever it points.
    Configured,
    /// Someone else chose the URL (an organisation's SSO connection): public
    /// addresses only, pinned for the connection (no DNS rebinding), and
    /// loopback only when `allow_loopback`.
    Public { allow_loopback: bool },
}

pub enum Auth<'a> {
    None,
    Basic(&'a str, &'a str),
    Bearer(&'a str),
}

impl UpstreamHttp {
    pub fn new() -> Result<Self, crate::error::Error> {
        let client = builder()
            .and_then(|b| b.build().map_err(|e| e.to_string()))
            .map_err(|e| crate::error::Error::internal(format!("upstream HTTP client: {e}")))?;
        Ok(UpstreamHttp { client })
    }

    /// The client for a call to `url`: the shared one, or for [`Reach::Public`]
    /// one pinned to the vetted address.
    async fn client_for(&self, url: &str, reach: Reach) -> Result<reqwest::Client, UpstreamError> {
        let Reach::Public { allow_loopback } = reach else {
            return Ok(self.client.clone());
        };
        let refuse = |why: &str| UpstreamError::Invalid(format!("{url}: {why}"));
        let parsed = url::Url::parse(url).map_err(|_| refuse("not a URL"))?;
        let host = parsed.host_str().ok_or_else(|| refuse("no host"))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = parsed
            .port_or_known_default()
            .ok_or_else(|| refuse("no port"))?;
        let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::time::timeout(
                CONNECT_TIMEOUT,
                tokio::net::lookup_host((host.as_str(), port)),
            )
            .await
            .map_err(|_| UpstreamError::Unavailable(format!("{url}: DNS lookup timed out")))?
            .map_err(|_| UpstreamError::Unavailable(format!("{url}: the host does not resolve")))?
            .collect(),
        };
        let allowed = |ip: IpAddr| is_public(ip) || (allow_loopback && ip.is_loopback());
        // Every address must be acceptable: a name that also points inside is refused.
        if addrs.is_empty() || !addrs.iter().all(|a| allowed(a.ip())) {
            return Err(refuse(
                "the host resolves to a private, loopback or link-local address",
            ));
        }
        builder()
            .and_then(|b| {
                // A proxy would resolve the name itself, past the pinning.
                b.no_proxy()
                    .resolve(&host, addrs[0])
                    .build()
                    .map_err(|e| e.to_string())
            })
            .map_err(|e| UpstreamError::Invalid(format!("HTTP client: {e}")))
    }

    /// GETs a JSON document.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        url: &str,
        reach: Reach,
        auth: Auth<'_>,
        accept: &str,
    ) -> Result<T, UpstreamError> {
        let client = self.client_for(url, reach).await?;
        let req = client.get(url).header(reqwest::header::ACCEPT, accept);
        let (status, body) = send(with_auth(req, auth), url).await?;
        if status != 200 {
            return Err(UpstreamError::Invalid(format!("{url} answered {status}")));
        }
        parse(&body, url)
    }

    /// POSTs a form and reads the JSON answer, whatever its status (token
    /// endpoints answer errors as JSON with a 4xx).
    pub async fn post_form<T: DeserializeOwned>(
        &self,
        url: &str,
        reach: Reach,
        form: &[(&str, &str)],
        auth: Auth<'_>,
    ) -> Result<(u16, T), UpstreamError> {
        let client = self.client_for(url, reach).await?;
        let req = client
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(form);
        let (status, body) = send(with_auth(req, auth), url).await?;
        Ok((status, parse(&body, url)?))
    }
}

fn builder() -> Result<reqwest::ClientBuilder, String> {
    let tls = crate::tls::http_client_config().map_err(|e| format!("TLS: {e}"))?;
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        // GitHub's API refuses requests without one.
        .user_agent("Portcullis"))
}

fn with_auth(req: reqwest::RequestBuilder, auth: Auth<'_>) -> reqwest::RequestBuilder {
    match auth {
        Auth::None => req,
        // RFC 6749 §2.3.1: both halves form-encoded before Basic.
        Auth::Basic(id, secret) => req.basic_auth(form_encode(id), Some(form_encode(secret))),
        Auth::Bearer(token) => req.bearer_auth(token),
    }
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn send(req: reqwest::RequestBuilder, url: &str) -> Result<(u16, Vec<u8>), UpstreamError> {
    let unavailable = |e: reqwest::Error| UpstreamError::Unavailable(format!("{url}: {e}"));
    let mut res = req.send().await.map_err(unavailable)?;
    let status = res.status().as_u16();
    if status >= 500 {
        return Err(UpstreamError::Unavailable(format!(
            "{url} answered {status}"
        )));
    }
    if res.content_length().is_some_and(|n| n as usize > MAX_BYTES) {
        return Err(UpstreamError::Invalid(format!("{url}: answer too large")));
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(unavailable)? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_BYTES {
            return Err(UpstreamError::Invalid(format!("{url}: answer too large")));
        }
    }
    Ok((status, body))
}

fn parse<T: DeserializeOwned>(body: &[u8], url: &str) -> Result<T, UpstreamError> {
    serde_json::from_slice(body)
        .map_err(|e| UpstreamError::Invalid(format!("{url}: unexpected answer ({e})")))
}
