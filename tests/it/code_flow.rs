use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IntrospectionUrl,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope,
    TokenIntrospectionResponse, TokenResponse,
};
use serde_json::Value;

use crate::flow::{self, PASSWORD, TestClient, follow, param};
use crate::harness::TestServer;
use crate::rp::http_client;

/// The `openidconnect` crate as relying party, through the real screens.
async fn relying_party_round_trip(public: bool) {
    let s = TestServer::start().await;
    let c: TestClient = if public {
        flow::public_client(&s).await
    } else {
        flow::confidential_client(&s).await
    };
    let http = http_client(
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .resolve("localhost", s.addr)
            .build()
            .unwrap(),
    );
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(s.base.clone()).unwrap(), &http)
            .await
            .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(c.id.clone()),
        c.secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(c.redirect.clone()).unwrap())
    .set_introspection_url(IntrospectionUrl::new(s.url("/oauth2/introspect")).unwrap());
    let (pkce, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(pkce)
        .url();

    // Not signed in: the screens ask for the password, then for consent.
    let browser = s.new_browser();
    crate::accounts::sign_up(&s, &s.new_browser(), "rp@example.com", PASSWORD).await;
    let back = follow(&s, &browser, url.as_str(), "rp@example.com", "allow").await;
    assert_eq!(
        param(&back, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    assert_eq!(
        param(&back, "iss").as_deref(),
        Some(s.base.as_str()),
        "RFC 9207 iss"
    );
    let code = param(&back, "code").unwrap();

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("id token");
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("the library validates the ID token");
    assert_eq!(claims.email().map(|e| e.as_str()), Some("rp@example.com"));
    let at_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&client.id_token_verifier()).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&at_hash));
    assert!(claims.auth_time().is_some());
    let raw: Value = flow::claims(&id_token.to_string());
    assert_eq!(raw["azp"], c.id.as_str());
    assert!(raw["sid"].is_string());
    assert_eq!(raw["amr"], serde_json::json!(["pwd"]));

    let info: openidconnect::core::CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.email().map(|e| e.as_str()), Some("rp@example.com"));

    // Public clients may not introspect (RFC 7662 §2.1): a resource server
    // asks for them.
    let resource_server = flow::register(
        &s,
        portcullis::oauth::client::NewClient {
            grant_types: vec!["client_credentials".into()],
            resource_server: true,
            // These tokens name no resource: their audience is the issuer.
            resources: vec![s.base.clone()],
            ..Default::default()
        },
    )
    .await;
    let introspect = async |token: &openidconnect::AccessToken| -> (bool, Option<String>) {
        if public {
            assert!(
                client.introspect(token).request_async(&http).await.is_err(),
                "a public client is refused"
            );
            let v = flow::introspect(&s, &resource_server, token.secret()).await;
            (
                v["active"].as_bool().unwrap(),
                v["client_id"].as_str().map(str::to_string),
            )
        } else {
            let v = client
                .introspect(token)
                .request_async(&http)
                .await
                .expect("introspection");
            (v.active(), v.client_id().map(|c| c.as_str().to_string()))
        }
    };
    assert_eq!(
        introspect(tokens.access_token()).await,
        (true, Some(c.id.clone()))
    );

    let refresh = tokens.refresh_token().expect("refresh token").clone();
    let refreshed = client
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    let rotated = refreshed
        .refresh_token()
        .expect("rotated refresh token")
        .clone();
    assert_ne!(rotated.secret(), refresh.secret());

    // openidconnect refuses a plain-http revocation URL, so revoke by hand.
    let mut form = vec![
        ("token", rotated.secret().clone()),
        ("token_type_hint", "refresh_token".to_string()),
    ];
    let mut revoke = reqwest::Client::new().post(s.url("/oauth2/revoke"));
    match &c.secret {
        Some(secret) => revoke = revoke.basic_auth(&c.id, Some(secret)),
        None => form.push(("client_id", c.id.clone())),
    }
    assert_eq!(revoke.form(&form).send().await.unwrap().status(), 200);
    assert!(
        client
            .exchange_refresh_token(&rotated)
            .unwrap()
            .request_async(&http)
            .await
            .is_err(),
        "revoked"
    );
    assert!(
        !introspect(refreshed.access_token()).await.0,
        "revoking the refresh token revokes its family's access tokens"
    );
}

#[tokio::test]
async fn openidconnect_rp_public_pkce_client() {
    relying_party_round_trip(true).await;
}

#[tokio::test]
async fn openidconnect_rp_confidential_client() {
    relying_party_round_trip(false).await;
}

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

/// Authorize and return the redirect back to the client (already signed in
/// and consented where needed).
async fn authorize(
    s: &TestServer,
    c: &TestClient,
    b: &reqwest::Client,
    extra: &[(&str, &str)],
    verifier: Option<&str>,
) -> url::Url {
    follow(
        s,
        b,
        &flow::authorize_url(s, c, extra, verifier),
        "",
        "allow",
    )
    .await
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

    let trusted = flow::client(&s, true, true, &["authorization_code"], None).await;
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
    let html = b
        .get(flow::authorize_url(&s, &c, &[], Some(flow::VERIFIER)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
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
    let other_html = other
        .get(s.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
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

#[tokio::test]
async fn pkce_wrong_verifier_and_downgrade_are_refused() {
    let s = TestServer::start().await;
    let c = flow::confidential_client(&s).await;
    let b = flow::signed_in(&s, "p@example.com").await;
    let code = param(
        &authorize(&s, &c, &b, &[], Some(flow::VERIFIER)).await,
        "code",
    )
    .unwrap();
    let wrong = "x".repeat(50);
    let res = flow::token(
        &s,
        &c,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &c.redirect),
            ("code_verifier", &wrong),
        ],
    )
    .await;
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_grant");

    // A code issued without a challenge (to a client exempted from PKCE): a
    // verifier is a downgrade.
    let exempt = flow::register(
        &s,
        portcullis::oauth::client::NewClient {
            grant_types: vec!["authorization_code".into()],
            pkce_optional: true,
            ..Default::default()
        },
    )
    .await;
    let code = param(&authorize(&s, &exempt, &b, &[], None).await, "code").unwrap();
    let res = flow::exchange(&s, &exempt, &code).await;
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_grant");
}

#[tokio::test]
async fn a_replayed_code_fails_and_revokes_what_it_issued() {
    let s = TestServer::start().await;
    let c = flow::confidential_client(&s).await;
    let b = flow::signed_in(&s, "r@example.com").await;
    let code = param(
        &authorize(
            &s,
            &c,
            &b,
            &[("scope", "openid offline_access")],
            Some(flow::VERIFIER),
        )
        .await,
        "code",
    )
    .unwrap();
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", c.redirect.as_str()),
        ("code_verifier", flow::VERIFIER),
    ];
    let first = flow::token(&s, &c, &exchange).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["cache-control"], "no-store");
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["token_type"], "Bearer");
    assert!(first["expires_in"].is_i64());
    assert_eq!(
        flow::introspect(&s, &c, first["access_token"].as_str().unwrap()).await["active"],
        true
    );

    let replay = flow::token(&s, &c, &exchange).await;
    assert_eq!(replay.status(), 400);
    assert!(
        replay.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(
        replay.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    assert_eq!(
        flow::introspect(&s, &c, first["access_token"].as_str().unwrap()).await["active"],
        false
    );
    let refresh = flow::token(
        &s,
        &c,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", first["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(
        refresh.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn codes_expire_after_sixty_seconds() {
    let s = TestServer::start().await;
    let c = flow::confidential_client(&s).await;
    let b = flow::signed_in(&s, "t@example.com").await;
    let code = param(
        &authorize(&s, &c, &b, &[], Some(flow::VERIFIER)).await,
        "code",
    )
    .unwrap();
    s.clock.advance(61);
    let res = flow::exchange(&s, &c, &code).await;
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_grant");
}

#[tokio::test]
async fn refresh_reuse_inside_the_window_repeats_and_after_it_revokes_the_family() {
    let s = TestServer::start().await;
    let c = flow::confidential_client(&s).await;
    let t = flow::tokens(&s, &c, "f@example.com", "openid offline_access").await;
    let rt1 = t["refresh_token"].as_str().unwrap().to_string();
    let refresh = |rt: String| {
        let (s, c) = (&s, &c);
        async move {
            flow::token(
                s,
                c,
                &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
            )
            .await
        }
    };
    let second: Value = refresh(rt1.clone()).await.json().await.unwrap();
    let retry: Value = refresh(rt1.clone()).await.json().await.unwrap();
    assert_eq!(
        second, retry,
        "a retry inside the window gets the same answer"
    );
    let rt2 = second["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rt2, rt1);

    s.clock.advance(11);
    let late = refresh(rt1.clone()).await;
    assert_eq!(late.status(), 400);
    assert_eq!(
        late.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    // The whole family is gone: the newest token and its access token too.
    assert_eq!(
        refresh(rt2).await.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    assert_eq!(
        flow::introspect(&s, &c, second["access_token"].as_str().unwrap()).await["active"],
        false
    );
}

#[tokio::test]
async fn concurrent_refreshes_inside_the_window_all_get_the_same_pair() {
    let s = TestServer::start().await;
    let c = flow::confidential_client(&s).await;
    let t = flow::tokens(&s, &c, "g@example.com", "openid offline_access").await;
    let rt = t["refresh_token"].as_str().unwrap().to_string();
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (url, id, secret, rt) = (
            s.url("/oauth2/token"),
            c.id.clone(),
            c.secret.clone().unwrap(),
            rt.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let res = reqwest::Client::new()
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", rt.as_str()),
                ])
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }));
    }
    let mut bodies = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, 200, "{body}");
        bodies.push(body);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "every caller got the same new pair"
    );
}

#[tokio::test]
async fn token_endpoint_errors_are_exact() {
    let s = TestServer::start().await;
    let c = flow::confidential_client(&s).await;
    let http = reqwest::Client::new();
    let res = http
        .post(s.url("/oauth2/token"))
        .basic_auth(&c.id, Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );

    let res = flow::token(
        &s,
        &c,
        &[
            ("grant_type", "password"),
            ("username", "a"),
            ("password", "b"),
        ],
    )
    .await;
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );

    let res = flow::token(
        &s,
        &c,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "openid admin"),
        ],
    )
    .await;
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_scope");

    let res = http
        .post(s.url("/oauth2/token"))
        .basic_auth(&c.id, c.secret.as_deref())
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"],
        "invalid_request",
        "JSON bodies are not form bodies"
    );

    let public = flow::public_client(&s).await;
    let res = flow::token(&s, &public, &[("grant_type", "client_credentials")]).await;
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"],
        "unauthorized_client"
    );
}

#[tokio::test]
async fn client_credentials_issue_rfc9068_access_tokens() {
    let s = TestServer::start().await;
    let c = flow::client(&s, false, false, &["client_credentials"], Some("mcp:tools")).await;
    // client_secret_post works as well as basic.
    let res = reqwest::Client::new()
        .post(s.url("/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", c.id.as_str()),
            ("client_secret", c.secret.as_deref().unwrap()),
            ("resource", &format!("{}/mcp", s.base)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let t: Value = res.json().await.unwrap();
    assert!(t.get("refresh_token").is_none() && t.get("id_token").is_none());
    assert_eq!(t["scope"], "mcp:tools");
    let at = t["access_token"].as_str().unwrap();
    let header: Value = serde_json::from_slice(&b64(at.split('.').next().unwrap())).unwrap();
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    let claims: Value = flow::claims(at);
    assert_eq!(claims["iss"], s.base.as_str());
    assert_eq!(claims["aud"], format!("{}/mcp", s.base));
    assert_eq!(claims["sub"], c.id.as_str());
    assert_eq!(claims["client_id"], c.id.as_str());
    for k in ["iat", "exp", "jti"] {
        assert!(claims.get(k).is_some(), "{k}");
    }
    let plain = flow::token(&s, &c, &[("grant_type", "client_credentials")])
        .await
        .json::<Value>()
        .await
        .unwrap();
    let claims: Value = flow::claims(plain["access_token"].as_str().unwrap());
    assert_eq!(
        claims["aud"],
        s.base.as_str(),
        "no resource: the issuer is the audience"
    );
}

fn b64(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
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

#[tokio::test]
async fn userinfo_needs_a_valid_bearer() {
    let s = TestServer::start().await;
    let c = flow::confidential_client(&s).await;
    let t = flow::tokens(&s, &c, "u@example.com", "openid email").await;
    let http = reqwest::Client::new();
    let ok: Value = http
        .get(s.url("/oauth2/userinfo"))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ok["email"], "u@example.com");
    assert!(ok.get("name").is_none(), "no profile scope, no name");
    let post: Value = http
        .post(s.url("/oauth2/userinfo"))
        .form(&[("access_token", t["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(post, ok);
    let res = http
        .get(s.url("/oauth2/userinfo"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    s.clock.advance(901);
    let res = http
        .get(s.url("/oauth2/userinfo"))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "expired");
}

#[tokio::test]
async fn introspection_is_client_authenticated_and_says_inactive_for_foreign_tokens() {
    let s = TestServer::start().await;
    let c = flow::confidential_client(&s).await;
    let other = flow::confidential_client(&s).await;
    let t = flow::tokens(&s, &c, "i@example.com", "openid offline_access").await;
    let res = reqwest::Client::new()
        .post(s.url("/oauth2/introspect"))
        .form(&[("token", t["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        flow::introspect(&s, &c, t["refresh_token"].as_str().unwrap()).await["active"],
        true
    );
    assert_eq!(
        flow::introspect(&s, &other, t["refresh_token"].as_str().unwrap()).await["active"],
        false,
        "another client's refresh token"
    );
    assert_eq!(
        flow::introspect(&s, &c, "garbage").await,
        serde_json::json!({"active": false})
    );
    s.clock.advance(901);
    assert_eq!(
        flow::introspect(&s, &c, t["access_token"].as_str().unwrap()).await["active"],
        false,
        "expired"
    );
}

#[tokio::test]
async fn revocation_answers_200_for_anything() {
    let s = TestServer::start().await;
    let c = flow::confidential_client(&s).await;
    let res = reqwest::Client::new()
        .post(s.url("/oauth2/revoke"))
        .basic_auth(&c.id, c.secret.as_deref())
        .form(&[("token", "not-a-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let t = flow::tokens(&s, &c, "v@example.com", "openid").await;
    let at = t["access_token"].as_str().unwrap();
    let res = reqwest::Client::new()
        .post(s.url("/oauth2/revoke"))
        .basic_auth(&c.id, c.secret.as_deref())
        .form(&[("token", at)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(flow::introspect(&s, &c, at).await["active"], false);
}

#[tokio::test]
async fn end_session_with_a_hint_signs_out_and_redirects_only_to_registered_uris() {
    let s = TestServer::start().await;
    let c = flow::confidential_client(&s).await;
    // Register a post-logout URI for the client.
    let mut row = portcullis::store::clients::find(&s.state.db, &c.id)
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
    let session: Value = b
        .get(s.url("/.auth/api/v1/auth/get-session"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
    let still: Value = b2
        .get(s.url("/.auth/api/v1/auth/get-session"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(still.is_object());
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
async fn discovery_lists_every_endpoint_and_capability() {
    let s = TestServer::start().await;
    let d: Value = s
        .http
        .get(s.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (k, path) in [
        ("authorization_endpoint", "/oauth2/authorize"),
        ("token_endpoint", "/oauth2/token"),
        ("userinfo_endpoint", "/oauth2/userinfo"),
        ("jwks_uri", "/oauth2/jwks"),
        ("registration_endpoint", "/oauth2/register"),
        ("introspection_endpoint", "/oauth2/introspect"),
        ("revocation_endpoint", "/oauth2/revoke"),
        ("end_session_endpoint", "/oauth2/end_session"),
    ] {
        assert_eq!(d[k], format!("{}{path}", s.base), "{k}");
    }
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
    for m in [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    ] {
        assert!(
            d["token_endpoint_auth_methods_supported"]
                .as_array()
                .unwrap()
                .contains(&Value::from(m))
        );
    }
    for g in ["authorization_code", "refresh_token", "client_credentials"] {
        assert!(
            d["grant_types_supported"]
                .as_array()
                .unwrap()
                .contains(&Value::from(g))
        );
    }
    assert!(
        d["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&Value::from("offline_access"))
    );
    assert!(
        d["claims_supported"]
            .as_array()
            .unwrap()
            .contains(&Value::from("email_verified"))
    );
}

#[tokio::test]
async fn a_request_without_scope_gets_the_clients_default_scope() {
    let s = TestServer::start().await;
    let c = flow::client(
        &s,
        true,
        false,
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
    let still: Value = victim
        .get(s.url("/.auth/api/v1/auth/get-session"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
