//! Magic-link sign-in: inside an authorization request, its lifetime, when it
//! may create an account, its rate limit, and taking an unverified account
//! back.

use serde_json::{Value, json};

use crate::api::{API, get_session, sign_in, sign_up};
use crate::flow;
use crate::harness::{TestServer, code_of, get_text};
use crate::mail::{confirm_link, link, magic, mailed_link, nth_mail, outbox};

#[tokio::test]
async fn a_magic_link_signs_in_inside_an_authorization_request() {
    let s = TestServer::start().await;
    let c = flow::public_client(&s).await;
    sign_up(&s, &s.new_browser(), "mags@example.com", flow::PASSWORD).await;
    // Not signed in: the authorization request sends the browser to /login.
    let b = s.new_browser();
    let res = b
        .get(flow::authorize_url(
            &s,
            &c,
            &[("state", "via-mail")],
            Some(flow::VERIFIER),
        ))
        .send()
        .await
        .unwrap();
    let login = res.headers()["location"].to_str().unwrap().to_string();
    let html = get_text(&b, s.url(&login)).await;
    assert!(
        html.contains("href=\"/login/magic?return_to="),
        "the sign-in screen offers a magic link"
    );
    let magic_page = html
        .split("href=\"")
        .find(|p| p.starts_with("/login/magic"))
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let page = get_text(&b, s.url(&magic_page)).await;
    let f = crate::html::form(&page, "/login/magic");
    assert!(
        f.get("return_to")
            .unwrap()
            .starts_with("/oauth2/authorize?")
    );
    let sent = b
        .post(s.url("/login/magic"))
        .form(&f.fill(&[("email", "mags@example.com")]))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    assert!(sent.text().await.unwrap().contains("Check your email"));

    let mail = nth_mail(&s, "mags@example.com", 2).await;
    assert!(mail.contains("Subject: Your sign-in link"));
    let link = link(&mail, &s.url(&format!("{API}/magic-link/verify?token=")));
    let back = confirm_link(&s, &b, &link).await;
    assert_eq!(back.status(), 303);
    let to = back.headers()["location"].to_str().unwrap().to_string();
    assert!(
        to.starts_with("/oauth2/authorize?"),
        "the return_to survived the mailbox: {to}"
    );
    let done = flow::follow(&s, &b, &s.url(&to), "", "allow").await;
    assert_eq!(flow::param(&done, "state").as_deref(), Some("via-mail"));
    let code = flow::param(&done, "code").unwrap();
    let t: Value = flow::exchange(&s, &c, &code).await.json().await.unwrap();
    assert_eq!(
        flow::claims(t["id_token"].as_str().unwrap())["amr"],
        json!(["otp"])
    );

    // Single use.
    assert_eq!(
        s.new_browser().get(&link).send().await.unwrap().status(),
        400
    );
}

#[tokio::test]
async fn magic_links_expire_after_fifteen_minutes() {
    let s = TestServer::start().await;
    magic(&s, "late@example.com", None).await;
    let link = mailed_link(
        &s,
        "late@example.com",
        1,
        &format!("{API}/magic-link/verify?token="),
    )
    .await;
    s.clock.advance(15 * 60 + 1);
    assert_eq!(
        s.new_browser().get(&link).send().await.unwrap().status(),
        400
    );
}

#[tokio::test]
async fn magic_links_create_accounts_only_when_allowed() {
    let s = TestServer::start().await;
    assert_eq!(
        magic(&s, "fresh@example.com", Some("https://evil.example/"))
            .await
            .status(),
        200
    );
    let mail = nth_mail(&s, "fresh@example.com", 1).await;
    assert!(
        !mail.contains("evil.example"),
        "callbackURL must be a same-origin path"
    );
    let b = s.new_browser();
    let res = confirm_link(
        &s,
        &b,
        &link(&mail, &s.url(&format!("{API}/magic-link/verify?token="))),
    )
    .await;
    assert_eq!(res.headers()["location"], "/");
    let session: Value = get_session(&s, &b).await;
    assert_eq!(session["user"]["email"], "fresh@example.com");
    assert_eq!(
        session["user"]["emailVerified"], true,
        "the click proves the address"
    );

    let closed =
        TestServer::start_with(vec![("PORTCULLIS_MAGIC_LINK__ALLOW_SIGN_UP", "false")]).await;
    let unknown = magic(&closed, "stranger@example.com", None).await;
    sign_up(
        &closed,
        &closed.new_browser(),
        "member@example.com",
        flow::PASSWORD,
    )
    .await;
    let known = magic(&closed, "member@example.com", None).await;
    assert_eq!(unknown.status(), known.status());
    assert_eq!(
        unknown.text().await.unwrap(),
        known.text().await.unwrap(),
        "no enumeration"
    );
    nth_mail(&closed, "member@example.com", 2).await;
    assert!(outbox(&closed, "stranger@example.com").is_empty());
}

#[tokio::test]
async fn the_sixth_magic_link_request_in_a_minute_is_refused() {
    let s = TestServer::start().await;
    for i in 0..5 {
        assert_eq!(
            magic(&s, "six@example.com", None).await.status(),
            200,
            "request {}",
            i + 1
        );
    }
    let sixth = magic(&s, "six@example.com", None).await;
    assert_eq!(sixth.status(), 429);
    assert!(
        sixth.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_eq!(code_of(sixth).await, "TOO_MANY_REQUESTS");
}

#[tokio::test]
async fn a_magic_link_takes_an_unverified_account_back_from_whoever_created_it() {
    let s = TestServer::start().await;
    // Someone registers the victim's address with a password of their own.
    let squatter = s.new_browser();
    sign_up(&s, &squatter, "owner@example.com", "squatters password").await;
    // The owner signs in by magic link, proving the address.
    magic(&s, "owner@example.com", None).await;
    let link = mailed_link(
        &s,
        "owner@example.com",
        2,
        &format!("{API}/magic-link/verify?token="),
    )
    .await;
    assert_eq!(
        confirm_link(&s, &s.new_browser(), &link).await.status(),
        303
    );
    assert_eq!(
        sign_in(
            &s,
            &s.new_browser(),
            "owner@example.com",
            "squatters password"
        )
        .await
        .status(),
        401,
        "the squatter's password is gone"
    );
    let session: Value = get_session(&s, &squatter).await;
    assert_eq!(session, Value::Null, "and so is the squatter's session");
}
