//! The UserInfo endpoint (OIDC Core §5.3).

use serde_json::Value;

use crate::flow;
use crate::harness::TestServer;

#[tokio::test]
async fn userinfo_needs_a_valid_bearer() {
    let s = TestServer::start().await;
    let c = flow::confidential_client(&s).await;
    let t = flow::tokens(&s, &c, "u@example.com", "openid email").await;
    let http = reqwest::Client::new();
    let ok: Value = http
        .get(s.url("/oauth2/userinfo"))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ok["email"], "u@example.com");
    assert!(ok.get("name").is_none(), "no profile scope, no name");
    let post: Value = http
        .post(s.url("/oauth2/userinfo"))
        .form(&[("access_token", t["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(post, ok);
    let res = http
        .get(s.url("/oauth2/userinfo"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    s.clock.advance(901);
    let res = http
        .get(s.url("/oauth2/userinfo"))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "expired");
}
