//! Guessable and single-use secrets under hundreds of parallel requests: each
//! attempt budget holds exactly and each single-use secret has one winner.
//! Where a per-minute limit would stop the flood first, the test raises it:
//! those limits are a front line, the counts in the database are the promise.

use std::net::{IpAddr, Ipv4Addr};

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::api::{API, get_session, post, sign_in};
use crate::flow::{self, PASSWORD};
use crate::harness::{TestServer, install_tls};
use crate::html::form;
use crate::mail::{code_in, confirm_page, mailed_link, nth_mail, token_of};
use crate::two_factor::{code_now, enable};

/// A browser (own cookie jar) whose connections come from `127.0.0.<n>`, so
/// the server sees another client address without any forwarding header.
fn browser_from(s: &TestServer, n: u8) -> reqwest::Client {
    install_tls();
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .resolve("localhost", s.addr)
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)))
        .build()
        .expect("http client")
}

/// How many answers carry this status and, when given, this `code`.
fn count(answers: &[(u16, Value)], status: u16, code: Option<&str>) -> usize {
    answers
        .iter()
        .filter(|(s, v)| *s == status && code.is_none_or(|c| v["code"] == c))
        .count()
}

/// Sends `n` POSTs to the first-party API at once; the answers in order.
async fn at_once(
    s: &TestServer,
    n: usize,
    request: impl Fn(usize) -> (reqwest::Client, &'static str, Value),
) -> Vec<(u16, Value)> {
    join_all((0..n).map(|i| {
        let (b, path, body) = request(i);
        async move { post(s, &b, path, body).await }
    }))
    .await
}

async fn send_code(s: &TestServer, b: &reqwest::Client) -> (u16, Value) {
    post(s, b, "email-otp/send-verification-otp", json!({})).await
}

fn other_than(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

#[tokio::test]
async fn parallel_guesses_at_an_email_code_are_checked_at_most_five_times() {
    let s = TestServer::start_with(vec![("PORTCULLIS_RATE_LIMIT__EMAIL_CODE", "100000")]).await;
    let email = "racer@example.com";
    let b = flow::signed_in(&s, email).await;
    assert_eq!(send_code(&s, &b).await.0, 200);
    let code = code_in(&nth_mail(&s, email, 2).await);
    let wrong = other_than(&code);
    // 300 guesses at once; the right code is the 251st.
    let answers = at_once(&s, 300, |i| {
        let otp = if i == 250 { code.as_str() } else { wrong };
        (b.clone(), "email-otp/verify-email", json!({ "otp": otp }))
    })
    .await;
    let checked = count(&answers, 400, Some("INVALID_CODE")) + count(&answers, 200, None);
    assert_eq!(checked, 5, "{answers:?}");
    assert_eq!(count(&answers, 400, Some("TOO_MANY_ATTEMPTS")), 295);
    assert_eq!(answers[250].1["code"], "TOO_MANY_ATTEMPTS");
    assert_eq!(get_session(&s, &b).await["user"]["emailVerified"], false);
    // Afterwards too, the right code is not compared any more.
    let (status, late) = post(&s, &b, "email-otp/verify-email", json!({ "otp": code })).await;
    assert_eq!(
        (status, late["code"].as_str()),
        (400, Some("TOO_MANY_ATTEMPTS"))
    );
    assert_eq!(get_session(&s, &b).await["user"]["emailVerified"], false);
}

#[tokio::test]
async fn sending_email_codes_is_limited_per_account_and_capped_per_day() {
    let s = TestServer::start().await;
    let email = "sender@example.com";
    flow::signed_in(&s, email).await;
    // Four sessions of the account, each from its own address.
    let mut sessions = Vec::new();
    for n in 2..6 {
        let b = browser_from(&s, n);
        assert_eq!(sign_in(&s, &b, email, PASSWORD).await.status(), 200);
        sessions.push(b);
    }
    let round = |n: usize| {
        at_once(&s, n, |i| {
            (
                sessions[i % sessions.len()].clone(),
                "email-otp/send-verification-otp",
                json!({}),
            )
        })
    };
    // Ten a minute per account, whichever session or address asks.
    let first = round(11).await;
    assert_eq!(count(&first, 200, None), 10, "{first:?}");
    assert_eq!(count(&first, 429, Some("TOO_MANY_REQUESTS")), 1);
    // Twenty a day: the minute's budget is back, the day's is spent.
    s.clock.advance(61);
    let second = round(11).await;
    assert_eq!(count(&second, 200, None), 10, "{second:?}");
    s.clock.advance(61);
    let res = sessions[0]
        .post(s.url(&format!("{API}/email-otp/send-verification-otp")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let wait: i64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 3600, "until the day is over: {wait}");
    s.clock.advance(24 * 3600);
    assert_eq!(send_code(&s, &sessions[1]).await.0, 200);
}

#[tokio::test]
async fn trying_email_codes_is_limited_per_account_across_sessions() {
    let s = TestServer::start().await;
    let email = "trier@example.com";
    let first = flow::signed_in(&s, email).await;
    assert_eq!(send_code(&s, &first).await.0, 200);
    let code = code_in(&nth_mail(&s, email, 2).await);
    let mut sessions = Vec::new();
    for n in 2..6 {
        let b = browser_from(&s, n);
        assert_eq!(sign_in(&s, &b, email, PASSWORD).await.status(), 200);
        sessions.push(b);
    }
    let answers = at_once(&s, 11, |i| {
        (
            sessions[i % sessions.len()].clone(),
            "email-otp/verify-email",
            json!({ "otp": other_than(&code) }),
        )
    })
    .await;
    // Ten reach the code (five are compared, five find it spent); the
    // eleventh is stopped per account although no address sent more than three.
    assert_eq!(count(&answers, 400, Some("INVALID_CODE")), 5, "{answers:?}");
    assert_eq!(count(&answers, 400, Some("TOO_MANY_ATTEMPTS")), 5);
    assert_eq!(count(&answers, 429, Some("TOO_MANY_REQUESTS")), 1);
}

/// A code that is none of the three an authenticator could show now.
fn wrong_totp(s: &TestServer, secret: &str) -> &'static str {
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(secret).unwrap())
        .build()
        .unwrap();
    let now = s.state.now() as u64;
    let live: Vec<String> = [now - 30, now, now + 30]
        .iter()
        .map(|t| totp.generate(*t).to_string())
        .collect();
    ["000000", "111111", "222222", "333333"]
        .into_iter()
        .find(|c| !live.iter().any(|l| l == c))
        .unwrap()
}

/// An account with TOTP on, and a browser whose sign-in still owes a code.
async fn owing_a_code(s: &TestServer, email: &str) -> (reqwest::Client, String, Vec<String>) {
    let b = flow::signed_in_verified(s, email).await;
    let (secret, backup) = enable(s, &b).await;
    // The enrolment used this time step's code.
    s.clock.advance(60);
    let pending = s.new_browser();
    assert_eq!(sign_in(s, &pending, email, PASSWORD).await.status(), 200);
    (pending, secret, backup)
}

async fn factor_row(s: &TestServer, email: &str) -> entities::two_factors::Model {
    let (user, _) = portcullis::store::users::find_with_password(&s.state.db, email)
        .await
        .unwrap()
        .unwrap();
    portcullis::store::two_factors::find(&s.state.db, &user.id)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn parallel_wrong_totp_codes_lock_the_factor_after_exactly_ten() {
    let s = TestServer::start_with(vec![("PORTCULLIS_RATE_LIMIT__SECOND_FACTOR", "100000")]).await;
    let email = "totp-race@example.com";
    let (pending, secret, _) = owing_a_code(&s, email).await;
    let wrong = wrong_totp(&s, &secret);
    let answers = at_once(&s, 200, |_| {
        (
            pending.clone(),
            "two-factor/verify",
            json!({ "code": wrong }),
        )
    })
    .await;
    assert_eq!(
        count(&answers, 401, Some("INVALID_CODE")),
        10,
        "{answers:?}"
    );
    assert_eq!(count(&answers, 429, Some("TOO_MANY_REQUESTS")), 190);
    let row = factor_row(&s, email).await;
    let now = s.state.now();
    assert!(
        (now + 900 - 5..=now + 900).contains(&row.locked_until),
        "locked for 15 minutes from the tenth: {} at {now}",
        row.locked_until
    );
    assert_eq!(row.failures, 0, "the count starts again after the lock");
    let res = pending
        .post(s.url(&format!("{API}/two-factor/verify")))
        .json(&json!({ "code": code_now(&s, &secret) }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429, "locked, whatever the code");
}

#[tokio::test]
async fn one_totp_code_sent_two_hundred_times_at_once_is_accepted_once() {
    let s = TestServer::start_with(vec![("PORTCULLIS_RATE_LIMIT__SECOND_FACTOR", "100000")]).await;
    let (pending, secret, _) = owing_a_code(&s, "totp-replay@example.com").await;
    let code = code_now(&s, &secret);
    let answers = at_once(&s, 200, |_| {
        (
            pending.clone(),
            "two-factor/verify",
            json!({ "code": code }),
        )
    })
    .await;
    assert_eq!(count(&answers, 200, None), 1, "{answers:?}");
}

#[tokio::test]
async fn one_backup_code_sent_two_hundred_times_at_once_is_accepted_once() {
    let s = TestServer::start_with(vec![("PORTCULLIS_RATE_LIMIT__SECOND_FACTOR", "100000")]).await;
    let email = "backup-race@example.com";
    let (pending, _, backup) = owing_a_code(&s, email).await;
    let answers = at_once(&s, 200, |_| {
        (
            pending.clone(),
            "two-factor/verify",
            json!({ "code": backup[0] }),
        )
    })
    .await;
    assert_eq!(count(&answers, 200, None), 1, "{answers:?}");
    let left: Vec<String> =
        serde_json::from_str(&factor_row(&s, email).await.backup_codes).unwrap();
    assert_eq!(left.len(), 9);
}

/// `n` browsers each open `link` (its confirm page), then all press the
/// page's button at once: per press, the status and whether it signed the
/// browser in.
async fn confirm_at_once(s: &TestServer, link: &str, n: usize) -> Vec<(u16, bool)> {
    let pages = join_all((0..n).map(|_| {
        let b = s.new_browser();
        async move {
            let (path, html) = confirm_page(s, &b, link).await;
            let fields = form(&html, &path).fields;
            (b, path, fields)
        }
    }))
    .await;
    join_all(pages.into_iter().map(|(b, path, fields)| async move {
        let res = b.post(s.url(&path)).form(&fields).send().await.unwrap();
        let signed_in = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("portcullis_session="));
        (res.status().as_u16(), signed_in)
    }))
    .await
}

/// Exactly one press worked (signed its browser in); every other one was
/// refused as a used link.
fn one_winner(answers: &[(u16, bool)]) {
    assert_eq!(
        answers.iter().filter(|(_, won)| *won).count(),
        1,
        "{answers:?}"
    );
    assert_eq!(
        answers.iter().filter(|(s, won)| !*won && *s == 400).count(),
        answers.len() - 1,
        "{answers:?}"
    );
}

#[tokio::test]
async fn a_magic_link_opened_two_hundred_times_at_once_signs_in_once() {
    let s = TestServer::start().await;
    let email = "magic-race@example.com";
    flow::signed_in(&s, email).await;
    let (status, _) = post(&s, &s.http, "sign-in/magic-link", json!({ "email": email })).await;
    assert_eq!(status, 200);
    let link = mailed_link(&s, email, 2, &format!("{API}/magic-link/verify?token=")).await;
    one_winner(&confirm_at_once(&s, &link, 200).await);
}

#[tokio::test]
async fn a_verification_link_opened_two_hundred_times_at_once_verifies_once() {
    let s = TestServer::start().await;
    let email = "verify-race@example.com";
    flow::signed_in(&s, email).await;
    let link = mailed_link(&s, email, 1, &format!("{API}/verify-email?token=")).await;
    one_winner(&confirm_at_once(&s, &link, 200).await);
}

#[tokio::test]
async fn a_reset_link_used_two_hundred_times_at_once_sets_one_password() {
    let s = TestServer::start().await;
    let email = "reset-race@example.com";
    flow::signed_in(&s, email).await;
    let (status, _) = post(&s, &s.http, "forget-password", json!({ "email": email })).await;
    assert_eq!(status, 200);
    let token = token_of(&mailed_link(&s, email, 2, "/reset-password?token=").await);
    let answers = at_once(&s, 200, |i| {
        (
            s.new_browser(),
            "reset-password",
            json!({ "token": token, "password": format!("brand new passphrase {i}") }),
        )
    })
    .await;
    assert_eq!(count(&answers, 200, None), 1, "{answers:?}");
    assert_eq!(count(&answers, 400, Some("INVALID_TOKEN")), 199);
    let winner = answers.iter().position(|(s, _)| *s == 200).unwrap();
    let res = sign_in(
        &s,
        &s.new_browser(),
        email,
        &format!("brand new passphrase {winner}"),
    )
    .await;
    assert_eq!(res.status(), 200, "the winner's password is the one set");
}

/// POSTs a user code on `/device` `n` times at once from each browser.
async fn type_user_codes(
    s: &TestServer,
    browsers: &[reqwest::Client],
    n: usize,
    code: &str,
) -> Vec<u16> {
    let mut forms = Vec::new();
    for b in browsers {
        let page = b.get(s.url("/device")).send().await.unwrap();
        assert_eq!(page.status(), 200);
        forms.push(form(&page.text().await.unwrap(), "/device"));
    }
    join_all(browsers.iter().zip(&forms).flat_map(|(b, f)| {
        (0..n).map(move |_| async move {
            b.post(s.url("/device"))
                .form(&f.fill(&[("user_code", code)]))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    }))
    .await
}

#[tokio::test]
async fn wrong_user_codes_from_every_session_of_an_account_share_one_limit() {
    let s = TestServer::start().await;
    let email = "device-guesser@example.com";
    flow::signed_in(&s, email).await;
    let mut sessions = Vec::new();
    for n in 2..5 {
        let b = browser_from(&s, n);
        assert_eq!(sign_in(&s, &b, email, PASSWORD).await.status(), 200);
        sessions.push(b);
    }
    let statuses = type_user_codes(&s, &sessions, 20, "BCDF-GHJK").await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        10,
        "ten a minute per account, not per session or address: {statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 50);
}

#[tokio::test]
async fn parallel_wrong_user_codes_stop_at_the_accounts_hourly_budget() {
    let s = TestServer::start_with(vec![("PORTCULLIS_RATE_LIMIT__DEVICE_CODE", "100000")]).await;
    let b = flow::signed_in(&s, "device-budget@example.com").await;
    let statuses = type_user_codes(&s, std::slice::from_ref(&b), 200, "BCDF-GHJK").await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        30,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 170);
    // After the hour, a right code is looked up again.
    s.clock.advance(3600);
    let c = crate::device::device_client(&s).await;
    let d = crate::device::start(&s, &c).await;
    crate::device::answer(
        &s,
        &b,
        d["verification_uri_complete"].as_str().unwrap(),
        "allow",
    )
    .await;
}

#[tokio::test]
async fn accounts_changing_to_one_address_share_its_daily_email_codes() {
    let s = TestServer::start_with(vec![("PORTCULLIS_EMAIL_CODE__MAX_PER_DAY", "2")]).await;
    let change = |b: reqwest::Client, to: &'static str| {
        let s = &s;
        async move {
            let (status, v) = post(s, &b, "change-email", json!({ "newEmail": to })).await;
            assert_eq!(status, 200, "{v}");
        }
    };
    let first = flow::signed_in(&s, "first@example.com").await;
    change(first.clone(), "shared@example.com").await;
    assert_eq!(send_code(&s, &first).await.0, 200);
    assert_eq!(send_code(&s, &first).await.0, 200);
    // The first account lets the address go; a second one takes it up and
    // finds the address's codes for the day spent, though its own are not.
    change(first, "elsewhere@example.com").await;
    let second = flow::signed_in(&s, "second@example.com").await;
    change(second.clone(), "shared@example.com").await;
    let (status, v) = send_code(&s, &second).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (429, Some("TOO_MANY_REQUESTS"))
    );
    // Its own budget is untouched elsewhere.
    change(second.clone(), "own@example.com").await;
    assert_eq!(send_code(&s, &second).await.0, 200);
}

#[tokio::test]
async fn wrong_user_codes_between_ones_own_pending_code_still_hit_the_hourly_budget() {
    let s = TestServer::start_with(vec![("PORTCULLIS_RATE_LIMIT__DEVICE_CODE", "100000")]).await;
    let b = flow::signed_in(&s, "device-refunds@example.com").await;
    let c = crate::device::device_client(&s).await;
    let d = crate::device::start(&s, &c).await;
    let own = d["user_code"].as_str().unwrap();
    let mut wrong = Vec::new();
    for _ in 0..40 {
        wrong.push(type_user_codes(&s, std::slice::from_ref(&b), 1, "BCDF-GHJK").await[0]);
        let page = b
            .get(s.url("/device"))
            .query(&[("user_code", own)])
            .send()
            .await
            .unwrap();
        assert!([200, 429].contains(&page.status().as_u16()));
    }
    // Each lookup of the own code takes a place before it gives it back, so
    // it nets nothing: the wrong ones alone fill the 30.
    assert_eq!(wrong.iter().filter(|s| **s == 400).count(), 30, "{wrong:?}");
    assert_eq!(wrong.iter().filter(|s| **s == 429).count(), 10);
}
