//! Password reset by mail: single use, an hour to live, works without
//! JavaScript, and signs out everywhere.

use serde_json::Value;

use crate::api::{get_session, sign_in, sign_up};
use crate::flow;
use crate::harness::{TestServer, code_of, error_of, get_text};
use crate::mail::{forget, link, mailed_link, nth_mail, outbox, reset, token_of};

#[tokio::test]
async fn password_reset_is_single_use_and_signs_out_everywhere() {
    let s = TestServer::start().await;
    let c = flow::confidential_client(&s).await;
    let t = flow::tokens(&s, &c, "rita@example.com", "openid offline_access").await;
    let other_browser = s.new_browser();
    assert_eq!(
        sign_in(&s, &other_browser, "rita@example.com", flow::PASSWORD)
            .await
            .status(),
        200
    );

    let known = forget(&s, "rita@example.com").await;
    let unknown = forget(&s, "ghost@example.com").await;
    assert_eq!(known.status(), 200);
    assert_eq!(
        known.text().await.unwrap(),
        unknown.text().await.unwrap(),
        "no enumeration"
    );
    let mail = nth_mail(&s, "rita@example.com", 2).await; // the first was the verification mail
    assert!(mail.contains("Subject: Reset your password"));
    let token = token_of(&link(&mail, &s.url("/reset-password?token=")));
    assert!(outbox(&s, "ghost@example.com").is_empty());

    // The policy is checked before the link is used up.
    let weak = reset(&s, &token, "short").await;
    assert_eq!(weak.status(), 400);
    assert_eq!(code_of(weak).await, "PASSWORD_TOO_SHORT");
    assert_eq!(
        reset(&s, &token, "a brand new passphrase").await.status(),
        200
    );
    assert_eq!(
        reset(&s, &token, "yet another passphrase").await.status(),
        400,
        "single use"
    );

    assert_eq!(
        sign_in(&s, &s.new_browser(), "rita@example.com", flow::PASSWORD)
            .await
            .status(),
        401
    );
    assert_eq!(
        sign_in(
            &s,
            &s.new_browser(),
            "rita@example.com",
            "a brand new passphrase"
        )
        .await
        .status(),
        200
    );
    let gone: Value = get_session(&s, &other_browser).await;
    assert_eq!(gone, Value::Null, "other sessions ended");
    let refresh = flow::token(
        &s,
        &c,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(
        error_of(refresh).await,
        "invalid_grant",
        "refresh tokens revoked"
    );
    assert_eq!(
        flow::introspect(&s, &c, t["access_token"].as_str().unwrap()).await["active"],
        false
    );
}

#[tokio::test]
async fn reset_links_expire_after_an_hour() {
    let s = TestServer::start().await;
    sign_up(&s, &s.http, "hour@example.com", flow::PASSWORD).await;
    forget(&s, "hour@example.com").await;
    let token = token_of(&mailed_link(&s, "hour@example.com", 2, "/reset-password?token=").await);
    s.clock.advance(3601);
    assert_eq!(
        reset(&s, &token, "a brand new passphrase").await.status(),
        400
    );
}

#[tokio::test]
async fn the_reset_screen_works_without_javascript() {
    let s = TestServer::start().await;
    sign_up(&s, &s.new_browser(), "scr@example.com", flow::PASSWORD).await;
    forget(&s, "scr@example.com").await;
    let url = mailed_link(&s, "scr@example.com", 2, "/reset-password?token=").await;
    let html = get_text(&s.http, &url).await;
    let f = crate::html::form(&html, "/reset-password");
    let res = s
        .http
        .post(s.url("/reset-password"))
        .form(&f.fill(&[("password", "screens all the way")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Password changed"));
    assert_eq!(
        sign_in(
            &s,
            &s.new_browser(),
            "scr@example.com",
            "screens all the way"
        )
        .await
        .status(),
        200
    );
}

#[tokio::test]
async fn mail_requests_are_rate_limited() {
    let s = TestServer::start().await;
    let mut last = None;
    for _ in 0..11 {
        last = Some(forget(&s, "anyone@example.com").await);
    }
    let res = last.unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
}
