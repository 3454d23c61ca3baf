//! A proof of the mailbox counts only for the address it was sent to, and
//! taking an account back leaves its creator nothing to redeem later
//! (issue 19, second review).

use serde_json::{Value, json};

use crate::api::{API, get_session, post, sign_up};
use crate::flow;
use crate::harness::TestServer;
use crate::mail::{code_in, confirm_link, confirm_page, forget, mailed_link, nth_mail, token_of};

const ATTACKER: &str = "attacker@evil.example";
const VICTIM: &str = "victim@example.com";

async fn verification_link(s: &TestServer, email: &str, n: usize) -> String {
    mailed_link(s, email, n, &format!("{API}/verify-email?token=")).await
}

async fn account(s: &TestServer, email: &str) -> entities::users::Model {
    portcullis::store::users::find_with_password(&s.state.db, email)
        .await
        .unwrap()
        .unwrap()
        .0
}

/// Whether an answer sets a session cookie (the CSRF cookie is no session).
fn sets_session(res: &reqwest::Response) -> bool {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("portcullis_session="))
}

/// The attacker signs up with their own address, asks for a reset link
/// (mailed to themselves), moves the account to the victim's address and
/// then uses the link: it must not verify the victim's address.
#[tokio::test]
async fn a_reset_link_for_the_old_address_does_nothing_after_the_address_changed() {
    let s = TestServer::start().await;
    let attacker = s.new_browser();
    assert_eq!(
        sign_up(&s, &attacker, ATTACKER, flow::PASSWORD)
            .await
            .status(),
        200
    );
    assert_eq!(forget(&s, ATTACKER).await.status(), 200);
    let link = mailed_link(&s, ATTACKER, 2, "/reset-password?token=").await;
    let (status, _) = post(&s, &attacker, "change-email", json!({ "newEmail": VICTIM })).await;
    assert_eq!(status, 200);
    assert_eq!(account(&s, VICTIM).await.email, VICTIM);

    let (status, e) = post(
        &s,
        &s.new_browser(),
        "reset-password",
        json!({ "token": token_of(&link), "password": "the attackers new password" }),
    )
    .await;
    assert_eq!((status, e["code"].as_str()), (400, Some("INVALID_TOKEN")));
    assert!(!account(&s, VICTIM).await.email_verified);
}

/// The address binding itself, below the token checks: a proof of the old
/// address, arriving with a copy of the account read before the change
/// (another node's cache, a request in flight), verifies nothing.
#[tokio::test]
async fn a_proof_of_the_old_address_does_not_verify_the_new_one() {
    let s = TestServer::start().await;
    let attacker = s.new_browser();
    sign_up(&s, &attacker, ATTACKER, flow::PASSWORD).await;
    let before = account(&s, ATTACKER).await;
    let (status, _) = post(&s, &attacker, "change-email", json!({ "newEmail": VICTIM })).await;
    assert_eq!(status, 200);

    let db = &s.state.db;
    let now = s.state.now();
    assert!(
        !portcullis::store::users::mark_verified(db, &before.id, ATTACKER, now)
            .await
            .unwrap()
    );
    let keep_password = false;
    let taken = portcullis::login::reclaim::take_back(&s.state, &before, ATTACKER, keep_password)
        .await
        .unwrap();
    assert_eq!(taken, None);
    let proved = portcullis::login::mailbox::proved(&s.state, &before, ATTACKER, None)
        .await
        .unwrap();
    assert_eq!(proved, None);
    let after = account(&s, VICTIM).await;
    assert!(!after.email_verified);
    assert!(
        portcullis::store::users::find_with_password(db, VICTIM)
            .await
            .unwrap()
            .unwrap()
            .1
            .is_some(),
        "the password was not taken back either"
    );
}

/// A squatter approves a device and gets an authorization code for the
/// victim's unverified address, and redeems neither; the victim confirms the
/// verification link in another browser; what the squatter kept is worthless.
#[tokio::test]
async fn what_the_squatter_approved_but_did_not_redeem_dies_with_the_take_back() {
    let s = TestServer::start().await;
    let squatter = flow::signed_in(&s, VICTIM).await;
    let link = verification_link(&s, VICTIM, 1).await;

    let device = crate::device::device_client(&s).await;
    let d = crate::device::start(&s, &device).await;
    crate::device::answer(
        &s,
        &squatter,
        d["verification_uri_complete"].as_str().unwrap(),
        "allow",
    )
    .await;
    let web = flow::public_client(&s).await;
    let url = flow::follow(
        &s,
        &squatter,
        &flow::authorize_url(
            &s,
            &web,
            &[("scope", "openid"), ("state", "st")],
            Some(flow::VERIFIER),
        ),
        VICTIM,
        "allow",
    )
    .await;
    let code = flow::param(&url, "code").expect("code");

    let res = confirm_link(&s, &s.new_browser(), &link).await;
    assert_eq!(res.status(), 200);
    assert!(sets_session(&res), "the mailbox owner is signed in");
    assert!(account(&s, VICTIM).await.email_verified);

    let (status, body) = crate::device::poll(&s, &device, d["device_code"].as_str().unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("access_denied")),
        "{body}"
    );
    let res = flow::exchange(&s, &web, &code).await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant", "{body}");
}

/// The attacker verifies their own account with a code, then sends its
/// (day-long) verification link to a victim: confirming it must not sign the
/// victim's browser in to the attacker's account.
#[tokio::test]
async fn a_verification_link_of_a_verified_account_signs_no_one_in() {
    let s = TestServer::start().await;
    let attacker = s.new_browser();
    sign_up(&s, &attacker, ATTACKER, flow::PASSWORD).await;
    let link = verification_link(&s, ATTACKER, 1).await;
    let (status, _) = post(&s, &attacker, "email-otp/send-verification-otp", json!({})).await;
    assert_eq!(status, 200);
    let code = code_in(&nth_mail(&s, ATTACKER, 2).await);
    let (status, _) = post(
        &s,
        &attacker,
        "email-otp/verify-email",
        json!({ "otp": code }),
    )
    .await;
    assert_eq!(status, 200);
    assert!(account(&s, ATTACKER).await.email_verified);

    let victim = s.new_browser();
    let res = victim.get(&link).send().await.unwrap();
    assert!(!sets_session(&res));
    // Refused at once, or a page to confirm: neither may sign the victim in.
    let page = match res.headers().get("location") {
        Some(to) => victim
            .get(s.url(to.to_str().unwrap()))
            .send()
            .await
            .unwrap(),
        None => res,
    };
    assert!(!sets_session(&page));
    assert_eq!(page.status(), 400, "verified by the code, the link is dead");
    let html = page.text().await.unwrap();
    if html.contains("action=\"/verify-email\"") {
        let f = crate::html::form(&html, "/verify-email");
        let res = victim
            .post(s.url("/verify-email"))
            .form(&f.fields)
            .send()
            .await
            .unwrap();
        assert!(!sets_session(&res), "the link signed the victim in");
    }
    assert_eq!(get_session(&s, &victim).await, Value::Null);
}

/// The same with a confirm page opened while the account was unverified and
/// pressed after it was verified some other way: nothing to take back, and
/// no session.
#[tokio::test]
async fn confirming_a_link_after_the_account_was_verified_signs_no_one_in() {
    let s = TestServer::start().await;
    sign_up(&s, &s.new_browser(), ATTACKER, flow::PASSWORD).await;
    let link = verification_link(&s, ATTACKER, 1).await;
    let victim = s.new_browser();
    let (path, html) = confirm_page(&s, &victim, &link).await;
    let user = account(&s, ATTACKER).await;
    // Verified behind the link's back (the token stays live).
    assert!(
        portcullis::store::users::mark_verified(&s.state.db, &user.id, ATTACKER, s.state.now())
            .await
            .unwrap()
    );
    portcullis::login::session::forget_user(&s.state, &user.id);
    let f = crate::html::form(&html, &path);
    let res = victim
        .post(s.url(&path))
        .form(&f.fields)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(!sets_session(&res));
    assert!(res.text().await.unwrap().contains("already confirmed"));
    assert_eq!(get_session(&s, &victim).await, Value::Null);
    assert_eq!(
        crate::api::sign_in(&s, &s.new_browser(), ATTACKER, flow::PASSWORD)
            .await
            .status(),
        200,
        "nothing was taken back"
    );
}

/// A session of the account read before the address was verified elsewhere
/// (cached for a while, on this node or another) enters a code: the account
/// is verified already, so nothing is taken back from its owner.
#[tokio::test]
async fn a_code_checked_against_a_stale_session_takes_nothing_back_from_a_verified_account() {
    let s = TestServer::start().await;
    sign_up(&s, &s.new_browser(), VICTIM, flow::PASSWORD).await;
    let other = s.new_browser();
    assert_eq!(
        crate::api::sign_in(&s, &other, VICTIM, flow::PASSWORD)
            .await
            .status(),
        200
    );
    let (status, _) = post(&s, &other, "email-otp/send-verification-otp", json!({})).await;
    assert_eq!(status, 200);
    let code = code_in(&nth_mail(&s, VICTIM, 2).await);
    // Verified elsewhere; this node's cached session still says unverified.
    let user = account(&s, VICTIM).await;
    assert!(
        portcullis::store::users::mark_verified(&s.state.db, &user.id, VICTIM, s.state.now())
            .await
            .unwrap()
    );
    let (status, _) = post(&s, &other, "email-otp/verify-email", json!({ "otp": code })).await;
    assert_eq!(status, 200);
    assert_eq!(
        crate::api::sign_in(&s, &s.new_browser(), VICTIM, flow::PASSWORD)
            .await
            .status(),
        200,
        "the owner's password is still there"
    );
}
