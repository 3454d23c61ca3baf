//! What the token endpoint hands out: refresh tokens only where offline
//! access was asked for (OIDC Core §11), no replay window when the grace is
//! zero, and PKCE from every client that has not been exempted.

use portcullis::oauth::client::NewClient;
use serde_json::Value;

use crate::device;
use crate::flow::{self, ClientKind, Consent, TestClient, param};
use crate::harness::{TestServer, error_of};

const CODE_AND_REFRESH: &[&str] = &["authorization_code", "refresh_token"];

#[tokio::test]
async fn an_openid_sign_in_gets_a_refresh_token_only_when_it_asks_for_offline_access() {
    let s = TestServer::start().await;
    let c = flow::confidential_client(&s).await;
    let signed_in_only = flow::tokens(&s, &c, "oidc@example.com", "openid profile").await;
    assert!(signed_in_only["id_token"].is_string());
    assert!(
        signed_in_only.get("refresh_token").is_none(),
        "no offline_access, no refresh token: {signed_in_only}"
    );
    let offline = flow::tokens(&s, &c, "offline@example.com", "openid offline_access").await;
    assert!(offline["refresh_token"].is_string());
    assert_eq!(offline["scope"], "openid offline_access");
}

#[tokio::test]
async fn offline_access_gives_no_refresh_token_to_a_client_without_the_refresh_grant() {
    let s = TestServer::start().await;
    let c = flow::client(
        &s,
        ClientKind::Confidential,
        Consent::Asked,
        &["authorization_code"],
        None,
    )
    .await;
    let t = flow::tokens(&s, &c, "nogrant@example.com", "openid offline_access").await;
    assert!(t["access_token"].is_string());
    assert!(t.get("refresh_token").is_none(), "{t}");
}

#[tokio::test]
async fn a_plain_oauth_grant_gets_a_refresh_token_from_the_refresh_grant_alone() {
    let s = TestServer::start().await;
    let c = flow::client(
        &s,
        ClientKind::Public,
        Consent::Asked,
        CODE_AND_REFRESH,
        Some("mcp:tools"),
    )
    .await;
    let t = flow::tokens(&s, &c, "mcp@example.com", "mcp:tools").await;
    assert!(t.get("id_token").is_none());
    let refreshed = flow::token(
        &s,
        &c,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(refreshed.status(), 200);
}

#[tokio::test]
async fn a_device_sign_in_without_offline_access_gets_no_refresh_token() {
    let s = TestServer::start().await;
    let c = device::device_client(&s).await;
    // `start` asks for "openid profile".
    let d = device::start(&s, &c).await;
    let b = flow::signed_in(&s, "tv@example.com").await;
    device::answer(
        &s,
        &b,
        d["verification_uri_complete"].as_str().unwrap(),
        "allow",
    )
    .await;
    let (status, t) = device::poll(&s, &c, d["device_code"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{t}");
    assert!(t["id_token"].is_string());
    assert!(t.get("refresh_token").is_none(), "{t}");
}

async fn refresh(s: &TestServer, c: &TestClient, rt: &str) -> reqwest::Response {
    flow::token(
        s,
        c,
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    )
    .await
}

#[tokio::test]
async fn with_no_reuse_grace_an_immediate_reuse_revokes_the_family() {
    let s = TestServer::start_with(vec![("PORTCULLIS_TOKENS__REFRESH_REUSE_GRACE", "0")]).await;
    let c = flow::confidential_client(&s).await;
    let t = flow::tokens(&s, &c, "nograce@example.com", "openid offline_access").await;
    let rt1 = t["refresh_token"].as_str().unwrap();
    let second: Value = refresh(&s, &c, rt1).await.json().await.unwrap();
    let rt2 = second["refresh_token"].as_str().unwrap();
    // At once, usually within the same second (which a whole-second
    // comparison once let through): no window at all.
    let reuse = refresh(&s, &c, rt1).await;
    assert_eq!(reuse.status(), 400);
    assert_eq!(error_of(reuse).await, "invalid_grant");
    assert_eq!(
        refresh(&s, &c, rt2).await.json::<Value>().await.unwrap()["error"],
        "invalid_grant",
        "the family is revoked"
    );
    assert_eq!(
        flow::introspect(&s, &c, second["access_token"].as_str().unwrap()).await["active"],
        false
    );
}

#[tokio::test]
async fn with_no_reuse_grace_concurrent_uses_of_one_refresh_token_get_at_most_one_answer() {
    let s = TestServer::start_with(vec![("PORTCULLIS_TOKENS__REFRESH_REUSE_GRACE", "0")]).await;
    let c = flow::confidential_client(&s).await;
    let t = flow::tokens(&s, &c, "race@example.com", "openid offline_access").await;
    let rt = t["refresh_token"].as_str().unwrap().to_string();
    // One client (one connection pool) for all: building 200 would take
    // longer than the requests themselves.
    let http = reqwest::Client::new();
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let (http, url, id, secret, rt) = (
            http.clone(),
            s.url("/oauth2/token"),
            c.id.clone(),
            c.secret.clone().unwrap(),
            rt.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let res = http
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", rt.as_str()),
                ])
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap())
        }));
    }
    let mut answered = Vec::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            200 => answered.push(body),
            _ => assert_eq!(body["error"], "invalid_grant", "{status} {body}"),
        }
    }
    assert!(answered.len() <= 1, "{} answers", answered.len());
    // Whoever got through holds a revoked family: the reuses gave it away.
    for body in answered {
        let rt = body["refresh_token"].as_str().unwrap();
        assert_eq!(
            refresh(&s, &c, rt).await.json::<Value>().await.unwrap()["error"],
            "invalid_grant"
        );
    }
}

#[tokio::test]
async fn a_confidential_client_must_use_pkce_unless_exempted() {
    let s = TestServer::start().await;
    let c = flow::confidential_client(&s).await;
    let b = flow::signed_in(&s, "pkce@example.com").await;
    let back = flow::follow(
        &s,
        &b,
        &flow::authorize_url(&s, &c, &[("state", "s1")], None),
        "",
        "allow",
    )
    .await;
    assert!(back.as_str().starts_with(&c.redirect), "{back}");
    assert_eq!(param(&back, "error").as_deref(), Some("invalid_request"));
    assert_eq!(param(&back, "state").as_deref(), Some("s1"));
    assert!(param(&back, "code").is_none());

    let exempt = flow::register(
        &s,
        NewClient {
            grant_types: CODE_AND_REFRESH.iter().map(|g| g.to_string()).collect(),
            pkce_optional: true,
            ..Default::default()
        },
    )
    .await;
    let back = flow::follow(
        &s,
        &b,
        &flow::authorize_url(&s, &exempt, &[], None),
        "",
        "allow",
    )
    .await;
    let code = param(&back, "code").expect("a code without PKCE for an exempted client");
    let res = flow::token(
        &s,
        &exempt,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &exempt.redirect),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
}

#[test]
fn a_public_client_cannot_be_exempted_from_pkce() {
    let refused = portcullis::oauth::client::build_admin_client(
        NewClient {
            name: "Public".into(),
            redirect_uris: vec!["https://app.example/cb".into()],
            public: true,
            pkce_optional: true,
            ..Default::default()
        },
        0,
    );
    assert!(refused.is_err());
}
