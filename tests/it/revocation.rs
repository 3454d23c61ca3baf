//! Token revocation (RFC 7009).

use crate::flow;
use crate::harness::TestServer;

#[tokio::test]
async fn revocation_answers_200_for_anything() {
    let s = TestServer::start().await;
    let c = flow::confidential_client(&s).await;
    let res = reqwest::Client::new()
        .post(s.url("/oauth2/revoke"))
        .basic_auth(&c.id, c.secret.as_deref())
        .form(&[("token", "not-a-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let t = flow::tokens(&s, &c, "v@example.com", "openid").await;
    let at = t["access_token"].as_str().unwrap();
    let res = reqwest::Client::new()
        .post(s.url("/oauth2/revoke"))
        .basic_auth(&c.id, c.secret.as_deref())
        .form(&[("token", at)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(flow::introspect(&s, &c, at).await["active"], false);
}
