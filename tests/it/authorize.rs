//! The authorization endpoint (RFC 6749 §4.1.1, OIDC Core §3.1.2): which
//! redirect URIs it trusts, how errors go back, and when it asks to sign in
//! again.

use serde_json::Value;

use crate::flow::{self, ClientKind, Consent, authorize, follow, param};
use crate::harness::TestServer;

#[tokio::test]
async fn unregistered_redirect_uri_shows_a_page_and_never_redirects() {
    let s = TestServer::start().await;
    let c = flow::public_client(&s).await;
    let b = flow::signed_in(&s, "x@example.com").await;
    for redirect in [
        "https://evil.example/callback",
        "https://app.example/callback/",
        "https://app.example/callback?x=1",
    ] {
        let url = format!(
            "{}/oauth2/authorize?response_type=code&client_id={}&redirect_uri={}",
            s.base,
            c.id,
            urlenc(redirect)
        );
        let res = b.get(url).send().await.unwrap();
        assert_eq!(res.status(), 400, "{redirect}");
        assert!(res.headers().get("location").is_none());
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    }
    let res = b
        .get(format!(
            "{}/oauth2/authorize?response_type=code&client_id=nope",
            s.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("location").is_none());
}

fn urlenc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn authorization_errors_redirect_with_state_and_iss() {
    let s = TestServer::start().await;
    let c = flow::public_client(&s).await;
    let b = flow::signed_in(&s, "e@example.com").await;
    let no_pkce = authorize(&s, &c, &b, &[("state", "a b&c")], None).await;
    assert_eq!(param(&no_pkce, "error").as_deref(), Some("invalid_request"));
    assert_eq!(
        param(&no_pkce, "state").as_deref(),
        Some("a b&c"),
        "state echoed exactly"
    );
    assert_eq!(param(&no_pkce, "iss").as_deref(), Some(s.base.as_str()));

    let plain = authorize(
        &s,
        &c,
        &b,
        &[
            ("code_challenge", flow::VERIFIER),
            ("code_challenge_method", "plain"),
        ],
        None,
    )
    .await;
    assert_eq!(param(&plain, "error").as_deref(), Some("invalid_request"));
    assert!(
        param(&plain, "state").is_none(),
        "no state when none was sent"
    );

    let scope = authorize(
        &s,
        &c,
        &b,
        &[("scope", "openid admin")],
        Some(flow::VERIFIER),
    )
    .await;
    assert_eq!(param(&scope, "error").as_deref(), Some("invalid_scope"));

    let rt = follow(
        &s,
        &b,
        &flow::authorize_url(&s, &c, &[], Some(flow::VERIFIER))
            .replace("response_type=code", "response_type=token"),
        "",
        "allow",
    )
    .await;
    assert_eq!(
        param(&rt, "error").as_deref(),
        Some("unsupported_response_type")
    );

    let target = authorize(
        &s,
        &c,
        &b,
        &[("resource", "https://elsewhere.example/api")],
        Some(flow::VERIFIER),
    )
    .await;
    assert_eq!(param(&target, "error").as_deref(), Some("invalid_target"));
}

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required() {
    let s = TestServer::start().await;
    let c = flow::public_client(&s).await;
    let res = s
        .new_browser()
        .get(flow::authorize_url(
            &s,
            &c,
            &[("prompt", "none"), ("state", "s1")],
            Some(flow::VERIFIER),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let loc = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    assert!(loc.as_str().starts_with(&c.redirect));
    assert_eq!(param(&loc, "error").as_deref(), Some("login_required"));
    assert_eq!(param(&loc, "state").as_deref(), Some("s1"));
    assert_eq!(param(&loc, "iss").as_deref(), Some(s.base.as_str()));
}

#[tokio::test]
async fn no_session_goes_to_login_with_return_to() {
    let s = TestServer::start().await;
    let c = flow::public_client(&s).await;
    let res = s
        .new_browser()
        .get(flow::authorize_url(&s, &c, &[], Some(flow::VERIFIER)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let loc = res.headers()["location"].to_str().unwrap();
    assert!(
        loc.starts_with("/login?return_to=%2Foauth2%2Fauthorize%3F"),
        "{loc}"
    );
}

#[tokio::test]
async fn prompt_login_and_max_age_force_a_fresh_sign_in() {
    let s = TestServer::start().await;
    let c = flow::public_client(&s).await;
    let b = flow::signed_in(&s, "ml@example.com").await;
    assert!(
        param(
            &authorize(&s, &c, &b, &[], Some(flow::VERIFIER)).await,
            "code"
        )
        .is_some()
    );
    for extra in [("prompt", "login"), ("max_age", "0")] {
        s.clock.advance(5);
        let res = b
            .get(flow::authorize_url(&s, &c, &[extra], Some(flow::VERIFIER)))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{extra:?}");
        let loc = res.headers()["location"].to_str().unwrap().to_string();
        assert!(
            loc.starts_with("/login?") && loc.contains("prompt=login"),
            "{loc}"
        );
        // Signing in again completes the flow with a fresh auth_time.
        let back = follow(&s, &b, &s.url(&loc), "ml@example.com", "allow").await;
        let code = param(&back, "code").expect("code after re-authentication");
        let t: Value = flow::exchange(&s, &c, &code).await.json().await.unwrap();
        let claims: Value = flow::claims(t["id_token"].as_str().unwrap());
        assert!(
            claims["auth_time"].as_i64().unwrap() >= s.state.now() - 1,
            "{extra:?}"
        );
    }
}

#[tokio::test]
async fn a_forged_freshness_marker_does_not_skip_re_authentication() {
    let s = TestServer::start().await;
    let c = flow::public_client(&s).await;
    let b = flow::signed_in(&s, "forge@example.com").await;
    let now = s.state.now().to_string();
    for forged in ["0", now.as_str(), &format!("{now}.AAAA")] {
        let url = flow::authorize_url(
            &s,
            &c,
            &[("prompt", "login"), ("pc_auth_after", forged)],
            Some(flow::VERIFIER),
        );
        let res = b.get(url).send().await.unwrap();
        assert_eq!(res.status(), 303, "{forged}");
        assert!(
            res.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("/login?"),
            "{forged}"
        );
    }
}

#[tokio::test]
async fn a_request_without_scope_gets_the_clients_default_scope() {
    let s = TestServer::start().await;
    let c = flow::client(
        &s,
        ClientKind::Public,
        Consent::Asked,
        &["authorization_code", "refresh_token"],
        Some("openid mcp:tools"),
    )
    .await;
    let b = flow::signed_in(&s, "ds@example.com").await;
    let code = param(
        &authorize(&s, &c, &b, &[], Some(flow::VERIFIER)).await,
        "code",
    )
    .unwrap();
    let t: Value = flow::exchange(&s, &c, &code).await.json().await.unwrap();
    assert_eq!(t["scope"], "openid mcp:tools");
}

#[tokio::test]
async fn loopback_redirects_match_any_port() {
    let s = TestServer::start().await;
    let mut c = flow::public_client(&s).await;
    let b = flow::signed_in(&s, "l@example.com").await;
    c.redirect = "http://127.0.0.1:53682/cb".into();
    let back = authorize(&s, &c, &b, &[], Some(flow::VERIFIER)).await;
    assert!(back.as_str().starts_with("http://127.0.0.1:53682/cb?"));
    let code = param(&back, "code").unwrap();
    let res = flow::token(
        &s,
        &c,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:53682/cb"),
            ("code_verifier", flow::VERIFIER),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
}
