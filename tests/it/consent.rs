//! The consent screen: remembered, denied, skipped for trusted clients, and
//! answered only by the person it was shown to.

use crate::flow::{self, ClientKind, Consent, authorize, follow, param};
use crate::harness::{TestServer, get_text};

#[tokio::test]
async fn consent_is_remembered_denied_or_skipped_for_trusted_clients() {
    let s = TestServer::start().await;
    let c = flow::public_client(&s).await;
    let b = flow::signed_in(&s, "c@example.com").await;
    let denied = follow(
        &s,
        &b,
        &flow::authorize_url(&s, &c, &[("state", "d")], Some(flow::VERIFIER)),
        "",
        "deny",
    )
    .await;
    assert_eq!(param(&denied, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&denied, "state").as_deref(), Some("d"));

    let allowed = authorize(&s, &c, &b, &[], Some(flow::VERIFIER)).await;
    assert!(param(&allowed, "code").is_some());
    // Remembered: straight back with a code, no consent screen.
    let res = b
        .get(flow::authorize_url(&s, &c, &[], Some(flow::VERIFIER)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    // prompt=consent asks again.
    let res = b
        .get(flow::authorize_url(
            &s,
            &c,
            &[("prompt", "consent")],
            Some(flow::VERIFIER),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("action=\"/oauth2/consent\"")
    );

    let trusted = flow::client(
        &s,
        ClientKind::Public,
        Consent::Skipped,
        &["authorization_code"],
        None,
    )
    .await;
    let res = b
        .get(flow::authorize_url(&s, &trusted, &[], Some(flow::VERIFIER)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302, "trusted clients skip consent");
}

#[tokio::test]
async fn consent_needs_csrf_and_is_single_use() {
    let s = TestServer::start().await;
    let c = flow::public_client(&s).await;
    let b = flow::signed_in(&s, "k@example.com").await;
    let html = get_text(&b, flow::authorize_url(&s, &c, &[], Some(flow::VERIFIER))).await;
    let f = crate::html::form(&html, "/oauth2/consent");
    let id = f.get("consent_id").unwrap().to_string();
    let res = b
        .post(s.url("/oauth2/consent"))
        .form(&[
            ("consent_id", id.as_str()),
            ("decision", "allow"),
            ("csrf_token", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // Another user cannot answer it.
    let other = flow::signed_in(&s, "m@example.com").await;
    let other_html = get_text(&other, s.url("/")).await;
    let other_csrf = crate::html::form(&other_html, "/logout")
        .get("csrf_token")
        .unwrap()
        .to_string();
    let res = other
        .post(s.url("/oauth2/consent"))
        .form(&[
            ("consent_id", id.as_str()),
            ("decision", "allow"),
            ("csrf_token", other_csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("location").is_none());
}

/// The consent screen carries the checked request to its answer; a client an
/// administrator narrowed while the person read the screen does not get the
/// scope it no longer has (RFC 6749 §4.1.2.1 `invalid_scope`), and a request
/// whose meaning changed starts again instead of granting something unseen.
#[tokio::test]
async fn consent_answers_are_checked_against_the_client_as_it_is_now() {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};

    let s = TestServer::start().await;
    let c = flow::client(
        &s,
        ClientKind::Public,
        Consent::Asked,
        &["authorization_code"],
        Some("openid email"),
    )
    .await;
    let b = flow::signed_in(&s, "n@example.com").await;
    let narrow_to = |scope: &'static str| {
        let s = &s;
        let id = portcullis::domain::ids::ClientId::from(c.id.as_str());
        async move {
            let row = portcullis::store::clients::find(&s.state.db, &id)
                .await
                .unwrap()
                .unwrap();
            let mut metadata: serde_json::Value = serde_json::from_str(&row.metadata).unwrap();
            metadata["scope"] = scope.into();
            entities::clients::ActiveModel {
                id: Set(row.id.clone()),
                metadata: Set(metadata.to_string()),
                ..Default::default()
            }
            .update(&s.state.db)
            .await
            .unwrap();
            portcullis::oauth::client::forget(&s.state, &id).await;
        }
    };
    let answer = |b: &reqwest::Client, html: String| {
        let f = crate::html::form(&html, "/oauth2/consent");
        let form: Vec<(String, String)> = f
            .fields
            .into_iter()
            .filter(|(k, _)| k != "decision")
            .chain([("decision".to_string(), "allow".to_string())])
            .collect();
        b.post(s.url("/oauth2/consent")).form(&form).send()
    };

    // Asked for a scope the client loses before the answer: refused.
    let html = get_text(
        &b,
        flow::authorize_url(
            &s,
            &c,
            &[("scope", "openid email"), ("state", "x")],
            Some(flow::VERIFIER),
        ),
    )
    .await;
    narrow_to("openid").await;
    let res = answer(&b, html).await.unwrap();
    assert_eq!(res.status(), 303, "the answer goes back to the client");
    let to = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(param(&to, "error").as_deref(), Some("invalid_scope"));
    assert_eq!(param(&to, "state").as_deref(), Some("x"));
    assert!(param(&to, "code").is_none());

    // Asked for no scope (the client's whole scope, as the screen showed it):
    // once the client's scope changes, the same request means something else.
    narrow_to("openid email").await;
    let html = get_text(&b, flow::authorize_url(&s, &c, &[], Some(flow::VERIFIER))).await;
    narrow_to("openid").await;
    let res = answer(&b, html).await.unwrap();
    assert_eq!(
        res.status(),
        400,
        "start again: the screen showed another scope"
    );
    assert!(res.headers().get("location").is_none());
}
