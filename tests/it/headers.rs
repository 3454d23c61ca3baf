//! Security headers of answers: HSTS with an https issuer, and the
//! `form-action` of the pages' CSP.

use crate::flow::{authorize_url, public_client, signed_in};
use crate::harness::TestServer;

fn header(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
}

#[tokio::test]
async fn every_answer_carries_hsts_when_the_issuer_is_https() {
    // The server still listens on plain http (TLS ends at a proxy).
    let s = TestServer::start_with(vec![("PORTCULLIS_ISSUER", "https://auth.example")]).await;
    for path in [
        "/healthz",
        "/oauth2/jwks",
        "/.well-known/openid-configuration",
        "/login",
        "/no-such-page",
    ] {
        let res = s.http.get(s.url(path)).send().await.unwrap();
        assert_eq!(
            header(&res, "strict-transport-security").as_deref(),
            Some("max-age=63072000"),
            "{path}"
        );
    }
    let res = s
        .http
        .post(s.url("/oauth2/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert!(header(&res, "strict-transport-security").is_some());
}

#[tokio::test]
async fn no_hsts_when_the_issuer_is_plain_http() {
    let s = TestServer::start().await;
    let res = s.http.get(s.url("/login")).send().await.unwrap();
    assert_eq!(header(&res, "strict-transport-security"), None);
}

fn form_action(res: &reqwest::Response) -> String {
    let csp = header(res, "content-security-policy").unwrap();
    csp.split(';')
        .map(str::trim)
        .find(|d| d.starts_with("form-action"))
        .unwrap_or_else(|| panic!("no form-action in {csp}"))
        .to_string()
}

#[tokio::test]
async fn pages_post_forms_to_this_origin_only() {
    let s = TestServer::start().await;
    for path in ["/login", "/signup", "/forgot-password", "/login/magic"] {
        let res = s.http.get(s.url(path)).send().await.unwrap();
        assert_eq!(form_action(&res), "form-action 'self'", "{path}");
    }
}

/// Browsers apply `form-action` to the redirects after a submission: the
/// consent page, and a sign-in page on the way to an authorization, allow
/// the client's registered redirect URI's origin, and no other.
#[tokio::test]
async fn the_consent_and_sign_in_pages_allow_the_redirect_to_the_client() {
    let s = TestServer::start().await;
    let c = public_client(&s).await;
    let b = signed_in(&s, "ada@example.com").await;
    let start = authorize_url(&s, &c, &[("scope", "openid")], Some(crate::flow::VERIFIER));
    let res = b.get(&start).send().await.unwrap();
    assert_eq!(res.status(), 200, "the consent screen");
    assert_eq!(form_action(&res), "form-action 'self' https://app.example");

    let return_to = start.strip_prefix(&s.base).unwrap().to_string();
    let login = |rt: String| {
        let b = s.new_browser();
        let url = s.url("/login");
        async move { b.get(url).query(&[("return_to", rt)]).send().await.unwrap() }
    };
    let res = login(return_to.clone()).await;
    assert_eq!(form_action(&res), "form-action 'self' https://app.example");
    // A redirect URI the client did not register widens nothing.
    let forged = return_to.replace("https%3A%2F%2Fapp.example", "https%3A%2F%2Fevil.example");
    assert_ne!(forged, return_to);
    let res = login(forged).await;
    assert_eq!(form_action(&res), "form-action 'self'");
    // A loopback redirect URI may use any port (RFC 8252 §7.3).
    let loopback = return_to.replace(
        "https%3A%2F%2Fapp.example%2Fcallback",
        "http%3A%2F%2F127.0.0.1%3A4567%2Fcb",
    );
    let res = login(loopback).await;
    assert_eq!(form_action(&res), "form-action 'self' http://127.0.0.1:*");
}

/// The logout confirmation's form redirects to the validated
/// `post_logout_redirect_uri`.
#[tokio::test]
async fn the_logout_confirmation_allows_the_redirect_to_the_client() {
    use portcullis::oauth::client::{NewClient, build_admin_client};
    let s = TestServer::start().await;
    let reg = build_admin_client(
        NewClient {
            name: "Logout App".into(),
            grant_types: vec!["authorization_code".into()],
            redirect_uris: vec!["https://app.example/callback".into()],
            post_logout_redirect_uris: vec!["https://bye.example/done".into()],
            ..Default::default()
        },
        s.state.now(),
    )
    .unwrap();
    let client_id = reg.client.id.clone();
    portcullis::store::clients::insert(&s.state.db, reg.row)
        .await
        .unwrap();
    let b = signed_in(&s, "leaving@example.com").await;
    let res = b
        .get(s.url("/oauth2/end_session"))
        .query(&[
            ("client_id", client_id.as_str()),
            ("post_logout_redirect_uri", "https://bye.example/done"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "asks first");
    assert_eq!(form_action(&res), "form-action 'self' https://bye.example");
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("action=\"/oauth2/end_session\"")
    );
}
