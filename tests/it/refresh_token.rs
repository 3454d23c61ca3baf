//! The refresh token grant (RFC 6749 §6): rotation, the reuse window, and
//! family revocation on a late replay.

use serde_json::Value;

use crate::flow;
use crate::harness::{TestServer, error_of};

#[tokio::test]
async fn refresh_reuse_inside_the_window_repeats_and_after_it_revokes_the_family() {
    let s = TestServer::start().await;
    let c = flow::confidential_client(&s).await;
    let t = flow::tokens(&s, &c, "f@example.com", "openid offline_access").await;
    let rt1 = t["refresh_token"].as_str().unwrap().to_string();
    let refresh = |rt: String| {
        let (s, c) = (&s, &c);
        async move {
            flow::token(
                s,
                c,
                &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
            )
            .await
        }
    };
    let second: Value = refresh(rt1.clone()).await.json().await.unwrap();
    let retry: Value = refresh(rt1.clone()).await.json().await.unwrap();
    assert_eq!(
        second, retry,
        "a retry inside the window gets the same answer"
    );
    let rt2 = second["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rt2, rt1);

    s.clock.advance(11);
    let late = refresh(rt1.clone()).await;
    assert_eq!(late.status(), 400);
    assert_eq!(error_of(late).await, "invalid_grant");
    // The whole family is gone: the newest token and its access token too.
    assert_eq!(
        refresh(rt2).await.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    assert_eq!(
        flow::introspect(&s, &c, second["access_token"].as_str().unwrap()).await["active"],
        false
    );
}

#[tokio::test]
async fn concurrent_refreshes_inside_the_window_all_get_the_same_pair() {
    let s = TestServer::start().await;
    let c = flow::confidential_client(&s).await;
    let t = flow::tokens(&s, &c, "g@example.com", "openid offline_access").await;
    let rt = t["refresh_token"].as_str().unwrap().to_string();
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (url, id, secret, rt) = (
            s.url("/oauth2/token"),
            c.id.clone(),
            c.secret.clone().unwrap(),
            rt.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let res = reqwest::Client::new()
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", rt.as_str()),
                ])
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }));
    }
    let mut bodies = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, 200, "{body}");
        bodies.push(body);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "every caller got the same new pair"
    );
}
