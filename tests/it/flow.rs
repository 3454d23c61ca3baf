//! Driving the code flow as a browser would: follow redirects on our origin,
//! fill the sign-in form, answer the consent screen, stop at the client.

use portcullis::oauth::client::{NewClient, build_admin_client};
use url::Url;

use crate::harness::{Served, TestServer};
use crate::html::form;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestClient {
    pub id: String,
    pub secret: Option<String>,
    pub redirect: String,
}

/// Who holds the client's credentials (RFC 6749 §2.1): a public client has
/// no secret, a confidential one authenticates with one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    Public,
    Confidential,
}

/// Whether the person is asked before the client gets a code: skipped for
/// a client the administrator marked trusted (first-party).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    Asked,
    Skipped,
}

/// Registers a client the way `portcullis client create` does.
pub async fn client(
    s: &TestServer,
    kind: ClientKind,
    consent: Consent,
    grants: &[&str],
    scope: Option<&str>,
) -> TestClient {
    register(
        s,
        NewClient {
            grant_types: grants.iter().map(|g| g.to_string()).collect(),
            scope: scope.map(str::to_string),
            public: kind == ClientKind::Public,
            trusted: consent == Consent::Skipped,
            ..Default::default()
        },
    )
    .await
}

/// Registers `template` as `portcullis client create` does, named "Test App"
/// and redirecting to [`TestClient::redirect`] (and a loopback URI).
pub async fn register(s: &TestServer, template: NewClient) -> TestClient {
    let redirect = "https://app.example/callback".to_string();
    let reg = build_admin_client(
        NewClient {
            name: "Test App".into(),
            redirect_uris: vec![redirect.clone(), "http://127.0.0.1/cb".into()],
            ..template
        },
        s.state.now(),
    )
    .unwrap();
    portcullis::store::clients::insert(&s.state.db, reg.row)
        .await
        .unwrap();
    TestClient {
        id: reg.client.id.to_string(),
        secret: reg.secret,
        redirect,
    }
}

pub async fn public_client(s: &TestServer) -> TestClient {
    client(
        s,
        ClientKind::Public,
        Consent::Asked,
        &["authorization_code", "refresh_token"],
        None,
    )
    .await
}

pub async fn confidential_client(s: &TestServer) -> TestClient {
    client(
        s,
        ClientKind::Confidential,
        Consent::Asked,
        &["authorization_code", "refresh_token", "client_credentials"],
        None,
    )
    .await
}

/// A confidential client that may use only `client_credentials`: a service
/// acting for itself, registered with `scope` (the default when `None`).
pub async fn service_client(s: &TestServer, scope: Option<&str>) -> TestClient {
    client(
        s,
        ClientKind::Confidential,
        Consent::Asked,
        &["client_credentials"],
        scope,
    )
    .await
}

/// A browser signed in as `email` (the account is created).
pub async fn signed_in(s: &TestServer, email: &str) -> reqwest::Client {
    let b = s.new_browser();
    let res = crate::api::sign_up(s, &b, email, PASSWORD).await;
    assert_eq!(res.status(), 200);
    b
}

/// A browser signed in as `email`, whose address is verified (as adding
/// passkeys and second factors requires).
pub async fn signed_in_verified(s: &TestServer, email: &str) -> reqwest::Client {
    let b = signed_in(s, email).await;
    let (user, _) = portcullis::store::users::find_with_password(&s.state.db, email)
        .await
        .unwrap()
        .unwrap();
    assert!(
        portcullis::store::users::mark_verified(&s.state.db, &user.id, email, s.state.now())
            .await
            .unwrap()
    );
    portcullis::login::session::forget_user(&s.state, &user.id);
    b
}

/// Follows the flow from `start` until a redirect leaves our origin, signing
/// in with `email` if asked and answering consent with `decision`.
pub async fn follow(
    s: &impl Served,
    b: &reqwest::Client,
    start: &str,
    email: &str,
    decision: &str,
) -> Url {
    follow_with(s, b, start, email, decision, &|| {
        panic!("a second factor was asked for")
    })
    .await
}

/// As [`follow`], answering the second-factor screen with `code()`.
pub async fn follow_with(
    s: &impl Served,
    b: &reqwest::Client,
    start: &str,
    email: &str,
    decision: &str,
    code: &dyn Fn() -> String,
) -> Url {
    let mut res = b.get(start).send().await.unwrap();
    for _ in 0..10 {
        let status = res.status().as_u16();
        if matches!(status, 302 | 303) {
            let loc = res.headers()["location"].to_str().unwrap().to_string();
            if loc.starts_with('/') {
                res = b.get(s.url(&loc)).send().await.unwrap();
                continue;
            }
            return Url::parse(&loc).unwrap();
        }
        let html = res.text().await.unwrap();
        assert_eq!(status, 200, "unexpected page: {html}");
        if html.contains("action=\"/login/2fa\"") {
            let f = form(&html, "/login/2fa");
            res = b
                .post(s.url("/login/2fa"))
                .form(&f.fill(&[("code", &code())]))
                .send()
                .await
                .unwrap();
        } else if html.contains("action=\"/login\"") {
            let f = form(&html, "/login");
            res = b
                .post(s.url("/login"))
                .form(&f.fill(&[("email", email), ("password", PASSWORD)]))
                .send()
                .await
                .unwrap();
        } else if html.contains("action=\"/oauth2/consent\"") {
            let f = form(&html, "/oauth2/consent");
            assert!(f.get("consent_id").is_some_and(|v| v.len() >= 32));
            res = b
                .post(s.url("/oauth2/consent"))
                .form(&f.fill(&[("decision", decision)]))
                .send()
                .await
                .unwrap();
        } else {
            panic!("no form to fill: {html}");
        }
    }
    panic!("too many steps");
}

pub fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// An authorize URL with PKCE for `verifier`.
pub fn authorize_url(
    s: &impl Served,
    c: &TestClient,
    extra: &[(&str, &str)],
    verifier: Option<&str>,
) -> String {
    let mut u = Url::parse(&s.url("/oauth2/authorize")).unwrap();
    {
        let mut q = u.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", &c.id)
            .append_pair("redirect_uri", &c.redirect);
        if let Some(v) = verifier {
            q.append_pair("code_challenge", &challenge(v))
                .append_pair("code_challenge_method", "S256");
        }
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    u.to_string()
}

pub fn challenge(verifier: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        verifier.as_bytes(),
    ))
}

pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-0123456789";

/// POSTs to the token endpoint with the client's credentials (basic for
/// confidential clients, `client_id` for public ones).
pub async fn token(s: &impl Served, c: &TestClient, params: &[(&str, &str)]) -> reqwest::Response {
    let http = reqwest::Client::new();
    let mut form: Vec<(&str, &str)> = params.to_vec();
    let mut req = http.post(s.url("/oauth2/token"));
    match &c.secret {
        Some(secret) => req = req.basic_auth(&c.id, Some(secret)),
        None => form.push(("client_id", &c.id)),
    }
    req.form(&form).send().await.unwrap()
}

/// Runs the flow and exchanges the code: the token response JSON.
pub async fn tokens(s: &TestServer, c: &TestClient, email: &str, scope: &str) -> serde_json::Value {
    let b = signed_in(s, email).await;
    let url = follow(
        s,
        &b,
        &authorize_url(s, c, &[("scope", scope), ("state", "st")], Some(VERIFIER)),
        email,
        "allow",
    )
    .await;
    let code = param(&url, "code").expect("code");
    let res = token(
        s,
        c,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &c.redirect),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

pub async fn introspect(s: &TestServer, c: &TestClient, token: &str) -> serde_json::Value {
    let http = reqwest::Client::new();
    let mut req = http.post(s.url("/oauth2/introspect"));
    let mut form = vec![("token", token.to_string())];
    match &c.secret {
        Some(secret) => req = req.basic_auth(&c.id, Some(secret)),
        None => form.push(("client_id", c.id.clone())),
    }
    let res = req.form(&form).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// Exchanges a code issued with [`VERIFIER`] for `c.redirect`.
pub async fn exchange(s: &impl Served, c: &TestClient, code: &str) -> reqwest::Response {
    token(
        s,
        c,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &c.redirect),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

/// The claims of a compact JWT, unverified (the tests check what was issued).
pub fn claims(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).expect("a compact JWT");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

/// Authorize and return the redirect back to the client (already signed in
/// and consented where needed).
pub async fn authorize(
    s: &TestServer,
    c: &TestClient,
    b: &reqwest::Client,
    extra: &[(&str, &str)],
    verifier: Option<&str>,
) -> Url {
    follow(s, b, &authorize_url(s, c, extra, verifier), "", "allow").await
}
