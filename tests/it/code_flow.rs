//! The authorization code flow end to end (RFC 6749 §4.1, OIDC Core §3.1):
//! a real relying party through the screens, and the code exchange's single
//! use, PKCE (RFC 7636) and lifetime.

use openidconnect::core::{CoreAuthenticationFlow, CoreClient};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IntrospectionUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenIntrospectionResponse,
    TokenResponse,
};
use serde_json::Value;

use crate::flow::{self, ClientKind, PASSWORD, TestClient, authorize, follow, param};
use crate::harness::{TestServer, error_of};
use crate::rp::{discover, http_for};

/// The `openidconnect` crate as relying party, through the real screens.
async fn relying_party_round_trip(kind: ClientKind) {
    let s = TestServer::start().await;
    let c: TestClient = match kind {
        ClientKind::Public => flow::public_client(&s).await,
        ClientKind::Confidential => flow::confidential_client(&s).await,
    };
    let http = http_for(&s);
    let metadata = discover(&s, &http).await;
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
    crate::api::sign_up(&s, &s.new_browser(), "rp@example.com", PASSWORD).await;
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
        if kind == ClientKind::Public {
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
    relying_party_round_trip(ClientKind::Public).await;
}

#[tokio::test]
async fn openidconnect_rp_confidential_client() {
    relying_party_round_trip(ClientKind::Confidential).await;
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
    assert_eq!(error_of(res).await, "invalid_grant");

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
    assert_eq!(error_of(res).await, "invalid_grant");
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
    assert_eq!(error_of(replay).await, "invalid_grant");
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
    assert_eq!(error_of(refresh).await, "invalid_grant");
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
    assert_eq!(error_of(res).await, "invalid_grant");
}

/// One authorization code exchanged three hundred times at once gets tokens
/// once (RFC 6749 §4.1.2): the store's conditional claim decides, and the
/// losers are `invalid_grant`.
#[tokio::test]
async fn a_code_exchanged_three_hundred_times_at_once_issues_tokens_once() {
    let s = TestServer::start().await;
    let c = flow::confidential_client(&s).await;
    let b = flow::signed_in(&s, "once@example.com").await;
    let to = authorize(
        &s,
        &c,
        &b,
        &[("scope", "openid offline_access")],
        Some(flow::VERIFIER),
    )
    .await;
    let code = param(&to, "code").unwrap();
    // One client (one connection pool) for all, as in token_policy.rs.
    let http = reqwest::Client::new();
    let secret = c.secret.clone().unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", c.redirect.as_str()),
        ("code_verifier", flow::VERIFIER),
    ];
    let answers = futures_util::future::join_all((0..300).map(|_| {
        http.post(s.url("/oauth2/token"))
            .basic_auth(&c.id, Some(&secret))
            .form(&form)
            .send()
    }))
    .await;
    let statuses: Vec<u16> = answers
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 400),
        "{statuses:?}"
    );
}
