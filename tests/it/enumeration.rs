//! Which addresses have an account here is not for the asking (issue 19):
//! sign-up, passkey sign-up, change-email, passkey sign-in options and
//! forgot-password answer alike for a taken address and a free one, and the
//! taken address's owner hears of the attempt by mail.

use serde_json::{Value, json};

use crate::api::{API, get_session, post, sign_in, sign_up};
use crate::flow;
use crate::harness::{TestServer, get_text};
use crate::mail::{forget, nth_mail, outbox};

/// A JSON answer with what must differ between two answers (ids, times,
/// challenges, the address itself) blanked: its shape and the rest.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let blank = matches!(
                        k.as_str(),
                        "id" | "createdAt"
                            | "updatedAt"
                            | "email"
                            | "name"
                            | "displayName"
                            | "challenge"
                            | "ceremony"
                    );
                    (k.clone(), if blank { json!("…") } else { shape(v) })
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(shape).collect()),
        other => other.clone(),
    }
}

/// The WebAuthn user handle the server derives from an account id (a public
/// construction, so an answer's id can be checked against its options).
fn user_handle_of(user_id: &str) -> Vec<u8> {
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        format!("webauthn-user-handle:{user_id}").as_bytes(),
    );
    digest.as_ref()[..16].to_vec()
}

/// Status, whether a session cookie is set, and the body's shape.
async fn answer(res: reqwest::Response) -> (u16, bool, Value) {
    let status = res.status().as_u16();
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("portcullis_session="));
    let body: Value = res.json().await.unwrap_or(Value::Null);
    (status, cookie, shape(&body))
}

async fn sign_up_answer(s: &TestServer, email: &str, password: &str) -> (u16, bool, Value) {
    answer(sign_up(s, &s.new_browser(), email, password).await).await
}

#[tokio::test]
async fn sign_up_answers_alike_for_a_taken_address_and_mails_its_owner() {
    let s = TestServer::start().await;
    sign_up(&s, &s.new_browser(), "taken@example.com", flow::PASSWORD).await;
    let taken = sign_up_answer(&s, "Taken@Example.com ", "another password").await;
    let free = sign_up_answer(&s, "free@example.com", "another password").await;
    assert_eq!(taken, free);
    assert_eq!(taken.0, 200);
    assert!(taken.1, "a session cookie either way");

    let notice = nth_mail(&s, "taken@example.com", 2).await;
    assert!(
        notice.contains("Subject: Someone tried to sign up with your address"),
        "{notice}"
    );
    assert!(notice.contains(&s.url("/login")));
    // Nothing changed on the taken account.
    assert_eq!(
        sign_in(
            &s,
            &s.new_browser(),
            "taken@example.com",
            "another password"
        )
        .await
        .status(),
        401
    );
    assert_eq!(
        sign_in(&s, &s.new_browser(), "taken@example.com", flow::PASSWORD)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn the_sign_up_screen_answers_alike_for_a_taken_address() {
    let s = TestServer::start().await;
    sign_up(&s, &s.new_browser(), "screen@example.com", flow::PASSWORD).await;
    let submit = |email: &'static str| {
        let s = &s;
        async move {
            let b = s.new_browser();
            let html = get_text(&b, s.url("/signup?return_to=/somewhere")).await;
            let f = crate::html::form(&html, "/signup");
            let res = b
                .post(s.url("/signup"))
                .form(&f.fill(&[
                    ("name", "Someone"),
                    ("email", email),
                    ("password", "another password"),
                ]))
                .send()
                .await
                .unwrap();
            let location = res.headers().get("location").cloned();
            let (status, cookie, _) = answer(res).await;
            (status, cookie, location)
        }
    };
    assert_eq!(
        submit("screen@example.com").await,
        submit("unused@example.com").await
    );
    nth_mail(&s, "screen@example.com", 2).await;
}

#[tokio::test]
async fn passkey_sign_up_answers_alike_for_a_taken_address() {
    use crate::passkeys::{authenticator, finish, register, sign, sign_in_options};
    let s = TestServer::start_with(vec![("PORTCULLIS_RATE_LIMIT__SIGN_UP", "100")]).await;
    sign_up(&s, &s.new_browser(), "haskey@example.com", flow::PASSWORD).await;
    let options = |email: &'static str| {
        let s = &s;
        async move {
            let (status, v) = post(
                s,
                &s.new_browser(),
                "passkey/register/options",
                json!({ "email": email }),
            )
            .await;
            (status, shape(&v))
        }
    };
    assert_eq!(
        options("haskey@example.com").await,
        options("nokey@example.com").await
    );

    let mut key = authenticator();
    let squatter = s.new_browser();
    let (status, taken, resident) =
        register(&s, &squatter, &mut key, Some("haskey@example.com")).await;
    let (free_status, free, free_resident) = register(
        &s,
        &s.new_browser(),
        &mut authenticator(),
        Some("newkey@example.com"),
    )
    .await;
    assert_eq!((status, shape(&taken)), (free_status, shape(&free)));
    // The user handle the options showed is derived from the account id the
    // answer gives (a public construction): a taken address's answer must
    // keep that relation too, or it tells the two apart.
    for (answer, resident) in [(&taken, &resident), (&free, &free_resident)] {
        let id = answer["user"]["id"].as_str().unwrap();
        assert_eq!(user_handle_of(id), resident.user_handle, "{answer}");
    }
    assert_eq!(status, 200);
    assert_eq!(taken["user"]["email"], "haskey@example.com");
    nth_mail(&s, "haskey@example.com", 2).await;
    // The key was not added to the account, and the answer's cookie opens nothing.
    assert_eq!(get_session(&s, &squatter).await, Value::Null);
    let b = s.new_browser();
    let (ceremony, options) = sign_in_options(&s, &b, Some("haskey@example.com")).await;
    let assertion = sign(&s, &mut key, &resident, options);
    let (status, v) = finish(&s, &b, &ceremony, &assertion).await;
    assert_eq!((status, v["code"].as_str()), (401, Some("INVALID_PASSKEY")));
}

#[tokio::test]
async fn change_email_answers_alike_for_a_taken_address() {
    let s = TestServer::start().await;
    sign_up(&s, &s.new_browser(), "owned@example.com", flow::PASSWORD).await;
    let b = flow::signed_in(&s, "mover@example.com").await;
    let taken = answer(
        b.post(s.url(&format!("{API}/change-email")))
            .json(&json!({ "newEmail": "owned@example.com" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let free = answer(
        b.post(s.url(&format!("{API}/change-email")))
            .json(&json!({ "newEmail": "moved@example.com" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(taken, free);
    assert_eq!(taken.0, 200);
    let notice = nth_mail(&s, "owned@example.com", 2).await;
    assert!(notice.contains("Subject: Someone tried to sign up with your address"));
    assert_eq!(
        get_session(&s, &b).await["user"]["email"],
        "moved@example.com"
    );
}

#[tokio::test]
async fn passkey_sign_in_options_say_nothing_about_the_address() {
    use crate::passkeys::{authenticator, register};
    let s = TestServer::start().await;
    let with_key = flow::signed_in_verified(&s, "withkey@example.com").await;
    let (status, _, _) = register(&s, &with_key, &mut authenticator(), None).await;
    assert_eq!(status, 200);
    flow::signed_in(&s, "nokey@example.com").await;
    let options = |email: &'static str| {
        let s = &s;
        async move {
            let (status, v) = post(
                s,
                &s.new_browser(),
                "passkey/authenticate/options",
                json!({ "email": email }),
            )
            .await;
            (status, shape(&v))
        }
    };
    let known = options("withkey@example.com").await;
    assert_eq!(known.0, 200);
    assert_eq!(known.1["publicKey"]["allowCredentials"], json!([]));
    for other in ["nokey@example.com", "nobody@example.com"] {
        assert_eq!(options(other).await, known, "{other}");
    }
}

#[tokio::test]
async fn forgot_password_writes_for_unknown_addresses_too() {
    use entities::one_time_tokens as ott;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let s = TestServer::start().await;
    sign_up(&s, &s.new_browser(), "known@example.com", flow::PASSWORD).await;
    let known = forget(&s, "known@example.com").await;
    let unknown = forget(&s, "unknown@example.com").await;
    assert_eq!(known.status(), unknown.status());
    assert_eq!(known.text().await.unwrap(), unknown.text().await.unwrap());
    let rows = |email: &'static str| {
        let db = s.state.db.clone();
        async move {
            ott::Entity::find()
                .filter(ott::Column::Email.eq(email))
                .filter(ott::Column::Kind.eq("reset-password"))
                .count(&db)
                .await
                .unwrap()
        }
    };
    assert_eq!(rows("known@example.com").await, 1);
    assert_eq!(rows("unknown@example.com").await, 1, "the same write");
    assert!(outbox(&s, "unknown@example.com").is_empty(), "but no mail");
}

#[tokio::test]
async fn sign_up_notices_to_an_owner_are_capped() {
    let s = TestServer::start_with(vec![("PORTCULLIS_RATE_LIMIT__SIGN_UP", "1000")]).await;
    sign_up(&s, &s.new_browser(), "bombed@example.com", flow::PASSWORD).await;
    for _ in 0..15 {
        let (status, _, _) = sign_up_answer(&s, "bombed@example.com", "another password").await;
        assert_eq!(status, 200, "the same answer past the cap");
    }
    // The verification mail, then ten notices (the per-account mail budget).
    nth_mail(&s, "bombed@example.com", 11).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(outbox(&s, "bombed@example.com").len(), 11);
}
