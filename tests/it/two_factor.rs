//! TOTP second factor: enrolment, sign-in that owes a code, backup codes,
//! replay, rate limit, disabling, and what tokens say about it (`amr`, `acr`,
//! step-up with `acr_values`).

use serde_json::{Value, json};

use crate::flow::{self, ClientKind, Consent, PASSWORD};
use crate::harness::{TestServer, get_json, get_text};

use crate::api::{API, get_session, post};

/// The code an authenticator app shows now, by the server's (test) clock.
pub fn code_now(s: &TestServer, secret: &str) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).unwrap();
    totp_rs::Builder::new()
        .with_secret(secret)
        .build()
        .unwrap()
        .generate(s.state.now() as u64)
        .to_string()
}

/// Turns TOTP on for the account signed in on `b`: the secret and backup codes.
pub async fn enable(s: &TestServer, b: &reqwest::Client) -> (String, Vec<String>) {
    let (status, e) = post(s, b, "two-factor/enable", json!({ "password": PASSWORD })).await;
    assert_eq!(status, 200, "{e}");
    let secret = e["secret"].as_str().unwrap().to_string();
    let (status, v) = post(
        s,
        b,
        "two-factor/verify",
        json!({ "code": code_now(s, &secret) }),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let codes = e["backupCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    (secret, codes)
}

async fn sign_in(s: &TestServer, b: &reqwest::Client, email: &str) -> Value {
    let res = crate::api::sign_in(s, b, email, PASSWORD).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn sign_out(s: &TestServer, b: &reqwest::Client) {
    let (status, _) = post(s, b, "sign-out", json!({})).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn enable_confirm_sign_in_backup_code_replay_disable() {
    // Many codes and sign-ins in one minute: the limits are the next test's.
    let s = TestServer::start_with(vec![
        ("PORTCULLIS_RATE_LIMIT__SECOND_FACTOR", "1000"),
        ("PORTCULLIS_RATE_LIMIT__SIGN_IN", "1000"),
    ])
    .await;
    let email = "totp@example.com";
    let b = flow::signed_in_verified(&s, email).await;

    // Enabling re-checks the password.
    let (status, e) = post(&s, &b, "two-factor/enable", json!({})).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (400, Some("PASSWORD_REQUIRED"))
    );
    let (status, e) = post(
        &s,
        &b,
        "two-factor/enable",
        json!({ "password": "wrong one!" }),
    )
    .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (400, Some("INVALID_PASSWORD"))
    );
    let (status, e) = post(&s, &b, "two-factor/enable", json!({ "password": PASSWORD })).await;
    assert_eq!(status, 200);
    let secret = e["secret"].as_str().unwrap().to_string();
    let uri = e["totpURI"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(e["qrCode"].as_str().unwrap().contains("<svg"));
    let backup: Vec<String> = e["backupCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(backup.len(), 10);

    // Not on until a code confirms it: signing in still needs one factor.
    sign_out(&s, &b).await;
    let body = sign_in(&s, &b, email).await;
    assert_eq!(body["user"]["email"], email, "{body}");
    // A backup code cannot confirm an enrolment; a wrong code is refused.
    let (status, _) = post(&s, &b, "two-factor/verify", json!({ "code": backup[0] })).await;
    assert_eq!(status, 401);
    let (status, e) = post(&s, &b, "two-factor/verify", json!({ "code": "000000" })).await;
    assert_eq!((status, e["code"].as_str()), (401, Some("INVALID_CODE")));
    let confirm = code_now(&s, &secret);
    let (status, _) = post(&s, &b, "two-factor/verify", json!({ "code": confirm })).await;
    assert_eq!(status, 200);
    // The same code again, in the same time step: refused.
    let (status, _) = post(&s, &b, "two-factor/verify", json!({ "code": confirm })).await;
    assert_eq!(status, 401);
    // Enabling again while on is refused (it would bypass the factor).
    let (status, e) = post(&s, &b, "two-factor/enable", json!({ "password": PASSWORD })).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (400, Some("TWO_FACTOR_ALREADY_ENABLED"))
    );

    // Now a password sign-in leaves the session pending.
    sign_out(&s, &b).await;
    let body = sign_in(&s, &b, email).await;
    assert_eq!(body, json!({ "twoFactorRedirect": true }));
    assert_eq!(
        get_session(&s, &b).await,
        Value::Null,
        "pending is not signed in"
    );
    let res = b.get(s.url("/")).send().await.unwrap();
    assert_eq!(res.headers()["location"], "/login");
    s.clock.advance(30);
    let res = b
        .post(s.url(&format!("{API}/two-factor/verify")))
        .json(&json!({ "code": code_now(&s, &secret) }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("portcullis_session="),
        "a new session token once the second factor is in"
    );
    assert_eq!(get_session(&s, &b).await["user"]["email"], email);

    // A backup code works once, in any letter case and with or without the dash.
    sign_out(&s, &b).await;
    sign_in(&s, &b, email).await;
    let (status, _) = post(
        &s,
        &b,
        "two-factor/verify",
        json!({ "code": backup[0].to_uppercase().replace('-', "") }),
    )
    .await;
    assert_eq!(status, 200);
    sign_out(&s, &b).await;
    sign_in(&s, &b, email).await;
    let (status, _) = post(&s, &b, "two-factor/verify", json!({ "code": backup[0] })).await;
    assert_eq!(status, 401, "a backup code is single-use");
    let (status, _) = post(&s, &b, "two-factor/verify", json!({ "code": backup[1] })).await;
    assert_eq!(status, 200);

    // Regenerating needs a code and kills the old list.
    s.clock.advance(30);
    let (status, v) = post(
        &s,
        &b,
        "two-factor/generate-backup-codes",
        json!({ "code": code_now(&s, &secret) }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(v["backupCodes"].as_array().unwrap().len(), 10);
    sign_out(&s, &b).await;
    sign_in(&s, &b, email).await;
    let (status, _) = post(&s, &b, "two-factor/verify", json!({ "code": backup[2] })).await;
    assert_eq!(status, 401, "old backup codes are gone");
    let (status, _) = post(
        &s,
        &b,
        "two-factor/verify",
        json!({ "code": v["backupCodes"][0] }),
    )
    .await;
    assert_eq!(status, 200);

    // Disabling needs a valid code.
    let (status, _) = post(&s, &b, "two-factor/disable", json!({ "code": "123456" })).await;
    assert_eq!(status, 401);
    s.clock.advance(30);
    let (status, _) = post(
        &s,
        &b,
        "two-factor/disable",
        json!({ "code": code_now(&s, &secret) }),
    )
    .await;
    assert_eq!(status, 200);
    sign_out(&s, &b).await;
    let body = sign_in(&s, &b, email).await;
    assert_eq!(body["user"]["email"], email, "one factor again: {body}");
}

#[tokio::test]
async fn the_sign_in_screen_asks_for_the_code_and_the_id_token_says_so() {
    let s = TestServer::start().await;
    let email = "screen2fa@example.com";
    let b = flow::signed_in_verified(&s, email).await;
    let (secret, _) = enable(&s, &b).await;
    let c = flow::confidential_client(&s).await;

    // A new browser goes through /login, then /login/2fa, then consent.
    let fresh = s.new_browser();
    let wrong = fresh.get(s.url("/login/2fa")).send().await.unwrap();
    assert_eq!(wrong.status(), 303, "no session: back to /login");
    let clock = s.clock.clone();
    let url = flow::follow_with(
        &s,
        &fresh,
        &flow::authorize_url(
            &s,
            &c,
            &[("scope", "openid"), ("nonce", "n")],
            Some(flow::VERIFIER),
        ),
        email,
        "allow",
        &|| {
            clock.advance(30);
            code_now(&s, &secret)
        },
    )
    .await;
    let code = flow::param(&url, "code").expect("a code after the second factor");
    let t: Value = flow::exchange(&s, &c, &code).await.json().await.unwrap();
    let id = flow::claims(t["id_token"].as_str().unwrap());
    let amr: Vec<&str> = id["amr"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(amr, ["pwd", "otp", "mfa"]);
    assert_eq!(id["acr"], "2");
    let discovery: Value = get_json(&s.http, s.url("/.well-known/openid-configuration")).await;
    assert!(
        discovery["acr_values_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("2"))
    );
}

#[tokio::test]
async fn a_wrong_code_on_the_screen_is_a_readable_page_and_codes_are_rate_limited() {
    let s = TestServer::start().await;
    let email = "limit2fa@example.com";
    let b = flow::signed_in_verified(&s, email).await;
    let (secret, _) = enable(&s, &b).await;
    s.clock.advance(60);
    let fresh = s.new_browser();
    sign_in(&s, &fresh, email).await;
    let page = get_text(&fresh, s.url("/login/2fa")).await;
    let f = crate::html::form(&page, "/login/2fa");
    let res = fresh
        .post(s.url("/login/2fa"))
        .form(&f.fill(&[("code", "111111")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.text().await.unwrap().contains("not valid"));
    // Five a minute per account (the screen's one counted): the sixth is 429,
    // even with the right code.
    for _ in 0..4 {
        let (status, _) = post(&s, &fresh, "two-factor/verify", json!({ "code": "222222" })).await;
        assert_eq!(status, 401);
    }
    let res = fresh
        .post(s.url(&format!("{API}/two-factor/verify")))
        .json(&json!({ "code": code_now(&s, &secret) }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn acr_values_multi_factor_steps_an_existing_session_up() {
    let s = TestServer::start().await;
    let email = "stepup@example.com";
    let b = flow::signed_in_verified(&s, email).await;
    // A second browser signed in with the password before TOTP was turned on:
    // a one-factor session that stays valid.
    let older = s.new_browser();
    sign_in(&s, &older, email).await;
    let (secret, _) = enable(&s, &b).await;
    let c = flow::client(
        &s,
        ClientKind::Confidential,
        Consent::Skipped,
        &["authorization_code"],
        Some("openid"),
    )
    .await;

    // Without acr_values, the one-factor session is enough, and says so.
    let url = flow::follow(
        &s,
        &older,
        &flow::authorize_url(&s, &c, &[("scope", "openid")], Some(flow::VERIFIER)),
        email,
        "allow",
    )
    .await;
    let t: Value = flow::exchange(&s, &c, &flow::param(&url, "code").unwrap())
        .await
        .json()
        .await
        .unwrap();
    let id = flow::claims(t["id_token"].as_str().unwrap());
    assert_eq!(
        (id["amr"].clone(), id["acr"].clone()),
        (json!(["pwd"]), json!("1"))
    );

    // prompt=none cannot step up.
    let pape = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";
    let res = older
        .get(flow::authorize_url(
            &s,
            &c,
            &[
                ("scope", "openid"),
                ("acr_values", pape),
                ("prompt", "none"),
            ],
            Some(flow::VERIFIER),
        ))
        .send()
        .await
        .unwrap();
    let to = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(
        flow::param(&to, "error").as_deref(),
        Some("interaction_required")
    );

    // Asking for multi-factor sends the same session to /login/2fa first.
    let res = older
        .get(flow::authorize_url(
            &s,
            &c,
            &[("scope", "openid"), ("acr_values", pape)],
            Some(flow::VERIFIER),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(
        res.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login/2fa?return_to=")
    );
    let clock = s.clock.clone();
    let url = flow::follow_with(
        &s,
        &older,
        &flow::authorize_url(
            &s,
            &c,
            &[("scope", "openid"), ("acr_values", pape)],
            Some(flow::VERIFIER),
        ),
        email,
        "allow",
        &|| {
            clock.advance(30);
            code_now(&s, &secret)
        },
    )
    .await;
    let t: Value = flow::exchange(&s, &c, &flow::param(&url, "code").unwrap())
        .await
        .json()
        .await
        .unwrap();
    let id = flow::claims(t["id_token"].as_str().unwrap());
    assert_eq!(id["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(id["acr"], pape, "the requested value, now satisfied");
    // The stepped-up session keeps its second factor for later requests.
    let url = flow::follow(
        &s,
        &older,
        &flow::authorize_url(
            &s,
            &c,
            &[("scope", "openid"), ("acr_values", "2")],
            Some(flow::VERIFIER),
        ),
        email,
        "allow",
    )
    .await;
    assert!(flow::param(&url, "code").is_some());
}

#[tokio::test]
async fn unverified_accounts_cannot_add_factors_and_ten_wrong_codes_lock() {
    let s = TestServer::start_with(vec![("PORTCULLIS_RATE_LIMIT__SECOND_FACTOR", "1000")]).await;
    let unverified = flow::signed_in(&s, "unverified@example.com").await;
    let (status, e) = post(
        &s,
        &unverified,
        "two-factor/enable",
        json!({ "password": PASSWORD }),
    )
    .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (403, Some("EMAIL_NOT_VERIFIED"))
    );

    let email = "lockout@example.com";
    let b = flow::signed_in_verified(&s, email).await;
    let (secret, _) = enable(&s, &b).await;
    let fresh = s.new_browser();
    sign_in(&s, &fresh, email).await;
    for _ in 0..10 {
        let (status, _) = post(&s, &fresh, "two-factor/verify", json!({ "code": "999999" })).await;
        assert_eq!(status, 401);
    }
    // Locked for 15 minutes, whatever the code.
    s.clock.advance(30);
    let res = fresh
        .post(s.url(&format!("{API}/two-factor/verify")))
        .json(&json!({ "code": code_now(&s, &secret) }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let wait: i64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((800..=900).contains(&wait), "{wait}");
    // The pending sign-in (10 minutes) is gone by then; a new one works.
    s.clock.advance(900);
    let (status, _) = post(
        &s,
        &fresh,
        "two-factor/verify",
        json!({ "code": code_now(&s, &secret) }),
    )
    .await;
    assert_eq!(status, 401);
    sign_in(&s, &fresh, email).await;
    let (status, _) = post(
        &s,
        &fresh,
        "two-factor/verify",
        json!({ "code": code_now(&s, &secret) }),
    )
    .await;
    assert_eq!(status, 200);
}
