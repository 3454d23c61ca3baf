//! Client ID Metadata Documents served by a local HTTP server, and the ways
//! a document is refused.

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::flow::{self, follow, param};
use crate::harness::TestServer;

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
    let base = serve_documents().await;
    let client_id = format!("{base}/client.json");

    let d: Value = s
        .http
        .get(s.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["client_id_metadata_document_supported"], true);
    assert!(
        d["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("none"))
    );

    let client = flow::TestClient {
        id: client_id.clone(),
        secret: None,
        redirect: "http://127.0.0.1:41234/callback".into(),
    };
    let b = flow::signed_in(&s, "doc@example.com").await;
    let resource = format!("{}/mcp", s.base);
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

/// Serves a good document and the bad ones, each naming its own URL.
async fn serve_documents() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let base = format!("http://127.0.0.1:{port}");
    let big = json!({"client_id": format!("{base}/big.json"), "redirect_uris": ["http://127.0.0.1/callback"], "padding": "x".repeat(20_000)}).to_string();
    let routes = vec![
        (
            "/client.json".to_string(),
            "200 OK".to_string(),
            String::new(),
            doc(&format!("{base}/client.json")),
        ),
        (
            "/mismatch.json".to_string(),
            "200 OK".to_string(),
            String::new(),
            doc("https://someone-else.example/client.json"),
        ),
        (
            "/big.json".to_string(),
            "200 OK".to_string(),
            String::new(),
            big,
        ),
        (
            "/moved.json".to_string(),
            "302 Found".to_string(),
            format!("Location: {base}/client.json\r\n"),
            String::new(),
        ),
    ];
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let routes = std::sync::Arc::new(routes);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let routes = routes.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = head.split(' ').nth(1).unwrap_or("/").to_string();
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
    base
}

async fn refused(s: &TestServer, client_id: &str) {
    let client = flow::TestClient {
        id: client_id.to_string(),
        secret: None,
        redirect: "http://127.0.0.1:41234/callback".into(),
    };
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
    let base = serve_documents().await;
    refused(&s, &format!("{base}/mismatch.json")).await;
    refused(&s, &format!("{base}/big.json")).await;
    refused(&s, &format!("{base}/moved.json")).await;
    refused(&s, &format!("{base}/missing.json")).await;
    // Private addresses are refused before any connection is made.
    refused(&s, "https://10.0.0.1/client.json").await;
    refused(&s, "https://169.254.169.254/latest/meta-data").await;
    refused(&s, "https://[fd00::1]/client.json").await;
    refused(&s, "https://localhost/client.json").await;
}

#[tokio::test]
async fn loopback_documents_need_the_setting() {
    let s = TestServer::start().await;
    let base = serve_documents().await;
    refused(&s, &format!("{base}/client.json")).await;
}
