//! Mailed links open a confirm page and change nothing until it is posted
//! (with its CSRF token); a proof of the mailbox takes an unverified account
//! back from whoever created it (issue 19, account pre-hijacking).

use serde_json::{Value, json};

use crate::api::{API, get_session, post, sign_in, sign_up};
use crate::flow;
use crate::harness::{TestServer, get_text};
use crate::mail::{code_in, confirm_link, confirm_page, forget, magic, mailed_link, nth_mail};

const VICTIM: &str = "victim@example.com";
const SQUATTER_PASSWORD: &str = "the squatters password";

async fn verification_link(s: &TestServer, email: &str, n: usize) -> String {
    mailed_link(s, email, n, &format!("{API}/verify-email?token=")).await
}

async fn magic_link(s: &TestServer, email: &str, n: usize) -> String {
    mailed_link(s, email, n, &format!("{API}/magic-link/verify?token=")).await
}

async fn is_verified(s: &TestServer, email: &str) -> bool {
    portcullis::store::users::find_with_password(&s.state.db, email)
        .await
        .unwrap()
        .unwrap()
        .0
        .email_verified
}

/// Whether an answer sets a session cookie (the CSRF cookie is no session).
fn sets_session(res: &reqwest::Response) -> bool {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("portcullis_session="))
}

/// A mail scanner (no cookies) and a person (cookies, the page) opening a
/// link, repeatedly: no session, no state change.
async fn open_without_confirming(s: &TestServer, link: &str) {
    for _ in 0..3 {
        let scanner = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::limited(5))
            .resolve("localhost", s.addr)
            .build()
            .unwrap();
        let res = scanner.get(link).send().await.unwrap();
        assert_eq!(res.status(), 200, "the scanner ends on the confirm page");
        assert!(!sets_session(&res));
        let person = s.new_browser();
        let res = person.get(link).send().await.unwrap();
        assert_eq!(res.status(), 303);
        assert!(!sets_session(&res));
        let to = res.headers()["location"].to_str().unwrap().to_string();
        let page = person.get(s.url(&to)).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(!sets_session(&page));
        assert_eq!(get_session(s, &person).await, Value::Null);
    }
}

#[tokio::test]
async fn opening_a_verification_link_verifies_nothing_until_confirmed() {
    let s = TestServer::start().await;
    sign_up(&s, &s.http, "scan@example.com", flow::PASSWORD).await;
    let link = verification_link(&s, "scan@example.com", 1).await;
    open_without_confirming(&s, &link).await;
    assert!(
        !is_verified(&s, "scan@example.com").await,
        "still unverified"
    );
    // The link still works, once.
    assert_eq!(confirm_link(&s, &s.http, &link).await.status(), 200);
    assert!(is_verified(&s, "scan@example.com").await);
}

#[tokio::test]
async fn opening_a_magic_link_signs_nobody_in_until_confirmed() {
    let s = TestServer::start().await;
    sign_up(&s, &s.new_browser(), "prefetch@example.com", flow::PASSWORD).await;
    magic(&s, "prefetch@example.com", None).await;
    let link = magic_link(&s, "prefetch@example.com", 2).await;
    open_without_confirming(&s, &link).await;
    assert!(!is_verified(&s, "prefetch@example.com").await);
    assert_eq!(
        sign_in(&s, &s.new_browser(), "prefetch@example.com", flow::PASSWORD)
            .await
            .status(),
        200,
        "nothing was taken back by opening the link"
    );
    let b = s.new_browser();
    let res = confirm_link(&s, &b, &link).await;
    assert_eq!(res.status(), 303);
    assert!(sets_session(&res));
    assert_eq!(
        get_session(&s, &b).await["user"]["email"],
        "prefetch@example.com"
    );
}

#[tokio::test]
async fn opening_a_reset_link_changes_nothing_until_the_form_is_posted() {
    let s = TestServer::start().await;
    sign_up(&s, &s.new_browser(), "rlink@example.com", flow::PASSWORD).await;
    forget(&s, "rlink@example.com").await;
    let link = mailed_link(&s, "rlink@example.com", 2, "/reset-password?token=").await;
    for _ in 0..3 {
        let res = s.new_browser().get(&link).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(!sets_session(&res));
    }
    assert_eq!(
        sign_in(&s, &s.new_browser(), "rlink@example.com", flow::PASSWORD)
            .await
            .status(),
        200
    );
    let b = s.new_browser();
    let html = get_text(&b, &link).await;
    let f = crate::html::form(&html, "/reset-password");
    let res = b
        .post(s.url("/reset-password"))
        .form(&f.fill(&[("password", "chosen after opening")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the token still worked");
}

/// Posts a confirm page's form with `csrf_token` replaced (or dropped).
async fn post_with_csrf(
    s: &TestServer,
    b: &reqwest::Client,
    path: &str,
    html: &str,
    csrf: Option<&str>,
) -> reqwest::Response {
    let f = crate::html::form(html, path);
    let mut fields: Vec<(String, String)> = f
        .fields
        .into_iter()
        .filter(|(k, _)| k != "csrf_token")
        .collect();
    if let Some(c) = csrf {
        fields.push(("csrf_token".into(), c.into()));
    }
    b.post(s.url(path)).form(&fields).send().await.unwrap()
}

#[tokio::test]
async fn a_confirm_page_posted_without_its_csrf_token_is_refused() {
    let s = TestServer::start().await;
    sign_up(&s, &s.http, "csrf@example.com", flow::PASSWORD).await;
    magic(&s, "csrf@example.com", None).await;
    for link in [
        verification_link(&s, "csrf@example.com", 1).await,
        magic_link(&s, "csrf@example.com", 2).await,
    ] {
        let b = s.new_browser();
        let (path, html) = confirm_page(&s, &b, &link).await;
        for csrf in [
            None,
            Some(""),
            Some("forged-forged-forged-forged-forged-forged"),
        ] {
            let res = post_with_csrf(&s, &b, &path, &html, csrf).await;
            assert_eq!(res.status(), 403, "{path} with csrf {csrf:?}");
            assert!(!sets_session(&res));
        }
        // A cross-site page posting the form, token and all, is refused too.
        let f = crate::html::form(&html, &path);
        let res = b
            .post(s.url(&path))
            .header("Origin", "https://evil.example")
            .form(&f.fields)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        assert!(!is_verified(&s, "csrf@example.com").await);
        // The link is still live: its page opens again.
        confirm_page(&s, &s.new_browser(), &link).await;
    }
}

#[tokio::test]
async fn the_magic_link_page_names_the_account_it_signs_in_to() {
    let s = TestServer::start().await;
    // An attacker's own link, sent to someone signed in to their own account.
    sign_up(&s, &s.new_browser(), "attacker@example.com", flow::PASSWORD).await;
    magic(&s, "attacker@example.com", None).await;
    let link = magic_link(&s, "attacker@example.com", 2).await;
    let someone = flow::signed_in(&s, "someone@example.com").await;
    let (_, html) = confirm_page(&s, &someone, &link).await;
    assert!(html.contains("attacker@example.com"), "{html}");
    assert!(
        html.contains("This browser is signed in as someone@example.com"),
        "{html}"
    );
    assert_eq!(
        get_session(&s, &someone).await["user"]["email"],
        "someone@example.com",
        "opening it switched nothing"
    );
}

#[tokio::test]
async fn verifying_from_the_browser_that_signed_up_keeps_its_password_and_session() {
    let s = TestServer::start().await;
    let b = s.new_browser();
    sign_up(&s, &b, "mine@example.com", flow::PASSWORD).await;
    let link = verification_link(&s, "mine@example.com", 1).await;
    let (_, html) = confirm_page(&s, &b, &link).await;
    assert!(!html.contains("did not create the account"), "{html}");
    let res = confirm_link(&s, &b, &link).await;
    assert_eq!(res.status(), 200);
    assert!(!sets_session(&res), "the same session goes on");
    let session = get_session(&s, &b).await;
    assert_eq!(session["user"]["emailVerified"], true);
    assert_eq!(
        sign_in(&s, &s.new_browser(), "mine@example.com", flow::PASSWORD)
            .await
            .status(),
        200,
        "the password stays"
    );
}

#[tokio::test]
async fn a_code_entered_in_the_sign_up_session_keeps_its_password() {
    let s = TestServer::start().await;
    let b = s.new_browser();
    sign_up(&s, &b, "code@example.com", flow::PASSWORD).await;
    post(&s, &b, "email-otp/send-verification-otp", json!({})).await;
    let code = code_in(&nth_mail(&s, "code@example.com", 2).await);
    let (status, _) = post(&s, &b, "email-otp/verify-email", json!({ "otp": code })).await;
    assert_eq!(status, 200);
    assert_eq!(get_session(&s, &b).await["user"]["emailVerified"], true);
    assert_eq!(
        sign_in(&s, &s.new_browser(), "code@example.com", flow::PASSWORD)
            .await
            .status(),
        200
    );
}

/// What is left of the squatter's hold once the owner proved the mailbox: no
/// session, no password, no way to add a second factor; the owner signs in
/// with a password of their own and no second factor is asked.
async fn assert_taken_back(s: &TestServer, squatter: &reqwest::Client) {
    assert_eq!(get_session(s, squatter).await, Value::Null, "signed out");
    let (status, _) = post(
        s,
        squatter,
        "two-factor/enable",
        json!({ "password": SQUATTER_PASSWORD }),
    )
    .await;
    assert_eq!(status, 401, "the squatter's old cookie opens nothing");
    assert_eq!(
        sign_in(s, &s.new_browser(), VICTIM, SQUATTER_PASSWORD)
            .await
            .status(),
        401,
        "the squatter's password is gone"
    );
    let user = portcullis::store::users::find_with_password(&s.state.db, VICTIM)
        .await
        .unwrap()
        .unwrap()
        .0;
    assert!(user.email_verified);
    assert!(
        !portcullis::store::two_factors::is_enabled(&s.state.db, &user.id)
            .await
            .unwrap()
    );
    assert!(
        portcullis::store::passkeys::for_user(&s.state.db, &user.id)
            .await
            .unwrap()
            .is_empty()
    );
    // The owner chooses a password and signs in: no second factor is owed.
    let n = crate::mail::outbox(s, VICTIM).len();
    forget(s, VICTIM).await;
    let link = mailed_link(s, VICTIM, n + 1, "/reset-password?token=").await;
    let (status, _) = post(
        s,
        &s.new_browser(),
        "reset-password",
        json!({ "token": crate::mail::token_of(&link), "password": "the owners own password" }),
    )
    .await;
    assert_eq!(status, 200);
    let res = sign_in(s, &s.new_browser(), VICTIM, "the owners own password").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["twoFactorRedirect"], Value::Null, "{body}");
    assert_eq!(body["user"]["emailVerified"], true);
}

/// Issue 19's scenario: a squatter signs up with the victim's address; a mail
/// scanner opens the verification link; the squatter tries to enrol TOTP;
/// the victim confirms the link in their own browser.
#[tokio::test]
async fn a_verification_link_confirmed_elsewhere_takes_the_account_back_from_its_creator() {
    let s = TestServer::start().await;
    let squatter = s.new_browser();
    assert_eq!(
        sign_up(&s, &squatter, VICTIM, SQUATTER_PASSWORD)
            .await
            .status(),
        200
    );
    let link = verification_link(&s, VICTIM, 1).await;
    // The scanner's GET verifies nothing, so no second factor for the squatter.
    open_without_confirming(&s, &link).await;
    let (status, e) = post(
        &s,
        &squatter,
        "two-factor/enable",
        json!({ "password": SQUATTER_PASSWORD }),
    )
    .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (403, Some("EMAIL_NOT_VERIFIED"))
    );

    let victim = s.new_browser();
    let (_, html) = confirm_page(&s, &victim, &link).await;
    assert!(
        html.contains("did not create the account"),
        "the page says what confirming does: {html}"
    );
    assert!(
        html.contains("a link someone else sent you signs you in to their account"),
        "and warns as the magic-link page does: {html}"
    );
    let res = confirm_link(&s, &victim, &link).await;
    assert_eq!(res.status(), 200);
    assert!(sets_session(&res), "the mailbox owner is signed in");
    let session = get_session(&s, &victim).await;
    assert_eq!(session["user"]["email"], VICTIM);
    assert_eq!(session["user"]["emailVerified"], true);
    assert_taken_back(&s, &squatter).await;
}

/// The same with a passkey-first sign-up: the squatter's passkey goes too.
#[tokio::test]
async fn a_verification_link_confirmed_elsewhere_drops_the_creators_passkey() {
    use crate::passkeys::{authenticator, finish, register, sign, sign_in_options};
    let s = TestServer::start().await;
    let squatter = s.new_browser();
    let mut key = authenticator();
    let (status, _, resident) = register(&s, &squatter, &mut key, Some(VICTIM)).await;
    assert_eq!(status, 200);
    let link = verification_link(&s, VICTIM, 1).await;
    let (ceremony, options) = sign_in_options(&s, &s.new_browser(), Some(VICTIM)).await;
    let late = sign(&s, &mut key, &resident, options);

    assert_eq!(
        confirm_link(&s, &s.new_browser(), &link).await.status(),
        200
    );
    let (status, v) = finish(&s, &s.new_browser(), &ceremony, &late).await;
    assert_eq!((status, v["code"].as_str()), (401, Some("INVALID_PASSKEY")));
    assert_eq!(get_session(&s, &squatter).await, Value::Null);
}

/// The 6-digit code path: the code reaches the owner's mailbox, and is
/// entered in a session of the account that is not the one that created it
/// (one planted in the owner's browser, say). The squatter's hold ends there
/// too, and the browser that entered the code stays signed in, as the owner.
#[tokio::test]
async fn a_code_entered_outside_the_sign_up_session_takes_the_account_back() {
    let s = TestServer::start().await;
    let squatter = s.new_browser();
    sign_up(&s, &squatter, VICTIM, SQUATTER_PASSWORD).await;
    let planted = s.new_browser();
    assert_eq!(
        sign_in(&s, &planted, VICTIM, SQUATTER_PASSWORD)
            .await
            .status(),
        200
    );
    let (status, _) = post(&s, &planted, "email-otp/send-verification-otp", json!({})).await;
    assert_eq!(status, 200);
    let code = code_in(&nth_mail(&s, VICTIM, 2).await);
    let res = planted
        .post(s.url(&format!("{API}/email-otp/verify-email")))
        .json(&json!({ "otp": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(sets_session(&res), "a new session for the mailbox owner");
    let session = get_session(&s, &planted).await;
    assert_eq!(session["user"]["email"], VICTIM);
    assert_eq!(session["user"]["emailVerified"], true);
    assert!(session["session"]["id"].as_str().is_some(), "{session}");
    assert_taken_back(&s, &squatter).await;
}

/// A hundred presses of one confirm page at once (a double-clicking person,
/// or someone racing the owner): the link works exactly once.
#[tokio::test]
async fn a_confirm_page_posted_a_hundred_times_at_once_works_once() {
    let s = TestServer::start().await;
    sign_up(&s, &s.new_browser(), "race@example.com", flow::PASSWORD).await;
    magic(&s, "race@example.com", None).await;
    for link in [
        verification_link(&s, "race@example.com", 1).await,
        magic_link(&s, "race@example.com", 2).await,
    ] {
        let b = s.new_browser();
        let (path, html) = confirm_page(&s, &b, &link).await;
        let fields = crate::html::form(&html, &path).fields;
        let presses = (0..100).map(|_| {
            let (b, url, fields) = (b.clone(), s.url(&path), fields.clone());
            async move { b.post(url).form(&fields).send().await.unwrap() }
        });
        let answers = futures_util::future::join_all(presses).await;
        let worked = answers.iter().filter(|r| sets_session(r)).count();
        let refused = answers.iter().filter(|r| r.status() == 400).count();
        assert_eq!((worked, refused), (1, 99), "{path}");
    }
}
