//! Signing in through an OpenID provider (issue 21), with a second Portcullis
//! as the upstream: a generic `[[oidc_providers]]` entry, Google and
//! Microsoft pointed at it; the ID token's nonce, issuer and lifetime are
//! checked, and an upstream that is down is a quick 502 page.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use serde_json::Value;
use url::Url;

use crate::api::{API, get_session};
use crate::github_fake::{
    identities, redirected, refused, sets_session, start_with_owned, user_count,
};
use crate::harness::{TestServer, get_json};
use crate::upstream::{
    ACME, ACME_NAME, Configured, Issuer, Setup, acme_toml, amr_downstream, at_upstream,
    at_upstream_with, codes_redeemed, federation, finish, link_social, sign_in_via_upstream, start,
    untouched, with_param,
};

#[tokio::test]
async fn a_generic_provider_signs_in_a_new_person_once_and_for_all() {
    let f = federation(Setup::new(Configured::Toml, "oidc@example.com")).await;
    let b = f.down.new_browser();
    let res = sign_in_via_upstream(&f, &b, Some("/after"), &untouched).await;
    assert!(sets_session(&res));
    assert_eq!(redirected(res).await, "/after");
    let session: Value = get_session(&f.down, &b).await;
    assert_eq!(session["user"]["email"], "oidc@example.com");
    assert_eq!(session["user"]["emailVerified"], true);
    assert!(session["session"]["activeOrganizationId"].is_string());
    let user_id = session["user"]["id"].as_str().unwrap().to_string();
    assert_eq!(amr_downstream(&f.down, &b).await, ["fed"]);

    let upstream_sub = crate::github_fake::account(&f.up, f.email)
        .await
        .unwrap()
        .0
        .id
        .to_string();
    let linked = identities(&f.down, ACME).await;
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0].subject, upstream_sub, "the upstream's sub");

    // Again in a new browser: the same person.
    let other = f.down.new_browser();
    let res = sign_in_via_upstream(&f, &other, None, &untouched).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        get_session(&f.down, &other).await["user"]["id"],
        user_id.as_str()
    );
    assert_eq!(user_count(&f.down).await, 1);

    let methods: Value = get_json(&f.down.http, f.down.url(&format!("{API}/login-methods"))).await;
    let providers = methods["providers"].as_array().unwrap();
    assert_eq!(providers.len(), 1, "{methods}");
    assert_eq!(providers[0]["id"], ACME);
    assert_eq!(providers[0]["name"], ACME_NAME);
    assert_eq!(providers[0]["type"], "oidc");
}

#[tokio::test]
async fn an_id_token_for_another_nonce_is_refused() {
    let f = federation(Setup::new(Configured::Toml, "nonce@example.com")).await;
    let b = f.down.new_browser();
    let tamper = |u: Url| with_param(u, "nonce", "a-nonce-we-never-sent-0123456789");
    let res = sign_in_via_upstream(&f, &b, None, &tamper).await;
    refused(res, 400).await;
    assert_eq!(codes_redeemed(&f.up).await, 1, "refused for the ID token");
    assert_eq!(get_session(&f.down, &b).await, Value::Null);
    assert_eq!(user_count(&f.down).await, 0);
    assert!(identities(&f.down, ACME).await.is_empty());
}

/// The configured issuer must be the one discovery names (OIDC Discovery
/// §4.3): `http://127.0.0.1:<port>` serves the document of
/// `http://localhost:<port>`.
#[tokio::test]
async fn an_issuer_that_discovery_does_not_confirm_is_refused_at_the_start() {
    let mut setup = Setup::new(Configured::Toml, "iss@example.com");
    setup.issuer = Issuer::ByAddress;
    let f = federation(setup).await;
    let b = f.down.new_browser();
    let res = b
        .get(f.down.url(&format!("{API}/sign-in/{ACME}")))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    assert!(
        status == 400 || status == 502,
        "a refusal page, got {status}"
    );
    assert!(res.headers().get("location").is_none());
    refused(res, status).await;
}

/// An authorization response naming another issuer (RFC 9207, mix-up) is
/// refused before its code is redeemed.
#[tokio::test]
async fn a_callback_naming_another_issuer_is_refused() {
    let f = federation(Setup::new(Configured::Toml, "mixup@example.com")).await;
    let b = f.down.new_browser();
    let to = start(&f, &b, None).await;
    let back = at_upstream(&f, &to).await;
    let mixed = with_param(back, "iss", "https://evil.example");
    refused(b.get(mixed).send().await.unwrap(), 400).await;
    assert_eq!(
        codes_redeemed(&f.up).await,
        0,
        "the code was not sent anywhere"
    );
    assert_eq!(get_session(&f.down, &b).await, Value::Null);
    assert_eq!(user_count(&f.down).await, 0);
}

/// The upstream's clock two hours behind when it issues the ID token: its
/// `exp` is an hour past.
#[tokio::test]
async fn an_expired_id_token_is_refused() {
    let f = federation(Setup::new(Configured::Toml, "expired@example.com")).await;
    let b = f.down.new_browser();
    let to = start(&f, &b, None).await;
    let back = at_upstream(&f, &to).await;
    f.up.clock.advance(-7200);
    refused(b.get(back).send().await.unwrap(), 400).await;
    assert_eq!(codes_redeemed(&f.up).await, 1, "refused for the ID token");
    assert_eq!(get_session(&f.down, &b).await, Value::Null);
    assert_eq!(user_count(&f.down).await, 0);
}

async fn named_provider_signs_in(configured: Configured, email: &'static str) {
    let f = federation(Setup::new(configured, email)).await;
    assert_eq!(f.provider, configured.id());
    let b = f.down.new_browser();
    let res = sign_in_via_upstream(&f, &b, Some("/home"), &untouched).await;
    assert_eq!(redirected(res).await, "/home");
    assert_eq!(get_session(&f.down, &b).await["user"]["email"], email);
    assert_eq!(identities(&f.down, configured.id()).await.len(), 1);
    let methods: Value = get_json(&f.down.http, f.down.url(&format!("{API}/login-methods"))).await;
    let ids: Vec<&str> = methods["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [configured.id()]);
}

#[tokio::test]
async fn google_can_be_pointed_at_any_issuer() {
    named_provider_signs_in(Configured::Google, "goo@example.com").await;
}

/// Microsoft's `email` claim proves nothing about the mailbox (only its
/// `xms_edov` claim does, which the upstream does not send): it makes no
/// account, but a signed-in person can connect it and then sign in with it.
#[tokio::test]
async fn microsoft_can_be_pointed_at_any_issuer() {
    let f = federation(Setup::new(Configured::Microsoft, "ms@example.com")).await;
    assert_eq!(f.provider, "microsoft");
    let stranger = f.down.new_browser();
    let page = refused(
        sign_in_via_upstream(&f, &stranger, None, &untouched).await,
        400,
    )
    .await;
    assert!(page.contains("Microsoft"), "{page}");
    assert_eq!(user_count(&f.down).await, 0);

    let b = crate::flow::signed_in(&f.down, "ms-local@example.com").await;
    let to = link_social(&f.down, &b, "microsoft").await;
    assert_eq!(redirected(finish(&f, &b, &to).await).await, "/settings");
    assert_eq!(identities(&f.down, "microsoft").await.len(), 1);
    let other = f.down.new_browser();
    redirected(sign_in_via_upstream(&f, &other, None, &untouched).await).await;
    assert_eq!(
        get_session(&f.down, &other).await["user"]["email"],
        "ms-local@example.com"
    );
}

/// Nothing listens where the provider should be: the sign-in's start (which
/// needs discovery) is a 502 page at once.
#[tokio::test]
async fn a_provider_that_does_not_answer_is_a_quick_502_page() {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("portcullis.toml");
    std::fs::write(
        &path,
        acme_toml(&format!("http://localhost:{port}"), "id", "secret"),
    )
    .unwrap();
    let s: TestServer = start_with_owned(&[
        ("PORTCULLIS_CONFIG".into(), path.display().to_string()),
        (
            "PORTCULLIS_CLIENT_METADATA__ALLOW_LOOPBACK".into(),
            "true".into(),
        ),
    ])
    .await;
    let began = Instant::now();
    let res = s
        .http
        .get(s.url(&format!("{API}/sign-in/{ACME}")))
        .send()
        .await
        .unwrap();
    assert!(began.elapsed() < Duration::from_secs(12));
    refused(res, 502).await;
}

/// The upstream goes down between sending the browser back and our code
/// exchange: a 502 page, quickly, and nobody signed in.
#[tokio::test]
async fn an_upstream_down_at_the_callback_is_a_quick_502_page() {
    let f = federation(Setup::new(Configured::Toml, "down@example.com")).await;
    let b = f.down.new_browser();
    let to = start(&f, &b, None).await;
    let back = at_upstream(&f, &to).await;
    f.up.stop().await;
    let began = Instant::now();
    let res = b.get(back).send().await.unwrap();
    assert!(began.elapsed() < Duration::from_secs(12));
    refused(res, 502).await;
    assert_eq!(get_session(&f.down, &b).await, Value::Null);
    assert_eq!(user_count(&f.down).await, 0);
}

#[tokio::test]
async fn an_address_the_upstream_did_not_verify_makes_no_account() {
    let mut setup = Setup::new(Configured::Toml, "unverified-up@example.com");
    setup.verified = false;
    let f = federation(setup).await;
    let b = f.down.new_browser();
    refused(sign_in_via_upstream(&f, &b, None, &untouched).await, 400).await;
    assert_eq!(get_session(&f.down, &b).await, Value::Null);
    assert_eq!(user_count(&f.down).await, 0);
    assert!(identities(&f.down, ACME).await.is_empty());
}

/// The downstream's `amr` after a sign-in at an upstream that asked for a
/// TOTP code, with Google's `trust_mfa` set to `trust`.
async fn amr_after_upstream_mfa(trust: bool) -> Vec<String> {
    let mut setup = Setup::new(Configured::Google, "mfa@example.com");
    setup
        .extra
        .push(("PORTCULLIS_GOOGLE__TRUST_MFA".into(), trust.to_string()));
    let f = federation(setup).await;
    let (secret, _) = crate::two_factor::enable(&f.up, &f.up_browser).await;
    // A fresh upstream browser: password, then the code.
    let up_b = f.up.new_browser();
    let b = f.down.new_browser();
    let to = start(&f, &b, None).await;
    let clock = f.up.clock.clone();
    let code = || {
        clock.advance(30);
        crate::two_factor::code_now(&f.up, &secret)
    };
    let back = at_upstream_with(&f, &up_b, &to, &code).await;
    redirected(b.get(back).send().await.unwrap()).await;
    let mut amr = amr_downstream(&f.down, &b).await;
    amr.sort();
    amr
}

#[tokio::test]
async fn the_upstreams_second_factor_counts_only_when_trusted() {
    assert_eq!(amr_after_upstream_mfa(true).await, ["fed", "mfa"]);
    assert_eq!(amr_after_upstream_mfa(false).await, ["fed"]);
}

/// A provider that promises `iss` in every response (RFC 9207 §3) and a
/// response without it: refused, the code not redeemed.
#[tokio::test]
async fn a_callback_without_the_promised_issuer_is_refused() {
    let f = federation(Setup::new(Configured::Toml, "noiss@example.com")).await;
    let b = f.down.new_browser();
    let to = start(&f, &b, None).await;
    let back = at_upstream(&f, &to).await;
    let mut stripped = back.clone();
    let kept: Vec<(String, String)> = back
        .query_pairs()
        .filter(|(k, _)| k != "iss")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    stripped.query_pairs_mut().clear().extend_pairs(kept);
    refused(b.get(stripped).send().await.unwrap(), 400).await;
    assert_eq!(
        codes_redeemed(&f.up).await,
        0,
        "the code was not sent anywhere"
    );
    assert_eq!(get_session(&f.down, &b).await, Value::Null);
}
