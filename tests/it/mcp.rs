//! An MCP client from scratch: 401 from the resource → RFC 9728 → RFC 8414 →
//! dynamic registration with a loopback redirect → PKCE + resource → token.

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::flow::{self, follow, param};
use crate::harness::{TestServer, get_json, get_text};

/// A protected resource that answers every request with 401 and points at
/// its metadata (RFC 9728 §5.1).
async fn fake_resource(metadata_url: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let header = format!("Bearer resource_metadata=\"{metadata_url}\"");
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let body = r#"{"error":"invalid_token"}"#;
                let res = format!(
                    "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: {header}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(res.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}/mcp")
}

#[tokio::test]
async fn an_mcp_client_finds_everything_from_a_401() {
    let s = TestServer::start().await;
    let http = s.new_browser();
    let resource = format!("{}/mcp", s.base);
    let mcp = fake_resource(s.url("/.well-known/oauth-protected-resource/mcp")).await;

    let unauthorized = reqwest::Client::new()
        .post(&mcp)
        .header("MCP-Protocol-Version", "2025-06-18")
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);
    let challenge = unauthorized.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    let metadata_url = challenge
        .split("resource_metadata=\"")
        .nth(1)
        .unwrap()
        .trim_end_matches('"')
        .to_string();

    let prm: Value = get_json(&http, &metadata_url).await;
    assert_eq!(prm["resource"], resource);
    assert_eq!(
        prm["authorization_servers"],
        json!([s.base]),
        "names this issuer exactly"
    );
    let as_url = format!(
        "{}/.well-known/oauth-authorization-server",
        prm["authorization_servers"][0].as_str().unwrap()
    );
    let meta: Value = get_json(&http, &as_url).await;
    assert_eq!(meta["issuer"], s.base);
    assert!(
        meta["code_challenge_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("S256"))
    );

    // Dynamic registration with a loopback redirect on some port.
    let reg = http
        .post(meta["registration_endpoint"].as_str().unwrap())
        .header("MCP-Protocol-Version", "2025-06-18")
        .json(&json!({
            "client_name": "Example MCP client",
            "redirect_uris": ["http://127.0.0.1:33418/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(reg.status(), 201);
    let reg: Value = reg.json().await.unwrap();
    let client = flow::TestClient {
        id: reg["client_id"].as_str().unwrap().to_string(),
        secret: None,
        // The CLI's listener got another port this time (RFC 8252 §7.3).
        redirect: "http://127.0.0.1:50123/callback".into(),
    };

    let b = flow::signed_in(&s, "mcp@example.com").await;
    // The consent screen warns about a self-registered client.
    let consent = get_text(
        &b,
        flow::authorize_url(
            &s,
            &client,
            &[("resource", &resource)],
            Some(flow::VERIFIER),
        ),
    )
    .await;
    assert!(consent.contains("registered itself"), "{consent}");
    let back = follow(
        &s,
        &b,
        &flow::authorize_url(
            &s,
            &client,
            &[("resource", &resource), ("state", "mcp")],
            Some(flow::VERIFIER),
        ),
        "",
        "allow",
    )
    .await;
    assert!(
        back.as_str()
            .starts_with("http://127.0.0.1:50123/callback?")
    );
    let code = param(&back, "code").unwrap();
    let res = flow::token(
        &s,
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &client.redirect),
            ("code_verifier", flow::VERIFIER),
            ("resource", &resource),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
    let t: Value = res.json().await.unwrap();
    let claims: Value = flow::claims(t["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], resource);
    assert_eq!(claims["client_id"], client.id.as_str());
    assert!(claims["org_id"].is_string());
}

#[tokio::test]
async fn protected_resource_metadata_only_for_hosted_resources() {
    let s = TestServer::start().await;
    let res = s
        .http
        .get(s.url("/.well-known/oauth-protected-resource/mcp"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    assert_eq!(
        s.http
            .get(s.url("/.well-known/oauth-protected-resource/other"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let preflight = s
        .http
        .request(
            reqwest::Method::OPTIONS,
            s.url("/.well-known/oauth-protected-resource/mcp"),
        )
        .header("Origin", "https://inspector.example")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
}

#[tokio::test]
async fn clients_can_be_narrowed_to_some_resources() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let issuer = format!("http://localhost:{port}");
    let (mcp, api) = (format!("{issuer}/mcp"), format!("{issuer}/api/"));
    let resources = format!("{mcp},{api}");
    let s = TestServer::start_with(vec![
        ("PORTCULLIS_ISSUER", issuer.as_str()),
        ("PORTCULLIS_RESOURCES", resources.as_str()),
    ])
    .await;
    let reg = portcullis::oauth::client::build_admin_client(
        portcullis::oauth::client::NewClient {
            name: "Narrow".into(),
            redirect_uris: vec!["https://app.example/callback".into()],
            public: true,
            resources: vec![api.clone()],
            ..Default::default()
        },
        s.state.now(),
    )
    .unwrap();
    portcullis::store::clients::insert(&s.state.db, reg.row)
        .await
        .unwrap();
    let c = flow::TestClient {
        id: reg.client.id.to_string(),
        secret: None,
        redirect: "https://app.example/callback".into(),
    };
    let b = flow::signed_in(&s, "narrow@example.com").await;
    let refused = follow(
        &s,
        &b,
        &flow::authorize_url(&s, &c, &[("resource", &mcp)], Some(flow::VERIFIER)),
        "",
        "allow",
    )
    .await;
    assert_eq!(param(&refused, "error").as_deref(), Some("invalid_target"));
    // `https://x/api` and `https://x/api/` differ, but the configured spelling is canonical.
    let back = follow(
        &s,
        &b,
        &flow::authorize_url(&s, &c, &[("resource", &api)], Some(flow::VERIFIER)),
        "",
        "allow",
    )
    .await;
    let code = param(&back, "code").unwrap();
    let t: Value = flow::exchange(&s, &c, &code).await.json().await.unwrap();
    let claims: Value = flow::claims(t["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], api);
    // Both hosted resources have metadata documents naming this issuer.
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource/api",
    ] {
        let doc: Value = get_json(&s.http, s.url(path)).await;
        assert_eq!(doc["authorization_servers"], json!([issuer]), "{path}");
    }
    let out = s.cli(&[
        "client",
        "create",
        "--name",
        "X",
        "--public",
        "--redirect-uri",
        "https://a.example/cb",
        "--resource",
        "https://elsewhere.example/",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("PORTCULLIS_RESOURCES"));
}
