//! Clients that described themselves (dynamic registration, metadata
//! documents): their errors are not redirected before the user has met them,
//! and the screens show facts about them, not their claims.

use scraper::{Html, Selector};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::flow::{self, TestClient, VERIFIER, follow, param};
use crate::harness::{TestServer, error_of, get_text};

/// Registers a client the way anyone on the internet can (RFC 7591).
pub async fn register(s: &TestServer, metadata: Value) -> TestClient {
    let res = s
        .http
        .post(s.url("/oauth2/register"))
        .json(&metadata)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let v: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{v}");
    TestClient {
        id: v["client_id"].as_str().unwrap().to_string(),
        secret: v["client_secret"].as_str().map(str::to_string),
        redirect: v["redirect_uris"][0]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    }
}

/// A self-registered client that claims to be GitHub and sends codes to
/// evil.example.
pub fn claims_to_be_github() -> Value {
    json!({
        "client_name": "GitHub",
        "client_uri": "https://github.com",
        "logo_uri": "https://github.com/logo.png",
        "redirect_uris": ["https://evil.example/cb"],
        "post_logout_redirect_uris": ["https://evil.example/bye"],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
    })
}

/// The answer is a page of ours naming `error`, not a redirect.
async fn shown_here(res: reqwest::Response, error: &str) {
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("location").is_none(), "never redirected");
    let html = res.text().await.unwrap();
    assert!(html.contains(error), "{html}");
}

/// The text of every element matching `selector`, joined.
pub fn text(html: &str, selector: &str) -> String {
    let doc = Html::parse_document(html);
    let sel = Selector::parse(selector).unwrap();
    doc.select(&sel)
        .map(|e| e.text().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Serves one client metadata document at `http://127.0.0.1:<port>/client.json`,
/// built from its own URL, which is returned.
async fn serve_document(build: impl Fn(&str) -> Value) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let client_id = format!("http://127.0.0.1:{port}/client.json");
    let body = build(&client_id).to_string();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let _ = sock.read(&mut buf).await;
                let res = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(res.as_bytes()).await;
            });
        }
    });
    client_id
}

/// Points a stored client's name at `name`, as rows registered before names
/// were checked may hold.
async fn rename_stored(s: &TestServer, id: &str, name: &str) {
    use sea_orm::{ActiveModelTrait, ActiveValue, IntoActiveModel};
    let row =
        portcullis::store::clients::find(&s.state.db, &portcullis::domain::ids::ClientId::from(id))
            .await
            .unwrap()
            .unwrap();
    let mut am = row.into_active_model();
    am.name = ActiveValue::Set(name.to_string());
    am.update(&s.state.db).await.unwrap();
    portcullis::oauth::client::forget(&s.state, &portcullis::domain::ids::ClientId::from(id)).await;
}

#[tokio::test]
async fn a_self_registered_clients_errors_are_shown_here_until_the_user_has_approved_it() {
    let s = TestServer::start().await;
    let c = register(&s, claims_to_be_github()).await;
    let bogus = flow::authorize_url(
        &s,
        &c,
        &[("scope", "bogus"), ("state", "x")],
        Some(VERIFIER),
    );
    let silent = flow::authorize_url(&s, &c, &[("prompt", "none")], Some(VERIFIER));

    // Nobody signed in: no trip to evil.example, not even for prompt=none.
    shown_here(
        s.new_browser().get(&bogus).send().await.unwrap(),
        "invalid_scope",
    )
    .await;
    shown_here(
        s.new_browser().get(&silent).send().await.unwrap(),
        "login_required",
    )
    .await;

    // Signed in, but this user never approved the client.
    let b = flow::signed_in(&s, "meets@example.com").await;
    shown_here(b.get(&bogus).send().await.unwrap(), "invalid_scope").await;
    shown_here(b.get(&silent).send().await.unwrap(), "consent_required").await;

    // Denying on the consent screen, which named evil.example, goes back.
    let denied = follow(
        &s,
        &b,
        &flow::authorize_url(&s, &c, &[("state", "d")], Some(VERIFIER)),
        "",
        "deny",
    )
    .await;
    assert!(denied.as_str().starts_with("https://evil.example/cb?"));
    assert_eq!(param(&denied, "error").as_deref(), Some("access_denied"));

    // Once approved, errors follow RFC 6749 §4.1.2.1 again.
    let allowed = follow(
        &s,
        &b,
        &flow::authorize_url(&s, &c, &[], Some(VERIFIER)),
        "",
        "allow",
    )
    .await;
    assert!(param(&allowed, "code").is_some());
    let res = b.get(&bogus).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let loc = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    assert!(
        loc.as_str().starts_with("https://evil.example/cb?"),
        "{loc}"
    );
    assert_eq!(param(&loc, "error").as_deref(), Some("invalid_scope"));
    assert_eq!(param(&loc, "state").as_deref(), Some("x"));
}

#[tokio::test]
async fn a_metadata_document_client_is_shown_as_unverified_and_its_errors_stay_here() {
    let s =
        TestServer::start_with(vec![("PORTCULLIS_CLIENT_METADATA__ALLOW_LOOPBACK", "true")]).await;
    let client_id = serve_document(|id| {
        json!({
            "client_id": id,
            "client_name": "Doc\u{202E}Client",
            "client_uri": "https://github.com",
            "logo_uri": "https://github.com/logo.png",
            "redirect_uris": ["https://evil.example/cb"],
            "scope": "openid admin:all",
        })
    })
    .await;
    let c = TestClient {
        id: client_id,
        secret: None,
        redirect: "https://evil.example/cb".into(),
    };
    let bogus = flow::authorize_url(&s, &c, &[("scope", "bogus")], Some(VERIFIER));
    shown_here(
        s.new_browser().get(&bogus).send().await.unwrap(),
        "invalid_scope",
    )
    .await;

    let b = flow::signed_in(&s, "doc@example.com").await;
    // The document's admin:all is not offered here, so it was dropped.
    let greedy = flow::authorize_url(&s, &c, &[("scope", "openid admin:all")], Some(VERIFIER));
    shown_here(b.get(&greedy).send().await.unwrap(), "invalid_scope").await;

    let res = b
        .get(flow::authorize_url(&s, &c, &[], Some(VERIFIER)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert_eq!(text(&html, ".destination strong"), "evil.example");
    let mark = text(&html, ".unverified");
    assert!(
        mark.contains(&format!("Not verified by {}", s.base)),
        "{mark}"
    );
    assert!(
        mark.contains("127.0.0.1"),
        "where the description is published: {mark}"
    );
    assert!(text(&html, "h1").contains("\u{201c}DocClient\u{201d}"));
    assert!(!html.contains('\u{202E}'));
    assert!(!html.contains("github.com"), "{html}");
}

#[tokio::test]
async fn the_consent_screen_names_where_the_code_goes_not_what_the_client_claims() {
    let s = TestServer::start().await;
    let c = register(&s, claims_to_be_github()).await;
    let b = flow::signed_in(&s, "looks@example.com").await;
    let res = b
        .get(flow::authorize_url(&s, &c, &[], Some(VERIFIER)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert_eq!(text(&html, ".destination strong"), "evil.example");
    assert!(
        text(&html, "h1").contains("\u{201c}GitHub\u{201d}"),
        "the name is quoted"
    );
    let mark = text(&html, ".unverified");
    assert!(
        mark.contains(&format!("Not verified by {}", s.base)),
        "{mark}"
    );
    assert!(mark.contains("registered itself"), "{mark}");
    assert!(
        !html.contains("github.com"),
        "client_uri is not shown: {html}"
    );
    assert!(text(&html, "img").is_empty() && !html.contains("logo.png"));

    // An administrator's client is not marked, and names its own destination.
    let admin = flow::public_client(&s).await;
    let html = get_text(&b, flow::authorize_url(&s, &admin, &[], Some(VERIFIER))).await;
    assert_eq!(text(&html, ".destination strong"), "app.example");
    assert!(text(&html, ".unverified").is_empty());
}

#[tokio::test]
async fn client_names_reach_the_screens_without_direction_overrides() {
    let s = TestServer::start().await;
    // Refused when registered…
    let mut bad = claims_to_be_github();
    bad["client_name"] = json!("Evil\u{202E}moc.elgoog");
    let res = s
        .http
        .post(s.url("/oauth2/register"))
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(error_of(res).await, "invalid_client_metadata");

    // …and stripped from rows stored before names were checked.
    let c = register(&s, claims_to_be_github()).await;
    rename_stored(&s, &c.id, "Evil\u{202E}moc.elgoog\u{200B}").await;
    let b = flow::signed_in(&s, "names@example.com").await;
    let html = get_text(&b, flow::authorize_url(&s, &c, &[], Some(VERIFIER))).await;
    assert!(text(&html, "h1").contains("\u{201c}Evilmoc.elgoog\u{201d}"));
    assert!(!html.contains('\u{202E}') && !html.contains('\u{200B}'));

    // The device screen: no redirect host to name, and not client_uri either.
    let mut device = claims_to_be_github();
    device["grant_types"] = json!(["urn:ietf:params:oauth:grant-type:device_code"]);
    device["redirect_uris"] = json!([]);
    let d = register(&s, device).await;
    rename_stored(&s, &d.id, "TV\u{202E}ffo").await;
    let started: Value = reqwest::Client::new()
        .post(s.url("/oauth2/device_authorization"))
        .form(&[("client_id", d.id.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let user_code = started["user_code"].as_str().unwrap();
    let res = b
        .get(s.url("/device"))
        .query(&[("user_code", user_code)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(text(&html, "h1").contains("\u{201c}TVffo\u{201d}"));
    assert!(!html.contains('\u{202E}'));
    assert!(!html.contains("github.com"), "{html}");
    assert!(text(&html, ".unverified").contains("Not verified by"));
    assert!(text(&html, "p.host").contains("device or command line"));
}
