//! Every connection the server opens itself, made by the shipped binary: each
//! test runs `portcullis serve` as a child process with a cleared
//! environment, so nothing the test process installs (a rustls crypto
//! provider) or sets (proxy variables) can hide how the binary behaves.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::api::API;
use crate::binary::BinaryServer;
use crate::cimd::Documents;
use crate::flow::{self, follow, param};
use crate::harness::Served;

const ALLOW_LOOPBACK: (&str, &str) = ("PORTCULLIS_CLIENT_METADATA__ALLOW_LOOPBACK", "true");

async fn sign_up(s: &BinaryServer, b: &reqwest::Client, email: &str) {
    let res = b
        .post(s.url(&format!("{API}/sign-up/email")))
        .json(&json!({ "email": email, "password": flow::PASSWORD, "name": "Ada Lovelace" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "sign-up; server log:\n{}", s.log());
}

fn document_client(docs: &Documents) -> flow::TestClient {
    flow::TestClient {
        id: docs.url("/client.json"),
        secret: None,
        redirect: "http://127.0.0.1:41234/callback".into(),
    }
}

/// The authorize request of `client` answers the consent page.
async fn consent_page(s: &BinaryServer, b: &reqwest::Client, client: &flow::TestClient) {
    let url = flow::authorize_url(
        s,
        client,
        &[("resource", &s.url("/mcp"))],
        Some(flow::VERIFIER),
    );
    let res = b.get(&url).send().await;
    let status = res.as_ref().map(|r| r.status().as_u16());
    assert!(
        matches!(status, Ok(200)),
        "authorize answered {status:?}; server log:\n{}",
        s.log()
    );
}

#[tokio::test]
async fn the_shipped_binary_serves_a_metadata_document_client_end_to_end() {
    let docs = Documents::serve().await;
    let mut s = BinaryServer::start_with(vec![ALLOW_LOOPBACK]).await;
    let client = document_client(&docs);
    let b = s.new_browser();
    sign_up(&s, &b, "binary-doc@example.com").await;
    consent_page(&s, &b, &client).await;

    let start = flow::authorize_url(
        &s,
        &client,
        &[("resource", &s.url("/mcp"))],
        Some(flow::VERIFIER),
    );
    let back = follow(&s, &b, &start, "", "allow").await;
    let code = param(&back, "code").expect("a code");
    let res = flow::exchange(&s, &client, &code).await;
    assert_eq!(res.status(), 200);
    let t: Value = res.json().await.unwrap();
    assert!(t["access_token"].is_string() && t["refresh_token"].is_string());
    assert!(docs.hits("/client.json") >= 1);
    assert!(s.running() && !s.log().contains("panicked"), "{}", s.log());
}

#[tokio::test]
async fn the_metadata_fetcher_never_goes_through_a_configured_proxy() {
    // A proxy would connect wherever the document's name points, past the
    // address check: it must never be used, even when the environment names one.
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let proxied = Arc::new(AtomicUsize::new(0));
    let counter = proxied.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = proxy.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(sock);
        }
    });
    let docs = Documents::serve().await;
    let mut env = vec![ALLOW_LOOPBACK];
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        env.push((var, proxy_url.as_str()));
    }
    let s = BinaryServer::start_with(env).await;
    let b = s.new_browser();
    sign_up(&s, &b, "no-proxy@example.com").await;
    consent_page(&s, &b, &document_client(&docs)).await;
    assert_eq!(docs.hits("/client.json"), 1, "fetched directly");
    assert_eq!(
        proxied.load(Ordering::SeqCst),
        0,
        "the proxy saw a connection"
    );
}

/// A TLS record of type handshake (22) carrying a ClientHello (1).
pub fn is_client_hello(bytes: &[u8]) -> bool {
    bytes.len() > 5 && bytes[0] == 22 && bytes[5] == 1
}

/// A listener on a free port that answers nothing and reports the first
/// bytes of every connection (no certificate: a TLS client gets as far as
/// its ClientHello).
pub async fn first_bytes_listener() -> (u16, tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, first_bytes) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = vec![0u8; 4096];
            let n = sock.read(&mut buf).await.unwrap_or(0);
            let _ = tx.send(buf[..n].to_vec());
        }
    });
    (port, first_bytes)
}

#[tokio::test]
async fn the_metadata_fetcher_speaks_tls_to_an_https_document() {
    // No certificate here: the handshake cannot finish, but the binary must
    // get as far as a ClientHello (the crash was in building this client).
    let (port, mut first_bytes) = first_bytes_listener().await;
    let mut s = BinaryServer::start_with(vec![ALLOW_LOOPBACK]).await;
    let client = flow::TestClient {
        id: format!("https://127.0.0.1:{port}/client.json"),
        secret: None,
        redirect: "http://127.0.0.1:41234/callback".into(),
    };
    let url = flow::authorize_url(&s, &client, &[], Some(flow::VERIFIER));
    let res = s.new_browser().get(&url).send().await;
    assert!(
        matches!(res.as_ref().map(|r| r.status().as_u16()), Ok(400)),
        "{res:?}; server log:\n{}",
        s.log()
    );
    let hello = first_bytes
        .try_recv()
        .expect("a connection to the document's host");
    assert!(is_client_hello(&hello), "not a ClientHello: {hello:?}");
    assert!(
        hello.windows(8).any(|w| w == b"http/1.1"),
        "ALPN offers HTTP/1.1"
    );
    assert!(s.running() && !s.log().contains("panicked"), "{}", s.log());
}

#[tokio::test]
async fn the_shipped_binary_sends_mail_over_smtp() {
    let (port, mut received) = crate::mail::smtp_sink().await;
    let port = port.to_string();
    let s = BinaryServer::start_with(vec![
        ("PORTCULLIS_MAIL__TRANSPORT", "smtp"),
        ("SMTP_HOST", "127.0.0.1"),
        ("SMTP_PORT", port.as_str()),
        ("SMTP_TLS", "none"),
        ("SMTP_FROM", "Portcullis <auth@portcullis.test>"),
    ])
    .await;
    let email = "binary-mail@example.com";
    sign_up(&s, &s.new_browser(), email).await;
    let res = s
        .new_browser()
        .post(s.url(&format!("{API}/forget-password")))
        .json(&json!({ "email": email }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let reset = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let mail = received.recv().await.expect("the sink is open");
            if mail.contains("Subject: Reset your password") {
                return mail;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no reset mail; server log:\n{}", s.log()));
    assert!(reset.contains(&format!("To: {email}")));
    assert!(reset.contains("From: Portcullis <auth@portcullis.test>"));
}

/// What a fake SMTP server that offers STARTTLS saw on one connection.
#[derive(Debug)]
enum Seen {
    /// A command sent before TLS.
    Command(String),
    /// The first bytes after `220` to `STARTTLS`.
    AfterStarttls(Vec<u8>),
}

/// An SMTP server offering STARTTLS that reports what it is sent; it has no
/// certificate, so it ends each connection after the client's first TLS bytes.
async fn starttls_server() -> (u16, tokio::sync::mpsc::UnboundedReceiver<Seen>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut r = BufReader::new(r);
                w.write_all(b"220 fake ESMTP\r\n").await.unwrap();
                let mut line = String::new();
                while r.read_line(&mut line).await.unwrap_or(0) > 0 {
                    let command = line.trim_end().to_string();
                    line.clear();
                    let verb = command.split(' ').next().unwrap_or("").to_ascii_uppercase();
                    let _ = tx.send(Seen::Command(command));
                    if verb == "STARTTLS" {
                        w.write_all(b"220 go ahead\r\n").await.unwrap();
                        let mut buf = vec![0u8; 4096];
                        let n = tokio::time::timeout(Duration::from_secs(5), r.read(&mut buf))
                            .await
                            .map(|n| n.unwrap_or(0))
                            .unwrap_or(0);
                        let _ = tx.send(Seen::AfterStarttls(buf[..n].to_vec()));
                        return;
                    }
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-fake\r\n250-STARTTLS\r\n250 8BITMIME\r\n",
                        "QUIT" => b"221 bye\r\n",
                        _ => b"250 OK\r\n",
                    };
                    w.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, rx)
}

#[tokio::test]
async fn smtp_starttls_starts_a_tls_handshake_and_sends_nothing_in_plaintext() {
    let (port, mut seen) = starttls_server().await;
    let port = port.to_string();
    let mut s = BinaryServer::start_with(vec![
        ("PORTCULLIS_MAIL__TRANSPORT", "smtp"),
        ("SMTP_HOST", "localhost"),
        ("SMTP_PORT", port.as_str()),
        ("SMTP_TLS", "starttls"),
    ])
    .await;
    sign_up(&s, &s.new_browser(), "starttls@example.com").await;
    let mut commands = Vec::new();
    let hello = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match seen.recv().await.expect("the server is open") {
                Seen::Command(c) => commands.push(c),
                Seen::AfterStarttls(bytes) => return bytes,
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no STARTTLS; server log:\n{}", s.log()));
    // A ClientHello with the server name the certificate is checked against.
    assert!(is_client_hello(&hello), "not a ClientHello: {hello:?}");
    assert!(
        hello.windows(9).any(|w| w == b"localhost"),
        "the ClientHello names the SMTP host"
    );
    // The fake server cannot finish the handshake; the retries that follow
    // must not fall back to plaintext.
    tokio::time::sleep(Duration::from_secs(2)).await;
    while let Ok(event) = seen.try_recv() {
        if let Seen::Command(c) = event {
            commands.push(c);
        }
    }
    assert!(
        commands.iter().all(|c| {
            let verb = c.split(' ').next().unwrap_or("").to_ascii_uppercase();
            matches!(verb.as_str(), "EHLO" | "STARTTLS" | "QUIT")
        }),
        "sent before TLS: {commands:?}"
    );
    assert!(s.running() && !s.log().contains("panicked"), "{}", s.log());
}
