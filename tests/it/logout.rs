//! RP-Initiated Logout at `/oauth2/end_session`: who may send the browser
//! where, and when a GET may sign anyone out.

use portcullis::oauth::client::{NewClient, build_admin_client};
use serde_json::Value;

use crate::api::get_session;
use crate::flow::{self, TestClient, VERIFIER, authorize, follow, param};
use crate::harness::TestServer;
use crate::html::form;
use crate::self_described::{claims_to_be_github, register, text};

/// Signs `email` in and through the code flow of `c`: the browser and the
/// ID token it got.
async fn signed_in_through(
    s: &TestServer,
    c: &TestClient,
    email: &str,
) -> (reqwest::Client, String) {
    let b = flow::signed_in(s, email).await;
    let back = follow(
        s,
        &b,
        &flow::authorize_url(s, c, &[("scope", "openid")], Some(VERIFIER)),
        "",
        "allow",
    )
    .await;
    let code = param(&back, "code").expect("code");
    let t: Value = flow::exchange(s, c, &code).await.json().await.unwrap();
    (b, t["id_token"].as_str().unwrap().to_string())
}

async fn signed_in_as(s: &TestServer, b: &reqwest::Client) -> Option<String> {
    let v: Value = get_session(s, b).await;
    v["user"]["email"].as_str().map(str::to_string)
}

async fn end_session(b: &reqwest::Client, s: &TestServer, q: &[(&str, &str)]) -> reqwest::Response {
    b.get(s.url("/oauth2/end_session"))
        .query(q)
        .send()
        .await
        .unwrap()
}

/// Presses the confirmation page's button.
async fn confirm(s: &TestServer, b: &reqwest::Client, page: &str) -> reqwest::Response {
    let f = form(page, "/oauth2/end_session");
    assert_eq!(f.method, "post");
    assert!(f.get("csrf_token").is_some_and(|t| !t.is_empty()));
    b.post(s.url("/oauth2/end_session"))
        .form(&f.fields)
        .send()
        .await
        .unwrap()
}

/// An administrator's client with a post-logout redirect URI.
async fn admin_client(s: &TestServer) -> TestClient {
    let reg = build_admin_client(
        NewClient {
            name: "Admin App".into(),
            redirect_uris: vec!["https://app.example/callback".into()],
            post_logout_redirect_uris: vec!["https://app.example/bye".into()],
            public: true,
            ..Default::default()
        },
        s.state.now(),
    )
    .unwrap();
    portcullis::store::clients::insert(&s.state.db, reg.row)
        .await
        .unwrap();
    TestClient {
        id: reg.client.id.to_string(),
        secret: None,
        redirect: "https://app.example/callback".into(),
    }
}

#[tokio::test]
async fn a_hint_for_this_session_signs_out_and_returns_to_the_client_with_state() {
    let s = TestServer::start().await;
    let c = register(&s, claims_to_be_github()).await;
    let (b, hint) = signed_in_through(&s, &c, "bye@example.com").await;
    // Expired ID tokens are still good hints (RP-Initiated Logout §2).
    s.clock.advance(2 * 3600);
    let res = end_session(
        &b,
        &s,
        &[
            ("id_token_hint", hint.as_str()),
            ("post_logout_redirect_uri", "https://evil.example/bye"),
            ("state", "s1"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        "https://evil.example/bye?state=s1"
    );
    assert_eq!(signed_in_as(&s, &b).await, None);
}

#[tokio::test]
async fn without_a_hint_a_self_registered_client_never_gets_the_browser_back() {
    let s = TestServer::start().await;
    let c = register(&s, claims_to_be_github()).await;
    let q = [
        ("client_id", c.id.as_str()),
        ("post_logout_redirect_uri", "https://evil.example/bye"),
        ("state", "s2"),
    ];
    // Nobody signed in: a link through us to evil.example goes nowhere.
    let res = end_session(&s.new_browser(), &s, &q).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("location").is_none());

    // Signed in: asked first, still signed in until the POST, and then left here.
    let (b, _) = signed_in_through(&s, &c, "stay@example.com").await;
    let res = end_session(&b, &s, &q).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("location").is_none());
    let page = res.text().await.unwrap();
    assert!(text(&page, "h1").contains("Sign out of Portcullis?"));
    assert!(!page.contains("evil.example"), "{page}");
    assert_eq!(
        signed_in_as(&s, &b).await.as_deref(),
        Some("stay@example.com")
    );
    let res = confirm(&s, &b, &page).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("location").is_none());
    assert_eq!(signed_in_as(&s, &b).await, None);
}

#[tokio::test]
async fn an_admin_clients_logout_uri_is_followed_after_the_user_confirms() {
    let s = TestServer::start().await;
    let c = admin_client(&s).await;
    let q = [
        ("client_id", c.id.as_str()),
        ("post_logout_redirect_uri", "https://app.example/bye"),
        ("state", "s3"),
    ];
    let (b, _) = signed_in_through(&s, &c, "admin-app@example.com").await;
    let res = end_session(&b, &s, &q).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert_eq!(text(&page, ".destination strong"), "app.example");
    assert!(signed_in_as(&s, &b).await.is_some());
    let res = confirm(&s, &b, &page).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        "https://app.example/bye?state=s3"
    );
    assert_eq!(signed_in_as(&s, &b).await, None);

    // Nobody signed in and no hint: a button, not a redirect.
    let res = end_session(&s.new_browser(), &s, &q).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("location").is_none());
}

#[tokio::test]
async fn a_hint_issued_to_another_client_is_refused() {
    let s = TestServer::start().await;
    let a = register(&s, claims_to_be_github()).await;
    let mut other = claims_to_be_github();
    other["redirect_uris"] = serde_json::json!(["https://other.example/cb"]);
    other["post_logout_redirect_uris"] = serde_json::json!(["https://other.example/bye"]);
    let b_client = register(&s, other).await;
    let (b, hint_for_a) = signed_in_through(&s, &a, "two@example.com").await;

    // The hint names client A; client_id names B.
    let res = end_session(
        &b,
        &s,
        &[
            ("id_token_hint", hint_for_a.as_str()),
            ("client_id", b_client.id.as_str()),
            ("post_logout_redirect_uri", "https://other.example/bye"),
        ],
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("location").is_none());
    // B's URI with A's hint.
    let res = end_session(
        &b,
        &s,
        &[
            ("id_token_hint", hint_for_a.as_str()),
            ("post_logout_redirect_uri", "https://other.example/bye"),
        ],
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("location").is_none());
    assert_eq!(
        signed_in_as(&s, &b).await.as_deref(),
        Some("two@example.com")
    );
}

#[tokio::test]
async fn an_id_token_without_sid_does_not_speak_for_the_session_of_a_self_registered_client() {
    let s = TestServer::start().await;
    let mut metadata = claims_to_be_github();
    metadata["grant_types"] = serde_json::json!([
        "authorization_code",
        "urn:ietf:params:oauth:grant-type:device_code"
    ]);
    let c = register(&s, metadata).await;
    let started = crate::device::start(&s, &c).await;
    let b = flow::signed_in(&s, "sidless@example.com").await;
    crate::device::answer(
        &s,
        &b,
        started["verification_uri_complete"].as_str().unwrap(),
        "allow",
    )
    .await;
    // Approved with no session on record, as rows from before sessions were
    // recorded with the approval: its ID token names none.
    {
        use entities::device_authorizations as d;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
        d::Entity::update_many()
            .col_expr(d::Column::SessionId, Expr::value(Option::<String>::None))
            .filter(d::Column::ClientId.eq(c.id.as_str()))
            .exec(&s.state.db)
            .await
            .unwrap();
    }
    let (status, t) = crate::device::poll(&s, &c, started["device_code"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{t}");
    let hint = t["id_token"].as_str().unwrap();
    assert!(flow::claims(hint)["sid"].is_null(), "no session behind it");
    // The same person's browser: still asked first, and never sent on.
    let res = end_session(
        &b,
        &s,
        &[
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", "https://evil.example/bye"),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("location").is_none());
    assert_eq!(
        signed_in_as(&s, &b).await.as_deref(),
        Some("sidless@example.com")
    );
}

#[tokio::test]
async fn end_session_with_a_hint_signs_out_and_redirects_only_to_registered_uris() {
    let s = TestServer::start().await;
    let c = flow::confidential_client(&s).await;
    // Register a post-logout URI for the client.
    let mut row = portcullis::store::clients::find(
        &s.state.db,
        &portcullis::domain::ids::ClientId::from(c.id.as_str()),
    )
    .await
    .unwrap()
    .unwrap();
    let mut meta: Value = serde_json::from_str(&row.metadata).unwrap();
    meta["post_logout_redirect_uris"] = serde_json::json!(["https://app.example/bye"]);
    row.metadata = meta.to_string();
    use sea_orm::{ActiveModelTrait, IntoActiveModel};
    let mut am = row.into_active_model();
    am.metadata = sea_orm::ActiveValue::Set(meta.to_string());
    am.update(&s.state.db).await.unwrap();

    let b = flow::signed_in(&s, "o@example.com").await;
    let code = param(
        &authorize(&s, &c, &b, &[("scope", "openid")], Some(flow::VERIFIER)).await,
        "code",
    )
    .unwrap();
    let t: Value = flow::exchange(&s, &c, &code).await.json().await.unwrap();
    let hint = t["id_token"].as_str().unwrap();

    let evil = b
        .get(s.url("/oauth2/end_session"))
        .query(&[
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", "https://evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(evil.status(), 400);
    assert!(evil.headers().get("location").is_none());

    let res = b
        .get(s.url("/oauth2/end_session"))
        .query(&[
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", "https://app.example/bye"),
            ("state", "s9"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        "https://app.example/bye?state=s9"
    );
    let session: Value = get_session(&s, &b).await;
    assert_eq!(session, Value::Null);

    // Without a hint the user is asked first.
    let b2 = flow::signed_in(&s, "o2@example.com").await;
    let res = b2.get(s.url("/oauth2/end_session")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("action=\"/oauth2/end_session\"")
    );
    let still: Value = get_session(&s, &b2).await;
    assert!(still.is_object());
}

#[tokio::test]
async fn someone_elses_id_token_hint_does_not_sign_you_out_silently() {
    let s = TestServer::start().await;
    let c = flow::confidential_client(&s).await;
    let attacker = flow::tokens(&s, &c, "mallory@example.com", "openid").await;
    let victim = flow::signed_in(&s, "victim@example.com").await;
    let res = victim
        .get(s.url("/oauth2/end_session"))
        .query(&[("id_token_hint", attacker["id_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "asks first");
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("action=\"/oauth2/end_session\"")
    );
    let still: Value = get_session(&s, &victim).await;
    assert_eq!(still["user"]["email"], "victim@example.com");
    // An access token is not an ID token hint.
    let res = victim
        .get(s.url("/oauth2/end_session"))
        .query(&[("id_token_hint", attacker["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}
