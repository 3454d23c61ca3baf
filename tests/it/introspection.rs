//! Token introspection (RFC 7662).

use crate::flow;
use crate::harness::TestServer;

#[tokio::test]
async fn introspection_is_client_authenticated_and_says_inactive_for_foreign_tokens() {
    let s = TestServer::start().await;
    let c = flow::confidential_client(&s).await;
    let other = flow::confidential_client(&s).await;
    let t = flow::tokens(&s, &c, "i@example.com", "openid offline_access").await;
    let res = reqwest::Client::new()
        .post(s.url("/oauth2/introspect"))
        .form(&[("token", t["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        flow::introspect(&s, &c, t["refresh_token"].as_str().unwrap()).await["active"],
        true
    );
    assert_eq!(
        flow::introspect(&s, &other, t["refresh_token"].as_str().unwrap()).await["active"],
        false,
        "another client's refresh token"
    );
    assert_eq!(
        flow::introspect(&s, &c, "garbage").await,
        serde_json::json!({"active": false})
    );
    s.clock.advance(901);
    assert_eq!(
        flow::introspect(&s, &c, t["access_token"].as_str().unwrap()).await["active"],
        false,
        "expired"
    );
}
