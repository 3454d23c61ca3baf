//! Verifying an address: the mailed link, six-digit codes, and changing the
//! address while it is unverified.

use serde_json::{Value, json};

use crate::api::{API, get_session, post_json, sign_up};
use crate::flow;
use crate::harness::{TestServer, code_of};
use crate::mail::{code_in, confirm_link, link, mailed_link, nth_mail};

#[tokio::test]
async fn sign_up_mails_a_verification_link_that_works_once() {
    let s = TestServer::start().await;
    sign_up(&s, &s.http, "vera@example.com", flow::PASSWORD).await;
    let mail = nth_mail(&s, "vera@example.com", 1).await;
    assert!(mail.contains("Subject: Confirm your email address"));
    assert!(mail.contains("Portcullis"));
    let verify = link(&mail, &s.url(&format!("{API}/verify-email?token=")));
    let res = confirm_link(&s, &s.http, &verify).await;
    assert_eq!(res.status(), 200);
    let session: Value = get_session(&s, &s.http).await;
    assert_eq!(session["user"]["emailVerified"], true);
    let again = s.http.get(&verify).send().await.unwrap();
    assert_eq!(again.status(), 400);
    assert_eq!(code_of(again).await, "INVALID_TOKEN");
}

#[tokio::test]
async fn verification_links_expire_and_only_the_newest_works() {
    let s = TestServer::start().await;
    sign_up(&s, &s.http, "wim@example.com", flow::PASSWORD).await;
    let first = mailed_link(
        &s,
        "wim@example.com",
        1,
        &format!("{API}/verify-email?token="),
    )
    .await;
    let resend = |email: &'static str| {
        let (http, url) = (
            reqwest::Client::new(),
            s.url(&format!("{API}/send-verification-email")),
        );
        async move {
            http.post(url)
                .json(&json!({ "email": email }))
                .send()
                .await
                .unwrap()
        }
    };
    let known = resend("wim@example.com").await;
    let unknown = resend("nobody@example.com").await;
    assert_eq!(
        (known.status(), unknown.status()),
        (reqwest::StatusCode::OK, reqwest::StatusCode::OK)
    );
    assert_eq!(
        known.text().await.unwrap(),
        unknown.text().await.unwrap(),
        "no enumeration"
    );
    let second = mailed_link(
        &s,
        "wim@example.com",
        2,
        &format!("{API}/verify-email?token="),
    )
    .await;
    assert_eq!(
        s.http.get(&first).send().await.unwrap().status(),
        400,
        "a newer link replaces the older"
    );
    s.clock.advance(24 * 3600 + 1);
    assert_eq!(
        s.http.get(&second).send().await.unwrap().status(),
        400,
        "expired after 24 hours"
    );
}

#[tokio::test]
async fn a_person_clicking_the_verification_link_gets_a_page() {
    let s = TestServer::start().await;
    sign_up(&s, &s.http, "click@example.com", flow::PASSWORD).await;
    let verify = mailed_link(
        &s,
        "click@example.com",
        1,
        &format!("{API}/verify-email?token="),
    )
    .await;
    let accept = "text/html,application/xhtml+xml,*/*;q=0.8";
    let person = s.new_browser();
    let res = person
        .get(&verify)
        .header("Accept", accept)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "on to the confirm page");
    let page = person
        .get(s.url(res.headers()["location"].to_str().unwrap()))
        .header("Accept", accept)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Confirm your email address"));
    assert!(
        html.contains("click@example.com"),
        "the page names the address"
    );
    let f = crate::html::form(&html, "/verify-email");
    let res = person
        .post(s.url("/verify-email"))
        .form(&f.fields)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Email verified"));
    let again = s
        .new_browser()
        .get(&verify)
        .header("Accept", accept)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);
    assert!(
        again.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

#[tokio::test]
async fn six_digit_codes_verify_once_and_newer_codes_replace_older() {
    let s = TestServer::start().await;
    sign_up(&s, &s.http, "otp@example.com", flow::PASSWORD).await;
    assert_eq!(
        post_json(&s, &s.http, "email-otp/send-verification-otp", json!({}))
            .await
            .status(),
        200
    );
    let first = code_in(&nth_mail(&s, "otp@example.com", 2).await);
    assert_eq!(
        post_json(&s, &s.http, "email-otp/send-verification-otp", json!({}))
            .await
            .status(),
        200
    );
    let second = code_in(&nth_mail(&s, "otp@example.com", 3).await);
    if first != second {
        let old = post_json(
            &s,
            &s.http,
            "email-otp/verify-email",
            json!({ "otp": first }),
        )
        .await;
        assert_eq!(old.status(), 400, "a new code invalidates the older one");
    }
    let ok = post_json(
        &s,
        &s.http,
        "email-otp/verify-email",
        json!({ "otp": second }),
    )
    .await;
    assert_eq!(ok.status(), 200);
    let session: Value = get_session(&s, &s.http).await;
    assert_eq!(session["user"]["emailVerified"], true);
    assert_eq!(
        post_json(
            &s,
            &s.http,
            "email-otp/verify-email",
            json!({ "otp": second })
        )
        .await
        .status(),
        400,
        "single use"
    );
    // Signed out: no codes.
    assert_eq!(
        post_json(
            &s,
            &s.new_browser(),
            "email-otp/verify-email",
            json!({ "otp": "123456" })
        )
        .await
        .status(),
        401
    );
}

#[tokio::test]
async fn code_guesses_are_capped_and_codes_expire() {
    let s = TestServer::start().await;
    sign_up(&s, &s.http, "guess@example.com", flow::PASSWORD).await;
    post_json(&s, &s.http, "email-otp/send-verification-otp", json!({})).await;
    let code = code_in(&nth_mail(&s, "guess@example.com", 2).await);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        assert_eq!(
            post_json(
                &s,
                &s.http,
                "email-otp/verify-email",
                json!({ "otp": wrong })
            )
            .await
            .status(),
            400
        );
    }
    let capped = post_json(
        &s,
        &s.http,
        "email-otp/verify-email",
        json!({ "otp": code }),
    )
    .await;
    assert_eq!(
        code_of(capped).await,
        "TOO_MANY_ATTEMPTS",
        "even the right code is refused now"
    );

    post_json(&s, &s.http, "email-otp/send-verification-otp", json!({})).await;
    let fresh = code_in(&nth_mail(&s, "guess@example.com", 3).await);
    s.clock.advance(601);
    assert_eq!(
        post_json(
            &s,
            &s.http,
            "email-otp/verify-email",
            json!({ "otp": fresh })
        )
        .await
        .status(),
        400,
        "expired"
    );
}

#[tokio::test]
async fn the_address_can_change_only_while_unverified() {
    let s = TestServer::start().await;
    sign_up(&s, &s.http, "typo@exmaple.com", flow::PASSWORD).await;
    let old_link = mailed_link(
        &s,
        "typo@exmaple.com",
        1,
        &format!("{API}/verify-email?token="),
    )
    .await;
    let res = post_json(
        &s,
        &s.http,
        "change-email",
        json!({ "newEmail": "right@example.com" }),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        s.http.get(&old_link).send().await.unwrap().status(),
        400,
        "the old address's link is dead"
    );
    let new_link = mailed_link(
        &s,
        "right@example.com",
        1,
        &format!("{API}/verify-email?token="),
    )
    .await;
    assert_eq!(confirm_link(&s, &s.http, &new_link).await.status(), 200);
    let session: Value = get_session(&s, &s.http).await;
    assert_eq!(session["user"]["email"], "right@example.com");
    assert_eq!(session["user"]["emailVerified"], true);
    let refused = post_json(
        &s,
        &s.http,
        "change-email",
        json!({ "newEmail": "again@example.com" }),
    )
    .await;
    assert_eq!(refused.status(), 403);
    assert_eq!(code_of(refused).await, "EMAIL_ALREADY_VERIFIED");
}
