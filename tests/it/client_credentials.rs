//! The client credentials grant (RFC 6749 §4.4) and its JWT access tokens
//! (RFC 9068).

use serde_json::Value;

use crate::flow;
use crate::harness::TestServer;

#[tokio::test]
async fn client_credentials_issue_rfc9068_access_tokens() {
    let s = TestServer::start().await;
    let c = flow::service_client(&s, Some("mcp:tools")).await;
    // client_secret_post works as well as basic.
    let res = reqwest::Client::new()
        .post(s.url("/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", c.id.as_str()),
            ("client_secret", c.secret.as_deref().unwrap()),
            ("resource", &format!("{}/mcp", s.base)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let t: Value = res.json().await.unwrap();
    assert!(t.get("refresh_token").is_none() && t.get("id_token").is_none());
    assert_eq!(t["scope"], "mcp:tools");
    let at = t["access_token"].as_str().unwrap();
    let header: Value = serde_json::from_slice(&b64(at.split('.').next().unwrap())).unwrap();
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    let claims: Value = flow::claims(at);
    assert_eq!(claims["iss"], s.base.as_str());
    assert_eq!(claims["aud"], format!("{}/mcp", s.base));
    assert_eq!(claims["sub"], c.id.as_str());
    assert_eq!(claims["client_id"], c.id.as_str());
    for k in ["iat", "exp", "jti"] {
        assert!(claims.get(k).is_some(), "{k}");
    }
    let plain = flow::token(&s, &c, &[("grant_type", "client_credentials")])
        .await
        .json::<Value>()
        .await
        .unwrap();
    let claims: Value = flow::claims(plain["access_token"].as_str().unwrap());
    assert_eq!(
        claims["aud"],
        s.base.as_str(),
        "no resource: the issuer is the audience"
    );
}

fn b64(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}
