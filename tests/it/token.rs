//! The token endpoint's error answers (RFC 6749 §5.2).

use crate::flow;
use crate::harness::{TestServer, error_of};

#[tokio::test]
async fn token_endpoint_errors_are_exact() {
    let s = TestServer::start().await;
    let c = flow::confidential_client(&s).await;
    let http = reqwest::Client::new();
    let res = http
        .post(s.url("/oauth2/token"))
        .basic_auth(&c.id, Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(error_of(res).await, "invalid_client");

    let res = flow::token(
        &s,
        &c,
        &[
            ("grant_type", "password"),
            ("username", "a"),
            ("password", "b"),
        ],
    )
    .await;
    assert_eq!(res.status(), 400);
    assert_eq!(error_of(res).await, "unsupported_grant_type");

    let res = flow::token(
        &s,
        &c,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "openid admin"),
        ],
    )
    .await;
    assert_eq!(error_of(res).await, "invalid_scope");

    let res = http
        .post(s.url("/oauth2/token"))
        .basic_auth(&c.id, c.secret.as_deref())
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(res).await,
        "invalid_request",
        "JSON bodies are not form bodies"
    );

    let public = flow::public_client(&s).await;
    let res = flow::token(&s, &public, &[("grant_type", "client_credentials")]).await;
    assert_eq!(error_of(res).await, "unauthorized_client");
}
