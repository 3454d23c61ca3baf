//! Client ID Metadata Documents served by a local HTTP server, and the ways
//! a document is refused.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::flow::{self, follow, param};
use crate::harness::{TestServer, get_json};

fn doc(client_id: &str) -> String {
    json!({
        "client_id": client_id,
        "client_name": "Doc Client",
        "redirect_uris": ["http://127.0.0.1/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "unknown_field": {"ignored": true},
    })
    .to_string()
}

#[tokio::test]
async fn a_metadata_document_client_runs_the_code_flow() {
    let s =
        TestServer::start_with(vec![("PORTCULLIS_CLIENT_METADATA__ALLOW_LOOPBACK", "true")]).await;
    let docs = Documents::serve().await;
    let client_id = docs.url("/client.json");

    let d: Value = get_json(&s.http, s.url("/.well-known/oauth-authorization-server")).await;
    assert_eq!(d["client_id_metadata_document_supported"], true);
    assert!(
        d["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("none"))
    );

    let client = document_client(&client_id);
    let b = flow::signed_in(&s, "doc@example.com").await;
    let resource = format!("{}/mcp", s.base);
    assert_eq!(docs.hits("/client.json"), 0);
    let consent = b
        .get(flow::authorize_url(
            &s,
            &client,
            &[("resource", &resource)],
            Some(flow::VERIFIER),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(consent.status(), 200);
    let html = consent.text().await.unwrap();
    assert!(
        html.contains("Doc Client") && html.contains("<strong>127.0.0.1</strong>"),
        "the document's host is shown: {html}"
    );

    let back = follow(
        &s,
        &b,
        &flow::authorize_url(
            &s,
            &client,
            &[("resource", &resource)],
            Some(flow::VERIFIER),
        ),
        "",
        "allow",
    )
    .await;
    let code = param(&back, "code").expect("code");
    let res = flow::exchange(&s, &client, &code).await;
    assert_eq!(res.status(), 200);
    let t: Value = res.json().await.unwrap();
    assert!(t["refresh_token"].is_string());
}

/// A client known only by the URL of its metadata document (a public
/// client: the draft's documents name no secret).
fn document_client(client_id: &str) -> flow::TestClient {
    flow::TestClient {
        id: client_id.to_string(),
        secret: None,
        redirect: "http://127.0.0.1:41234/callback".into(),
    }
}

/// A loopback HTTP server with a good document and bad ones (each naming
/// its own URL), counting connections and requests.
pub struct Documents {
    pub base: String,
    connections: Arc<AtomicUsize>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl Documents {
    pub async fn serve() -> Documents {
        Documents::serve_on(IpAddr::from([127, 0, 0, 1]))
            .await
            .expect("a loopback listener")
    }

    /// The same server listening on `ip` (`None` where it cannot listen).
    pub async fn serve_on(ip: IpAddr) -> Option<Documents> {
        let listener = tokio::net::TcpListener::bind((ip, 0)).await.ok()?;
        let addr = listener.local_addr().ok()?;
        let base = format!("http://{addr}");
        let big = json!({"client_id": format!("{base}/big.json"), "redirect_uris": ["http://127.0.0.1/callback"], "padding": "x".repeat(20_000)}).to_string();
        let mut bad_logout: Value =
            serde_json::from_str(&doc(&format!("{base}/bad-logout.json"))).unwrap();
        bad_logout["post_logout_redirect_uris"] = json!(["javascript:alert(document.cookie)"]);
        let mut good_logout: Value =
            serde_json::from_str(&doc(&format!("{base}/good-logout.json"))).unwrap();
        good_logout["post_logout_redirect_uris"] = json!(["http://127.0.0.1/signed-out"]);
        let routes: Vec<(String, String, String, String)> = vec![
            (
                "/client.json".into(),
                "200 OK".into(),
                String::new(),
                doc(&format!("{base}/client.json")),
            ),
            (
                "/mismatch.json".into(),
                "200 OK".into(),
                String::new(),
                doc("https://someone-else.example/client.json"),
            ),
            ("/big.json".into(), "200 OK".into(), String::new(), big),
            (
                "/moved.json".into(),
                "302 Found".into(),
                format!("Location: {base}/client.json\r\n"),
                String::new(),
            ),
            (
                "/bad-logout.json".into(),
                "200 OK".into(),
                String::new(),
                bad_logout.to_string(),
            ),
            (
                "/good-logout.json".into(),
                "200 OK".into(),
                String::new(),
                good_logout.to_string(),
            ),
        ];
        let connections = Arc::new(AtomicUsize::new(0));
        let hits = Arc::new(Mutex::new(HashMap::new()));
        let (c, h) = (connections.clone(), hits.clone());
        let routes = Arc::new(routes);
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                c.fetch_add(1, Ordering::SeqCst);
                let routes = routes.clone();
                let h = h.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
                    let n = sock.read(&mut buf).await.unwrap_or(0);
                    let head = String::from_utf8_lossy(&buf[..n]).to_string();
                    let path = head.split(' ').nth(1).unwrap_or("/").to_string();
                    *h.lock().unwrap().entry(path.clone()).or_insert(0) += 1;
                    let (status, headers, body) = routes
                        .iter()
                        .find(|(p, ..)| *p == path)
                        .map(|(_, s, h, b)| (s.clone(), h.clone(), b.clone()))
                        .unwrap_or(("404 Not Found".into(), String::new(), String::new()));
                    let res = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(res.as_bytes()).await;
                });
            }
        });
        Some(Documents {
            base,
            connections,
            hits,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn port(&self) -> u16 {
        url::Url::parse(&self.base).unwrap().port().unwrap()
    }

    /// Connections accepted, whatever they asked.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Requests for `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

async fn refused(s: &TestServer, client_id: &str) {
    let client = document_client(client_id);
    let b = s.new_browser();
    let res = b
        .get(flow::authorize_url(s, &client, &[], Some(flow::VERIFIER)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "{client_id}");
    assert!(
        res.headers().get("location").is_none(),
        "{client_id}: never redirect"
    );
}

#[tokio::test]
async fn metadata_documents_are_refused_when_unsafe_or_wrong() {
    let s =
        TestServer::start_with(vec![("PORTCULLIS_CLIENT_METADATA__ALLOW_LOOPBACK", "true")]).await;
    let docs = Documents::serve().await;
    for path in [
        "/mismatch.json",
        "/big.json",
        "/moved.json",
        "/missing.json",
        "/bad-logout.json",
    ] {
        refused(&s, &docs.url(path)).await;
        assert_eq!(docs.hits(path), 1, "{path} is fetched once");
    }
    assert_eq!(docs.hits("/client.json"), 0, "the redirect is not followed");
    // Addresses no test can listen on (a refusal here could also be a failed
    // connection); that the address check refuses without connecting is
    // shown below on loopback and on this machine's own private addresses.
    refused(&s, "https://10.0.0.1/client.json").await;
    refused(&s, "https://169.254.169.254/latest/meta-data").await;
    refused(&s, "https://[fd00::1]/client.json").await;
    refused(&s, "https://[fec0::1]/client.json").await;
    refused(&s, "https://[64:ff9b:1::a00:1]/client.json").await;
    refused(&s, "https://[2001::a00:1]/client.json").await;
    refused(&s, "https://localhost/client.json").await;
}

#[tokio::test]
async fn a_metadata_document_may_name_safe_post_logout_redirect_uris() {
    let s =
        TestServer::start_with(vec![("PORTCULLIS_CLIENT_METADATA__ALLOW_LOOPBACK", "true")]).await;
    let docs = Documents::serve().await;
    let client = document_client(&docs.url("/good-logout.json"));
    let b = flow::signed_in(&s, "logout-doc@example.com").await;
    let res = b
        .get(flow::authorize_url(
            &s,
            &client,
            &[("resource", &s.url("/mcp"))],
            Some(flow::VERIFIER),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the consent page");
}

#[tokio::test]
async fn documents_on_this_host_are_refused_before_any_connection() {
    // Without ALLOW_LOOPBACK: each of these names the listener below, so a
    // fetch that got past the address check would be counted.
    let s = TestServer::start().await;
    let docs = Documents::serve().await;
    let port = docs.port();
    for url in [
        format!("https://localhost:{port}/client.json"),
        format!("https://127.0.0.1:{port}/client.json"),
        format!("https://0.0.0.0:{port}/client.json"),
        format!("https://[::ffff:7f00:1]:{port}/client.json"),
        format!("http://127.0.0.1:{port}/client.json"),
    ] {
        refused(&s, &url).await;
        assert_eq!(
            docs.connections(),
            0,
            "{url}: the address check let a connection through"
        );
    }
}

#[tokio::test]
async fn documents_on_this_machines_private_addresses_are_refused_before_any_connection() {
    // Loopback may be allowed for development; private addresses never are.
    let s =
        TestServer::start_with(vec![("PORTCULLIS_CLIENT_METADATA__ALLOW_LOOPBACK", "true")]).await;
    let mut tried = 0;
    for ip in own_private_addresses() {
        let Some(docs) = Documents::serve_on(ip).await else {
            continue;
        };
        let url = match ip {
            IpAddr::V4(_) => format!("https://{ip}:{}/client.json", docs.port()),
            IpAddr::V6(_) => format!("https://[{ip}]:{}/client.json", docs.port()),
        };
        refused(&s, &url).await;
        assert_eq!(
            docs.connections(),
            0,
            "{url}: the address check let a connection through"
        );
        tried += 1;
    }
    if tried == 0 {
        eprintln!("no private address on this machine to listen on: only loopback was tried");
    }
}

/// This machine's own addresses in ranges a server-side fetch must never
/// reach (private, unique local, shared, documentation), found by asking
/// which source address a route into each range would use: a listener on
/// one is a private host the test controls.
fn own_private_addresses() -> Vec<IpAddr> {
    let routes = [
        "10.0.0.1:9",
        "172.16.0.1:9",
        "192.168.0.1:9",
        "100.64.0.1:9",
        "192.0.2.1:9",
        "[fd00::1]:9",
        "[fc00::1]:9",
    ];
    let mut found = BTreeSet::new();
    for to in routes {
        let any = if to.starts_with('[') {
            "[::]:0"
        } else {
            "0.0.0.0:0"
        };
        let Ok(sock) = UdpSocket::bind(any) else {
            continue;
        };
        // Connecting a UDP socket sends nothing; it picks the route.
        if sock.connect(to).is_ok()
            && let Ok(local) = sock.local_addr()
            && is_private(local.ip())
        {
            found.insert(local.ip());
        }
    }
    found.into_iter().collect()
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private()
                || v4.is_link_local()
                || v4.is_documentation()
                || (o[0] == 100 && (64..128).contains(&o[1]))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            (s[0] & 0xfe00) == 0xfc00 || (s[0] == 0x2001 && s[1] == 0xdb8)
        }
    }
}

#[tokio::test]
async fn loopback_documents_need_the_setting() {
    let s = TestServer::start().await;
    let docs = Documents::serve().await;
    refused(&s, &docs.url("/client.json")).await;
    assert_eq!(docs.connections(), 0);
}

#[tokio::test]
async fn a_refused_document_is_not_fetched_again_right_away() {
    let s =
        TestServer::start_with(vec![("PORTCULLIS_CLIENT_METADATA__ALLOW_LOOPBACK", "true")]).await;
    let docs = Documents::serve().await;
    refused(&s, &docs.url("/missing.json")).await;
    refused(&s, &docs.url("/missing.json")).await;
    assert_eq!(docs.hits("/missing.json"), 1);
}

#[tokio::test]
async fn a_storm_of_authorize_requests_fetches_one_document_a_few_times_at_most() {
    let s =
        TestServer::start_with(vec![("PORTCULLIS_CLIENT_METADATA__ALLOW_LOOPBACK", "true")]).await;
    let docs = Documents::serve().await;
    let url = docs.url("/missing.json");
    let storm = (0..200).map(|_| refused(&s, &url));
    futures_util::future::join_all(storm).await;
    let hits = docs.hits("/missing.json");
    assert!(
        (1..=4).contains(&hits),
        "{hits} fetches, PORTCULLIS_RATE_LIMIT__DOCUMENT_FETCH is 4"
    );
}

#[tokio::test]
async fn document_fetches_are_limited_per_minute_for_all_documents_together() {
    let s = TestServer::start_with(vec![
        ("PORTCULLIS_CLIENT_METADATA__ALLOW_LOOPBACK", "true"),
        ("PORTCULLIS_RATE_LIMIT__DOCUMENT_FETCH_TOTAL", "3"),
    ])
    .await;
    let docs = Documents::serve().await;
    let fetched = |docs: &Documents| {
        (0..5)
            .map(|i| docs.hits(&format!("/missing-{i}.json")))
            .sum::<usize>()
    };
    for i in 0..5 {
        refused(&s, &docs.url(&format!("/missing-{i}.json"))).await;
    }
    assert_eq!(fetched(&docs), 3);
    // A good document waits its turn too, and is fetched once a minute has passed.
    refused(&s, &docs.url("/client.json")).await;
    assert_eq!(docs.hits("/client.json"), 0);
    s.clock.advance(60);
    let client = document_client(&docs.url("/client.json"));
    let b = flow::signed_in(&s, "limited-doc@example.com").await;
    let res = b
        .get(flow::authorize_url(
            &s,
            &client,
            &[("resource", &s.url("/mcp"))],
            Some(flow::VERIFIER),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(docs.hits("/client.json"), 1);
}

#[tokio::test]
async fn a_known_document_client_keeps_working_when_strangers_spend_the_fetch_budget() {
    let s = TestServer::start_with(vec![
        ("PORTCULLIS_CLIENT_METADATA__ALLOW_LOOPBACK", "true"),
        ("PORTCULLIS_RATE_LIMIT__DOCUMENT_FETCH_TOTAL", "3"),
        ("PORTCULLIS_RATE_LIMIT__DOCUMENT_FETCH", "1"),
    ])
    .await;
    let docs = Documents::serve().await;
    let client = document_client(&docs.url("/client.json"));
    let resource = s.url("/mcp");
    let authorize = flow::authorize_url(
        &s,
        &client,
        &[("resource", &resource)],
        Some(flow::VERIFIER),
    );
    let b = flow::signed_in(&s, "known-doc@example.com").await;
    let back = follow(&s, &b, &authorize, "", "allow").await;
    let code = param(&back, "code").expect("code");
    let t: Value = flow::exchange(&s, &client, &code)
        .await
        .json()
        .await
        .unwrap();
    let refresh = t["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(docs.hits("/client.json"), 1);

    // Strangers name new documents until the instance's budget is spent.
    for i in 0..5 {
        refused(&s, &docs.url(&format!("/missing-{i}.json"))).await;
    }
    let fetched: usize = (0..5)
        .map(|i| docs.hits(&format!("/missing-{i}.json")))
        .sum();
    assert_eq!(fetched, 2, "the known document took one of three");

    // The client cache has expired: the token endpoint still knows the client
    // (its own re-fetch budget is spent too, so the copy fetched a moment ago
    // is used).
    portcullis::oauth::client::forget(
        &s.state,
        &portcullis::domain::ids::ClientId::from(client.id.as_str()),
    )
    .await;
    let res = flow::token(
        &s,
        &client,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    portcullis::oauth::client::forget(
        &s.state,
        &portcullis::domain::ids::ClientId::from(client.id.as_str()),
    )
    .await;
    let res = b.get(&authorize).send().await.unwrap();
    let location = res
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    assert!(
        location.as_deref().is_some_and(|l| l.contains("code=")),
        "approved before, so straight back with a code: {} {location:?}",
        res.status()
    );
    assert_eq!(docs.hits("/client.json"), 1);
}
