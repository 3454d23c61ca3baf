//! A fake of GitHub's OAuth app endpoints (wiremock): the token endpoint,
//! `GET /user` and `GET /user/emails`, answering as GitHub does, with the
//! user, the email list and a failure chosen by the test; and driving our
//! sign-in with it. GitHub's authorize screen is not served: the test reads
//! `state` from our redirect and calls our callback itself, as GitHub would
//! send the browser back.

use std::time::Duration;

use serde_json::{Value, json};
use url::Url;
use wiremock::matchers::{header_exists, header_regex, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::api::API;
use crate::flow::param;
use crate::harness::TestServer;

pub const CLIENT_ID: &str = "gh-client-id";
pub const CLIENT_SECRET: &str = "gh-client-secret";
/// The code GitHub "gives" the browser; any other is refused.
pub const CODE: &str = "gh-code-0123";
pub const ACCESS_TOKEN: &str = "gho_fake_access_token_0123";

/// What `/user/emails` lists.
#[derive(Clone, Debug)]
pub enum Emails {
    /// The primary address, verified (plus an unverified secondary).
    PrimaryVerified(String),
    /// The primary address, not verified.
    PrimaryUnverified(String),
    /// No address at all.
    None,
}

/// How the fake misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    None,
    /// The token endpoint answers GitHub's `200` with an `error` member.
    TokenError,
    /// `GET /user` answers `500`.
    UserServerError,
    /// The token endpoint answers after 15 s, past our 10 s upstream timeout.
    SlowToken,
}

/// The GitHub account the fake signs in.
#[derive(Clone, Debug)]
pub struct GithubUser {
    pub id: u64,
    pub login: String,
    pub name: String,
    pub emails: Emails,
}

impl GithubUser {
    /// `octo` (id 123) with `email` as its verified primary address.
    pub fn verified(email: &str) -> Self {
        Self::with(Emails::PrimaryVerified(email.into()))
    }

    pub fn with(emails: Emails) -> Self {
        GithubUser {
            id: 123,
            login: "octo".into(),
            name: "Octo Cat".into(),
            emails,
        }
    }
}

pub struct GithubFake {
    pub server: MockServer,
}

impl GithubFake {
    /// Starts the fake serving `user`, misbehaving as `failure` says.
    pub async fn start(user: &GithubUser, failure: Failure) -> Self {
        let server = MockServer::start().await;
        mount_token(&server, failure).await;
        mount_api(&server, user, failure).await;
        GithubFake { server }
    }

    /// The variables that point our server at this fake.
    pub fn env(&self) -> Vec<(String, String)> {
        let uri = self.server.uri();
        vec![
            ("GITHUB_CLIENT_ID".into(), CLIENT_ID.into()),
            ("GITHUB_CLIENT_SECRET".into(), CLIENT_SECRET.into()),
            (
                "PORTCULLIS_GITHUB__AUTHORIZE_URL".into(),
                format!("{uri}/login/oauth/authorize"),
            ),
            (
                "PORTCULLIS_GITHUB__TOKEN_URL".into(),
                format!("{uri}/login/oauth/access_token"),
            ),
            ("PORTCULLIS_GITHUB__API_URL".into(), uri),
            (
                "PORTCULLIS_CLIENT_METADATA__ALLOW_LOOPBACK".into(),
                "true".into(),
            ),
        ]
    }

    /// Our server, with GitHub pointed at this fake (and `extra`).
    pub async fn server(&self, extra: Vec<(String, String)>) -> TestServer {
        let mut env = self.env();
        env.extend(extra);
        start_with_owned(&env).await
    }

    /// The requests the fake received on `path`.
    pub async fn requests_to(&self, p: &str) -> Vec<wiremock::Request> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.url.path() == p)
            .collect()
    }
}

/// [`TestServer::start_with`] for owned pairs.
pub async fn start_with_owned(env: &[(String, String)]) -> TestServer {
    TestServer::start_with(env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()).await
}

/// GitHub's token endpoint: JSON when asked for it (`Accept:
/// application/json`), a form otherwise; a wrong code gets its `200` with
/// `error`, as GitHub answers.
async fn mount_token(server: &MockServer, failure: Failure) {
    let granted = json!({
        "access_token": ACCESS_TOKEN,
        "token_type": "bearer",
        "scope": "read:user,user:email",
    });
    let bad_code = json!({
        "error": "bad_verification_code",
        "error_description": "The code passed is incorrect or expired.",
        "error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code",
    });
    let answer = match failure {
        Failure::TokenError => ResponseTemplate::new(200).set_body_json(&bad_code),
        Failure::SlowToken => ResponseTemplate::new(200)
            .set_body_json(&granted)
            .set_delay(Duration::from_secs(15)),
        _ => ResponseTemplate::new(200).set_body_json(&granted),
    };
    Mock::given(method("POST"))
        .and(path("/login/oauth/access_token"))
        .and(header_regex("accept", "application/json"))
        .and(has_our_code)
        .respond_with(answer)
        .with_priority(1)
        .mount(server)
        .await;
    // Without `Accept: application/json` GitHub answers in a form.
    Mock::given(method("POST"))
        .and(path("/login/oauth/access_token"))
        .and(has_our_code)
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            format!(
                "access_token={ACCESS_TOKEN}&scope=read%3Auser%2Cuser%3Aemail&token_type=bearer"
            ),
            "application/x-www-form-urlencoded",
        ))
        .with_priority(5)
        .mount(server)
        .await;
    // Any other code: what GitHub says to those.
    Mock::given(method("POST"))
        .and(path("/login/oauth/access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&bad_code))
        .with_priority(10)
        .mount(server)
        .await;
}

/// Whether a token request's form carries [`CODE`].
fn has_our_code(r: &wiremock::Request) -> bool {
    url::form_urlencoded::parse(&r.body).any(|(k, v)| k == "code" && v == CODE)
}

/// `GET /user` and `GET /user/emails`, for our access token only (GitHub
/// takes `Bearer` or `token`) and only with a `User-Agent` (GitHub refuses
/// requests without one).
async fn mount_api(server: &MockServer, user: &GithubUser, failure: Failure) {
    let auth = format!("(?i)^(bearer|token) {ACCESS_TOKEN}$");
    let profile = if failure == Failure::UserServerError {
        ResponseTemplate::new(500).set_body_string("Internal Server Error")
    } else {
        ResponseTemplate::new(200).set_body_json(json!({
            "id": user.id,
            "login": user.login,
            "name": user.name,
            "email": null,
            "avatar_url": format!("https://avatars.githubusercontent.com/u/{}?v=4", user.id),
        }))
    };
    Mock::given(method("GET"))
        .and(path("/user"))
        .and(header_regex("authorization", &auth))
        .and(header_exists("user-agent"))
        .respond_with(profile)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/user/emails"))
        .and(header_regex("authorization", &auth))
        .and(header_exists("user-agent"))
        .respond_with(ResponseTemplate::new(200).set_body_json(emails_json(&user.emails)))
        .mount(server)
        .await;
    // Without the token (or a User-Agent): GitHub's refusal.
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "message": "Requires authentication",
            "documentation_url": "https://docs.github.com/rest",
        })))
        .with_priority(10)
        .mount(server)
        .await;
}

fn emails_json(emails: &Emails) -> Value {
    let entry = |email: &str, primary: bool, verified: bool| json!({ "email": email, "primary": primary, "verified": verified, "visibility": "public" });
    match emails {
        Emails::PrimaryVerified(e) => json!([
            entry("octo-old@users.example", false, false),
            entry(e, true, true),
        ]),
        Emails::PrimaryUnverified(e) => json!([entry(e, true, false)]),
        Emails::None => json!([]),
    }
}

/// Our callback URL for `provider`.
pub fn callback_url(s: &TestServer, provider: &str) -> String {
    s.url(&format!("{API}/callback/{provider}"))
}

/// Starts a GitHub sign-in on `b` (`callbackURL` = `callback` when given):
/// checks our redirect to GitHub and returns it.
pub async fn start(s: &TestServer, b: &reqwest::Client, callback: Option<&str>) -> Url {
    let mut u = Url::parse(&s.url(&format!("{API}/sign-in/github"))).unwrap();
    if let Some(cb) = callback {
        u.query_pairs_mut().append_pair("callbackURL", cb);
    }
    let res = b.get(u).send().await.unwrap();
    let to = Url::parse(&redirected(res).await).expect("an absolute URL at GitHub");
    assert_eq!(to.path(), "/login/oauth/authorize", "{to}");
    assert_eq!(param(&to, "client_id").as_deref(), Some(CLIENT_ID));
    assert_eq!(
        param(&to, "redirect_uri"),
        Some(callback_url(s, "github")),
        "{to}"
    );
    assert!(param(&to, "state").is_some_and(|v| v.len() >= 20), "{to}");
    assert!(
        param(&to, "code_challenge").is_some_and(|v| v.len() == 43),
        "an S256 challenge is 43 characters: {to}"
    );
    assert_eq!(param(&to, "code_challenge_method").as_deref(), Some("S256"));
    assert!(
        param(&to, "scope").is_some_and(|v| v.contains("user:email")),
        "{to}"
    );
    to
}

/// GETs our GitHub callback on `b` with `query`.
pub async fn callback(
    s: &TestServer,
    b: &reqwest::Client,
    query: &[(&str, &str)],
) -> reqwest::Response {
    let mut u = Url::parse(&callback_url(s, "github")).unwrap();
    u.query_pairs_mut().extend_pairs(query);
    b.get(u).send().await.unwrap()
}

/// A whole GitHub sign-in on `b`: our redirect to GitHub, then GitHub's
/// redirect back with [`CODE`] and the state; our callback's answer.
pub async fn sign_in(
    s: &TestServer,
    b: &reqwest::Client,
    callback: Option<&str>,
) -> reqwest::Response {
    let to = start(s, b, callback).await;
    let state = param(&to, "state").unwrap();
    self::callback(s, b, &[("code", CODE), ("state", &state)]).await
}

/// Asserts `res` is a refusal page: `status`, HTML, a link back to /login;
/// returns the page.
pub async fn refused(res: reqwest::Response, status: u16) -> String {
    assert_eq!(res.status(), status, "{}", res.url());
    let session_set = sets_session(&res);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = res.text().await.unwrap();
    assert!(!session_set, "a refusal sets no session: {html}");
    assert!(
        html.contains("href=\"/login"),
        "a refusal links back to /login: {html}"
    );
    html
}

/// Whether an answer sets a session cookie (clearing one sets none).
pub fn sets_session(res: &reqwest::Response) -> bool {
    res.headers().get_all("set-cookie").iter().any(|c| {
        let c = c.to_str().unwrap();
        c.starts_with("portcullis_session=") && !c.starts_with("portcullis_session=;")
    })
}

/// The account with `email` on `s`, if any: the user and its password hash.
pub async fn account(
    s: &TestServer,
    email: &str,
) -> Option<(entities::users::Model, Option<String>)> {
    portcullis::store::users::find_with_password(&s.state.db, email)
        .await
        .unwrap()
}

/// The identities linked at `provider` on `s`.
pub async fn identities(s: &TestServer, provider: &str) -> Vec<entities::linked_identities::Model> {
    use entities::linked_identities::{Column, Entity};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    Entity::find()
        .filter(Column::Provider.eq(provider))
        .all(&s.state.db)
        .await
        .unwrap()
}

/// How many accounts `s` has.
pub async fn user_count(s: &TestServer) -> u64 {
    use sea_orm::{EntityTrait, PaginatorTrait};
    entities::users::Entity::find()
        .count(&s.state.db)
        .await
        .unwrap()
}

/// Asserts `res` is a `303` and returns its `Location` (the page, if not).
pub async fn redirected(res: reqwest::Response) -> String {
    if res.status() != 303 {
        let status = res.status();
        panic!(
            "expected a 303, got {status}: {}",
            res.text().await.unwrap_or_default()
        );
    }
    res.headers()["location"].to_str().unwrap().to_string()
}
