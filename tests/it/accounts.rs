use entities::{memberships, organizations};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::api::{API, get_session, sign_in, sign_up};
use crate::harness::{TestServer, code_of};

#[tokio::test]
async fn sign_up_sign_in_get_session_sign_out() {
    let s = TestServer::start().await;
    let res = sign_up(&s, &s.http, "Ada@Example.com", "correct horse battery").await;
    assert_eq!(res.status(), 200);
    let set_cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(set_cookie.starts_with("portcullis_session="));
    assert!(
        set_cookie.contains("HttpOnly")
            && set_cookie.contains("SameSite=Lax")
            && set_cookie.contains("Path=/")
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["email"], "ada@example.com", "email normalised");
    assert_eq!(body["user"]["emailVerified"], false);

    // A fresh browser signs in with the same credentials.
    let other = s.new_browser();
    assert_eq!(get_session(&s, &other).await, Value::Null);
    let res = sign_in(&s, &other, "ada@example.com", "correct horse battery").await;
    assert_eq!(res.status(), 200);
    let session = get_session(&s, &other).await;
    assert_eq!(session["user"]["email"], "ada@example.com");
    assert_eq!(session["user"]["name"], "Ada Lovelace");
    assert!(session["session"]["activeOrganizationId"].is_string());

    let res = other
        .post(s.url(&format!("{API}/sign-out")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(get_session(&s, &other).await, Value::Null);
    // The first browser's session is untouched.
    assert_eq!(
        get_session(&s, &s.http).await["user"]["email"],
        "ada@example.com"
    );
}

#[tokio::test]
async fn a_signed_out_token_is_dead_even_if_replayed() {
    let s = TestServer::start().await;
    let res = sign_up(&s, &s.http, "bob@example.com", "correct horse battery").await;
    let cookie = res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    s.http
        .post(s.url(&format!("{API}/sign-out")))
        .send()
        .await
        .unwrap();
    let plain = reqwest::Client::new();
    let replay: Value = plain
        .get(s.url(&format!("{API}/get-session")))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(replay, Value::Null);
}

/// A second sign-up with a taken address creates nothing and signs nobody in
/// to the existing account; it answers like a new one (no enumeration: see
/// `enumeration.rs`).
#[tokio::test]
async fn duplicate_sign_up_creates_nothing() {
    let s = TestServer::start().await;
    assert_eq!(
        sign_up(&s, &s.http, "dup@example.com", "correct horse battery")
            .await
            .status(),
        200
    );
    let b = s.new_browser();
    let res = sign_up(&s, &b, "DUP@example.com ", "another password").await;
    assert_eq!(res.status(), 200);
    assert_eq!(get_session(&s, &b).await, Value::Null, "not signed in");
    assert_eq!(
        sign_in(&s, &s.new_browser(), "dup@example.com", "another password")
            .await
            .status(),
        401
    );
    assert_eq!(
        sign_in(
            &s,
            &s.new_browser(),
            "dup@example.com",
            "correct horse battery"
        )
        .await
        .status(),
        200
    );
}

#[tokio::test]
async fn bad_sign_up_input_gets_code_and_message() {
    let s = TestServer::start().await;
    for (email, password, code) in [
        ("not-an-email", "correct horse battery", "INVALID_EMAIL"),
        ("eve@example.com", "short", "PASSWORD_TOO_SHORT"),
        ("eve@example.com", &"x".repeat(129), "PASSWORD_TOO_LONG"),
        ("eve@example.com", "Password123", "PASSWORD_TOO_COMMON"),
    ] {
        let res = sign_up(&s, &s.http, email, password).await;
        assert_eq!(res.status(), 400, "{code}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], code);
    }
    let res = s
        .http
        .post(s.url(&format!("{API}/sign-up/email")))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "INVALID_REQUEST_BODY");
}

#[tokio::test]
async fn unknown_email_and_wrong_password_answer_identically() {
    let s = TestServer::start().await;
    sign_up(&s, &s.http, "carol@example.com", "correct horse battery").await;
    let wrong = sign_in(&s, &s.new_browser(), "carol@example.com", "wrong password!").await;
    let unknown = sign_in(
        &s,
        &s.new_browser(),
        "nobody@example.com",
        "wrong password!",
    )
    .await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(wrong.status(), unknown.status());
    assert!(
        wrong.headers().get("set-cookie").is_none()
            && unknown.headers().get("set-cookie").is_none()
    );
    let (a, b) = (wrong.text().await.unwrap(), unknown.text().await.unwrap());
    assert_eq!(a, b);
    assert!(a.contains("INVALID_EMAIL_OR_PASSWORD"));
}

#[tokio::test]
async fn first_sign_in_creates_a_personal_organisation_once() {
    let s = TestServer::start().await;
    sign_up(&s, &s.http, "dora@example.com", "correct horse battery").await;
    let session = get_session(&s, &s.http).await;
    let user_id = session["user"]["id"].as_str().unwrap().to_string();
    let org_id = session["session"]["activeOrganizationId"]
        .as_str()
        .unwrap()
        .to_string();
    let org = organizations::Entity::find_by_id(org_id.clone())
        .one(&s.state.db)
        .await
        .unwrap()
        .expect("org row");
    assert_eq!(
        org.personal_owner_id.as_ref().map(|id| id.as_str()),
        Some(user_id.as_str())
    );
    let members = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user_id.clone()))
        .all(&s.state.db)
        .await
        .unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].role, "owner");

    // Later sign-ins reuse it.
    let other = s.new_browser();
    sign_in(&s, &other, "dora@example.com", "correct horse battery").await;
    assert_eq!(
        get_session(&s, &other).await["session"]["activeOrganizationId"],
        org_id.as_str()
    );
    let orgs = organizations::Entity::find()
        .filter(organizations::Column::PersonalOwnerId.eq(user_id))
        .all(&s.state.db)
        .await
        .unwrap();
    assert_eq!(orgs.len(), 1);
}

#[tokio::test]
async fn cross_origin_sign_in_is_refused() {
    let s = TestServer::start().await;
    sign_up(
        &s,
        &s.new_browser(),
        "erin@example.com",
        "correct horse battery",
    )
    .await;
    let res = s
        .http
        .post(s.url(&format!("{API}/sign-in/email")))
        .header("Origin", "https://evil.example")
        .json(&json!({ "email": "erin@example.com", "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.headers().get("set-cookie").is_none());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "INVALID_ORIGIN");
    let same = s
        .http
        .post(s.url(&format!("{API}/sign-in/email")))
        .header("Origin", s.base.clone())
        .json(&json!({ "email": "erin@example.com", "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), 200);
}

#[tokio::test]
async fn https_issuer_gets_host_prefixed_secure_cookies() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let issuer = format!("https://localhost:{port}");
    let s = TestServer::start_with(vec![("PORTCULLIS_ISSUER", issuer.as_str())]).await;
    let res = s.http.post(s.url(&format!("{API}/sign-up/email")))
        .header("Origin", issuer.clone())
        .json(&json!({ "email": "fay@example.com", "password": "correct horse battery", "name": "Fay" }))
        .send().await.unwrap();
    assert_eq!(res.status(), 200);
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("__Host-portcullis_session="), "{cookie}");
    assert!(cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("Path=/"));
    assert!(!cookie.contains("Domain="));
}

#[tokio::test]
async fn a_sign_in_storm_neither_fails_nor_stalls_other_requests() {
    // Rate limits off for this one: it is about the password pool.
    let s = TestServer::start_with(vec![("PORTCULLIS_RATE_LIMIT__SIGN_IN", "100000")]).await;
    sign_up(&s, &s.http, "gus@example.com", "correct horse battery").await;
    let mut storm = Vec::new();
    for i in 0..200 {
        let (client, url) = (s.new_browser(), s.url(&format!("{API}/sign-in/email")));
        storm.push(tokio::spawn(async move {
            let password = if i % 2 == 0 {
                "correct horse battery"
            } else {
                "wrong password!"
            };
            client
                .post(url)
                .json(&json!({ "email": "gus@example.com", "password": password }))
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    // While 200 Argon2 checks queue on the bounded pool, other endpoints answer.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while s.state.passwords.in_flight() < 20 {
        assert!(
            std::time::Instant::now() < deadline,
            "the storm never reached the password pool"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let started = std::time::Instant::now();
    let health = s
        .new_browser()
        .get(s.url("/oauth2/jwks"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let quiet = started.elapsed();
    assert!(
        s.state.passwords.in_flight() > 0,
        "the storm is still running while JWKS answered"
    );
    let mut ok = 0;
    for t in storm {
        match t.await.unwrap().unwrap() {
            200 => ok += 1,
            401 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(ok, 100);
    assert!(
        quiet < std::time::Duration::from_secs(2),
        "JWKS took {quiet:?} during the storm"
    );
}

#[tokio::test]
async fn sign_in_is_rate_limited_per_address_and_account() {
    let s = TestServer::start().await;
    sign_up(&s, &s.http, "rl@example.com", "correct horse battery").await;
    let mut statuses = Vec::new();
    for _ in 0..11 {
        statuses.push(sign_in(&s, &s.new_browser(), "rl@example.com", "wrong password!").await);
    }
    assert!(statuses[..10].iter().all(|r| r.status() == 401));
    let limited = statuses.pop().unwrap();
    assert_eq!(limited.status(), 429);
    assert!(
        limited.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_eq!(code_of(limited).await, "TOO_MANY_REQUESTS");
    // A minute later the bucket has refilled.
    s.clock.advance(60);
    assert_eq!(
        sign_in(
            &s,
            &s.new_browser(),
            "rl@example.com",
            "correct horse battery"
        )
        .await
        .status(),
        200
    );
}

#[tokio::test]
async fn a_cross_origin_post_with_a_session_cookie_is_refused() {
    let s = TestServer::start().await;
    sign_up(&s, &s.http, "csrf@example.com", "correct horse battery").await;
    let res = s
        .http
        .post(s.url(&format!("{API}/sign-out")))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(code_of(res).await, "INVALID_ORIGIN");
    let res = s
        .http
        .post(s.url(&format!("{API}/change-email")))
        .header("Origin", "https://evil.example")
        .json(&serde_json::json!({ "newEmail": "attacker@evil.example" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let session: Value = get_session(&s, &s.http).await;
    assert_eq!(
        session["user"]["email"], "csrf@example.com",
        "nothing changed, still signed in"
    );
    // A trusted origin from AUTH_ALLOWED_ORIGINS may.
    let trusted =
        TestServer::start_with(vec![("AUTH_ALLOWED_ORIGINS", "https://app.example")]).await;
    sign_up(
        &trusted,
        &trusted.http,
        "ok@example.com",
        "correct horse battery",
    )
    .await;
    let res = trusted
        .http
        .post(trusted.url(&format!("{API}/sign-out")))
        .header("Origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}
