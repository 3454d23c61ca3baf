//! Passkeys over HTTP with a software authenticator (webauthn-authenticator-rs'
//! `SoftPasskey`): registration, usernameless sign-in (modal and autofill), a
//! cloned authenticator's counter, passkey-first sign-up, management, and the
//! `amr`/`acr` a passkey session gives.

use serde_json::{Value, json};
use url::Url;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{
    CreationChallengeResponse, PublicKeyCredential, RequestChallengeResponse,
};
use webauthn_rs_proto::{AllowCredentials, ResidentKeyRequirement};

use crate::flow::{self, ClientKind, Consent};
use crate::harness::{TestServer, get_json, get_text};

use crate::api::{API, post};

/// A software authenticator; it claims user verification (it has no PIN).
pub fn authenticator() -> SoftPasskey {
    SoftPasskey::new(true)
}

fn origin(s: &TestServer) -> Url {
    Url::parse(&s.base).unwrap()
}

/// What a resident (discoverable) key holds for an account: its credential
/// ID and the account's WebAuthn user handle.
pub struct Resident {
    pub id: Vec<u8>,
    pub user_handle: Vec<u8>,
}

/// Registers a passkey for the session on `b`, or a passkey-first sign-up for
/// `email`: the answer, and what the key now holds.
pub async fn register(
    s: &TestServer,
    b: &reqwest::Client,
    key: &mut SoftPasskey,
    email: Option<&str>,
) -> (u16, Value, Resident) {
    let body = email.map_or(json!({}), |e| json!({ "email": e }));
    let (status, options) = post(s, b, "passkey/register/options", body).await;
    assert_eq!(status, 200, "{options}");
    let ceremony = options["ceremony"].as_str().unwrap().to_string();
    let mut ccr: CreationChallengeResponse = serde_json::from_value(options).unwrap();
    let selection = ccr.public_key.authenticator_selection.as_mut().unwrap();
    assert_eq!(
        selection.resident_key,
        Some(ResidentKeyRequirement::Required),
        "sign-in is usernameless: only discoverable credentials"
    );
    assert!(selection.require_resident_key);
    // SoftPasskey cannot store a resident key; `sign` stands in for one.
    selection.require_resident_key = false;
    let user_handle = ccr.public_key.user.id.to_vec();
    let credential = key.do_registration(origin(s), ccr).unwrap();
    let id = credential.raw_id.to_vec();
    let (status, v) = post(
        s,
        b,
        "passkey/register",
        json!({ "ceremony": ceremony, "credential": credential, "name": "Test key" }),
    )
    .await;
    (status, v, Resident { id, user_handle })
}

/// Answers usernameless options as a resident key does: the authenticator
/// finds its credential for the RP and returns the user handle. (SoftPasskey
/// signs only for listed credentials and keeps no handle: both are added.)
pub fn sign(
    s: &TestServer,
    key: &mut SoftPasskey,
    resident: &Resident,
    mut options: RequestChallengeResponse,
) -> PublicKeyCredential {
    assert!(
        options.public_key.allow_credentials.is_empty(),
        "usernameless options"
    );
    options.public_key.allow_credentials = vec![AllowCredentials {
        type_: "public-key".into(),
        id: resident.id.clone(),
        transports: None,
    }];
    let mut assertion = key.do_authentication(origin(s), options).unwrap();
    assertion.response.user_handle = Some(resident.user_handle.clone());
    assertion
}

/// Options for a sign-in (with `email` typed in, or for autofill) and the ceremony.
pub async fn sign_in_options(
    s: &TestServer,
    b: &reqwest::Client,
    email: Option<&str>,
) -> (String, RequestChallengeResponse) {
    let body = email.map_or(json!({}), |e| json!({ "email": e }));
    let (status, options) = post(s, b, "passkey/authenticate/options", body).await;
    assert_eq!(status, 200, "{options}");
    let ceremony = options["ceremony"].as_str().unwrap().to_string();
    (ceremony, serde_json::from_value(options).unwrap())
}

pub async fn finish(
    s: &TestServer,
    b: &reqwest::Client,
    ceremony: &str,
    credential: &PublicKeyCredential,
) -> (u16, Value) {
    post(
        s,
        b,
        "passkey/authenticate",
        json!({ "ceremony": ceremony, "credential": credential }),
    )
    .await
}

async fn session_email(s: &TestServer, b: &reqwest::Client) -> Value {
    crate::api::get_session(s, b).await["user"]["email"].clone()
}

#[tokio::test]
async fn register_then_sign_in_usernameless_and_refuse_a_clone() {
    let s = TestServer::start().await;
    let email = "passkey@example.com";
    let b = flow::signed_in_verified(&s, email).await;
    let mut key = authenticator();
    let (status, registered, resident) = register(&s, &b, &mut key, None).await;
    assert_eq!(status, 200, "{registered}");
    assert_eq!(registered["name"], "Test key");

    // With the email typed in (a button press): the browser's modal chooser;
    // the options list no credentials, whatever the address.
    let signed_out = s.new_browser();
    let (ceremony, options) = sign_in_options(&s, &signed_out, Some(email)).await;
    assert!(options.mediation.is_none());
    let assertion = sign(&s, &mut key, &resident, options);
    let (status, v) = finish(&s, &signed_out, &ceremony, &assertion).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(session_email(&s, &signed_out).await, email);
    // The ceremony is gone once answered.
    let (status, v) = finish(&s, &signed_out, &ceremony, &assertion).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (400, Some("CEREMONY_EXPIRED"))
    );

    // Autofill (no email): conditional mediation; the authenticator picks
    // its credential and says whose it is.
    let other = s.new_browser();
    let (ceremony, options) = sign_in_options(&s, &other, None).await;
    assert_eq!(
        serde_json::to_value(&options).unwrap()["mediation"],
        "conditional"
    );
    let assertion = sign(&s, &mut key, &resident, options);
    let (status, v) = finish(&s, &other, &ceremony, &assertion).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(session_email(&s, &other).await, email);

    // A cloned authenticator: two assertions signed, the later one (higher
    // counter) lands first; the earlier one then shows a counter going back.
    let (c1, o1) = sign_in_options(&s, &other, Some(email)).await;
    let (c2, o2) = sign_in_options(&s, &other, Some(email)).await;
    let first = sign(&s, &mut key, &resident, o1);
    let second = sign(&s, &mut key, &resident, o2);
    let (status, _) = finish(&s, &other, &c2, &second).await;
    assert_eq!(status, 200);
    let (status, v) = finish(&s, &other, &c1, &first).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (401, Some("PASSKEY_COUNTER_ROLLBACK")),
        "{v}"
    );
    let listed: Value = get_json(&b, s.url(&format!("{API}/passkey/list-user-passkeys"))).await;
    // Four signatures were accepted (the refused one moved nothing).
    assert_eq!(listed[0]["counter"], 4, "{listed}");
}

#[tokio::test]
async fn passkey_first_sign_up_creates_the_account() {
    let s = TestServer::start().await;
    let b = s.new_browser();
    let mut key = authenticator();
    let (status, v, resident) = register(&s, &b, &mut key, Some("Fresh@Example.com")).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["user"]["email"], "fresh@example.com");
    assert_eq!(session_email(&s, &b).await, "fresh@example.com");
    let home = get_text(&b, s.url("/")).await;
    assert!(
        home.contains("<dt>Organisation</dt><dd>fresh"),
        "a personal organisation: {home}"
    );

    // Signed out and no email: nothing to register for.
    let (status, _) = post(&s, &s.new_browser(), "passkey/register/options", json!({})).await;
    assert_eq!(status, 400);
    // And the passkey signs the new account in.
    let c = s.new_browser();
    let (ceremony, options) = sign_in_options(&s, &c, Some("fresh@example.com")).await;
    let assertion = sign(&s, &mut key, &resident, options);
    assert_eq!(finish(&s, &c, &ceremony, &assertion).await.0, 200);
}

#[tokio::test]
async fn rename_delete_and_the_tokens_of_a_passkey_session() {
    let s = TestServer::start().await;
    let email = "manage@example.com";
    let b = flow::signed_in_verified(&s, email).await;
    let mut key = authenticator();
    let (status, registered, resident) = register(&s, &b, &mut key, None).await;
    assert_eq!(status, 200);
    let id = registered["id"].as_str().unwrap();

    // Another account cannot touch it.
    let stranger = flow::signed_in_verified(&s, "stranger@example.com").await;
    let (status, _) = post(
        &s,
        &stranger,
        "passkey/update-passkey",
        json!({ "id": id, "name": "mine" }),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = post(&s, &stranger, "passkey/delete-passkey", json!({ "id": id })).await;
    assert_eq!(status, 404);
    let (status, _) = post(
        &s,
        &b,
        "passkey/update-passkey",
        json!({ "id": id, "name": "Laptop" }),
    )
    .await;
    assert_eq!(status, 200);
    let listed: Value = get_json(&b, s.url(&format!("{API}/passkey/list-user-passkeys"))).await;
    assert_eq!(listed[0]["name"], "Laptop");

    // A passkey session is multi-factor and phishing-resistant.
    let pb = s.new_browser();
    let (ceremony, options) = sign_in_options(&s, &pb, Some(email)).await;
    let assertion = sign(&s, &mut key, &resident, options);
    assert_eq!(finish(&s, &pb, &ceremony, &assertion).await.0, 200);
    let c = flow::client(
        &s,
        ClientKind::Confidential,
        Consent::Skipped,
        &["authorization_code"],
        Some("openid"),
    )
    .await;
    let url = flow::follow(
        &s,
        &pb,
        &flow::authorize_url(
            &s,
            &c,
            &[("scope", "openid"), ("acr_values", "phr 2")],
            Some(flow::VERIFIER),
        ),
        email,
        "allow",
    )
    .await;
    let t: Value = flow::exchange(&s, &c, &flow::param(&url, "code").unwrap())
        .await
        .json()
        .await
        .unwrap();
    let idt = flow::claims(t["id_token"].as_str().unwrap());
    assert_eq!(idt["amr"], json!(["swk", "mfa"]));
    assert_eq!(idt["acr"], "phr");

    // Deleted: it no longer signs in.
    let (ceremony, options) = sign_in_options(&s, &pb, Some(email)).await;
    let assertion = sign(&s, &mut key, &resident, options);
    let (status, _) = post(&s, &b, "passkey/delete-passkey", json!({ "id": id })).await;
    assert_eq!(status, 200);
    let (status, v) = finish(&s, &s.new_browser(), &ceremony, &assertion).await;
    assert_eq!((status, v["code"].as_str()), (401, Some("INVALID_PASSKEY")));
}

#[tokio::test]
async fn the_sign_in_screen_loads_the_passkey_script() {
    let s = TestServer::start().await;
    let res = s.http.get(s.url("/login")).send().await.unwrap();
    // Under `no-referrer` browsers send `Origin: null` with the page's own form
    // POSTs and the origin check refuses them (found in Chromium).
    assert_eq!(res.headers()["referrer-policy"], "same-origin");
    let page = res.text().await.unwrap();
    assert!(page.contains("<meta name=\"referrer\" content=\"same-origin\">"));
    assert!(page.contains("autocomplete=\"username webauthn\""));
    assert!(page.contains("<script src=\"/static/js/passkey.js\""));
    let js = s
        .http
        .get(s.url("/static/js/passkey.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(
        js.text()
            .await
            .unwrap()
            .contains("mediation: \"conditional\"")
    );
}

#[tokio::test]
async fn adding_a_passkey_needs_a_fresh_verified_session() {
    let s = TestServer::start().await;
    let unverified = flow::signed_in(&s, "new@example.com").await;
    let (status, e) = post(&s, &unverified, "passkey/register/options", json!({})).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (403, Some("EMAIL_NOT_VERIFIED"))
    );
    let b = flow::signed_in_verified(&s, "old@example.com").await;
    s.clock.advance(301);
    let (status, e) = post(&s, &b, "passkey/register/options", json!({})).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (403, Some("SESSION_NOT_FRESH"))
    );
}

/// Someone signs up with another person's address using a passkey. The owner
/// resets the password from their mailbox: the squatter's passkey is gone,
/// and the squatter could not have added a second factor to lock them out.
#[tokio::test]
async fn a_password_reset_takes_a_squatted_account_back() {
    let s = TestServer::start().await;
    let squatter = s.new_browser();
    let mut key = authenticator();
    let victim = "victim@example.com";
    let (status, _, resident) = register(&s, &squatter, &mut key, Some(victim)).await;
    assert_eq!(status, 200);
    let (status, e) = post(&s, &squatter, "two-factor/enable", json!({})).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (403, Some("EMAIL_NOT_VERIFIED"))
    );
    let (ceremony, squatter_options) = sign_in_options(&s, &squatter, Some(victim)).await;
    let late = sign(&s, &mut key, &resident, squatter_options);

    let owner = s.new_browser();
    let (status, _) = post(&s, &owner, "forget-password", json!({ "email": victim })).await;
    assert_eq!(status, 200);
    // Mail 1 is the sign-up's verification mail; 2 is the reset.
    let link = crate::mail::mailed_link(&s, victim, 2, "/reset-password").await;
    let token = flow::param(&Url::parse(&link).unwrap(), "token").unwrap();
    let (status, _) = post(
        &s,
        &owner,
        "reset-password",
        json!({ "token": token, "password": flow::PASSWORD }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        session_email(&s, &squatter).await,
        Value::Null,
        "signed out"
    );
    let (status, v) = finish(&s, &squatter, &ceremony, &late).await;
    assert_eq!((status, v["code"].as_str()), (401, Some("INVALID_PASSKEY")));
    let res = crate::api::sign_in(&s, &owner, victim, flow::PASSWORD).await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["emailVerified"], true, "{body}");
}

/// Passkeys need the issuer on a domain name (the WebAuthn RP ID): under an
/// IP address every ceremony says so first, before any ceremony row is
/// taken or a credential looked up.
#[tokio::test]
async fn an_issuer_on_an_ip_address_has_no_passkeys_and_says_so_first() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let issuer = format!("http://127.0.0.1:{port}");
    let s =
        crate::harness::TestServer::start_with(vec![("PORTCULLIS_ISSUER", issuer.as_str())]).await;
    let b = s.new_browser();
    let credential = serde_json::json!({
        "id": "AAAA",
        "rawId": "AAAA",
        "response": {
            "authenticatorData": "AAAA",
            "clientDataJSON": "AAAA",
            "signature": "AAAA",
            "userHandle": null
        },
        "extensions": {},
        "type": "public-key"
    });
    for (path, body) in [
        ("passkey/authenticate/options", serde_json::json!({})),
        (
            "passkey/authenticate",
            serde_json::json!({ "ceremony": "no-such-ceremony", "credential": credential }),
        ),
    ] {
        let (status, err) = crate::api::post(&s, &b, path, body).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (501, Some("PASSKEYS_UNAVAILABLE")),
            "{path}: {err}"
        );
    }
}
