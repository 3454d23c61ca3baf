//! A second Portcullis as the upstream OpenID provider of the one under test
//! (the "downstream"): the upstream has a person with a verified address and
//! a confidential client whose redirect URI is the downstream's callback; the
//! downstream is configured with that client as a generic `[[oidc_providers]]`
//! entry, or as Google or Microsoft pointed at the upstream's issuer.
//!
//! Both servers are `localhost` on different ports, and cookie jars ignore
//! ports: a browser is two clients, one per server.

use std::net::TcpListener;

use portcullis::oauth::client::{NewClient, build_admin_client};
use serde_json::json;
use url::Url;

use crate::api::{API, post};
use crate::flow::{self, TestClient, param};
use crate::harness::TestServer;

pub const SCOPE: &str = "openid email profile";
/// The generic provider's id and label.
pub const ACME: &str = "acme";
pub const ACME_NAME: &str = "Acme SSO";

/// How the downstream is told about the upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Configured {
    /// `[[oidc_providers]]` id `acme` in a `portcullis.toml`.
    Toml,
    /// `GOOGLE_CLIENT_ID`/`_SECRET` and `PORTCULLIS_GOOGLE__ISSUER`.
    Google,
    /// `MICROSOFT_CLIENT_ID`/`_SECRET` and `PORTCULLIS_MICROSOFT__ISSUER`.
    Microsoft,
}

impl Configured {
    /// The provider id: the path segment of sign-in/{id} and callback/{id}.
    pub fn id(self) -> &'static str {
        match self {
            Configured::Toml => ACME,
            Configured::Google => "google",
            Configured::Microsoft => "microsoft",
        }
    }
}

/// The issuer the downstream is configured with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Issuer {
    /// The upstream's own, `http://localhost:<port>`.
    Same,
    /// `http://127.0.0.1:<port>`: the same server, but not the issuer its
    /// discovery document names.
    ByAddress,
}

pub struct Setup {
    pub configured: Configured,
    pub issuer: Issuer,
    /// The upstream person's address.
    pub email: &'static str,
    /// Whether the upstream verified it.
    pub verified: bool,
    /// More variables for the downstream (e.g. a GitHub fake's).
    pub extra: Vec<(String, String)>,
}

impl Setup {
    pub fn new(configured: Configured, email: &'static str) -> Self {
        Setup {
            configured,
            issuer: Issuer::Same,
            email,
            verified: true,
            extra: Vec::new(),
        }
    }
}

pub struct Federation {
    /// The server under test.
    pub down: TestServer,
    /// The upstream OpenID provider.
    pub up: TestServer,
    /// A browser signed in at the upstream as [`Federation::email`].
    pub up_browser: reqwest::Client,
    /// The downstream's client at the upstream.
    pub client: TestClient,
    pub provider: &'static str,
    pub email: &'static str,
    _config: tempfile::TempDir,
}

/// Starts the upstream, registers the downstream's client and person on it,
/// then the downstream configured as `setup` says.
pub async fn federation(setup: Setup) -> Federation {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let down_base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let provider = setup.configured.id();
    let up = TestServer::start().await;
    let client = register_downstream(&up, &down_base, provider).await;
    let up_browser = if setup.verified {
        flow::signed_in_verified(&up, setup.email).await
    } else {
        flow::signed_in(&up, setup.email).await
    };
    let issuer = match setup.issuer {
        Issuer::Same => up.base.clone(),
        Issuer::ByAddress => format!("http://127.0.0.1:{}", up.addr.port()),
    };
    let config = tempfile::tempdir().expect("tempdir");
    let mut env = provider_env(setup.configured, &issuer, &client, config.path());
    env.push((
        "PORTCULLIS_CLIENT_METADATA__ALLOW_LOOPBACK".into(),
        "true".into(),
    ));
    env.extend(setup.extra);
    let down = TestServer::start_on(
        listener,
        env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
    )
    .await;
    assert_eq!(down.base, down_base);
    Federation {
        down,
        up,
        up_browser,
        client,
        provider,
        email: setup.email,
        _config: config,
    }
}

/// A confidential authorization-code client on `up` redirecting to the
/// downstream's callback for `provider`; consent is asked.
pub async fn register_downstream(up: &TestServer, down_base: &str, provider: &str) -> TestClient {
    let redirect = format!("{down_base}{API}/callback/{provider}");
    let reg = build_admin_client(
        NewClient {
            name: "Downstream Portcullis".into(),
            grant_types: vec!["authorization_code".into()],
            redirect_uris: vec![redirect.clone()],
            scope: Some(SCOPE.into()),
            ..Default::default()
        },
        up.state.now(),
    )
    .unwrap();
    portcullis::store::clients::insert(&up.state.db, reg.row)
        .await
        .unwrap();
    TestClient {
        id: reg.client.id.to_string(),
        secret: reg.secret,
        redirect,
    }
}

/// The downstream's variables for `configured` (a `portcullis.toml` written
/// in `dir` for [`Configured::Toml`]).
pub fn provider_env(
    configured: Configured,
    issuer: &str,
    client: &TestClient,
    dir: &std::path::Path,
) -> Vec<(String, String)> {
    let secret = client.secret.clone().expect("a confidential client");
    let pairs = |prefix: &str| -> Vec<(String, String)> {
        vec![
            (format!("{prefix}_CLIENT_ID"), client.id.clone()),
            (format!("{prefix}_CLIENT_SECRET"), secret.clone()),
            (format!("PORTCULLIS_{prefix}__ISSUER"), issuer.to_string()),
        ]
    };
    match configured {
        Configured::Google => pairs("GOOGLE"),
        Configured::Microsoft => pairs("MICROSOFT"),
        Configured::Toml => {
            let path = dir.join("portcullis.toml");
            std::fs::write(&path, acme_toml(issuer, &client.id, &secret)).unwrap();
            vec![("PORTCULLIS_CONFIG".into(), path.display().to_string())]
        }
    }
}

/// A `portcullis.toml` declaring the generic provider [`ACME`].
pub fn acme_toml(issuer: &str, client_id: &str, secret: &str) -> String {
    format!(
        "[[oidc_providers]]\n\
         id = \"{ACME}\"\n\
         name = \"{ACME_NAME}\"\n\
         issuer = \"{issuer}\"\n\
         client_id = \"{client_id}\"\n\
         client_secret = \"{secret}\"\n"
    )
}

/// The downstream's sign-in URL for `provider`.
pub fn sign_in_url(down: &TestServer, provider: &str, callback: Option<&str>) -> Url {
    let mut u = Url::parse(&down.url(&format!("{API}/sign-in/{provider}"))).unwrap();
    if let Some(cb) = callback {
        u.query_pairs_mut().append_pair("callbackURL", cb);
    }
    u
}

/// Starts a sign-in at the downstream on `b`: checks its redirect to the
/// upstream's authorize endpoint and returns that URL.
pub async fn start(f: &Federation, b: &reqwest::Client, callback: Option<&str>) -> Url {
    let res = b
        .get(sign_in_url(&f.down, f.provider, callback))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let location = res.headers().get("location").cloned();
    assert_eq!(status, 303, "{}", res.text().await.unwrap_or_default());
    let to = Url::parse(location.unwrap().to_str().unwrap()).unwrap();
    check_authorize_url(f, &to);
    to
}

/// What our redirect to the upstream must carry (OIDC Core §3.1.2.1, PKCE).
pub fn check_authorize_url(f: &Federation, to: &Url) {
    assert!(
        to.as_str().starts_with(&f.up.url("/oauth2/authorize?")),
        "the upstream's authorization_endpoint: {to}"
    );
    assert_eq!(param(to, "client_id"), Some(f.client.id.clone()));
    assert_eq!(param(to, "redirect_uri"), Some(f.client.redirect.clone()));
    assert_eq!(param(to, "response_type").as_deref(), Some("code"));
    let scope = param(to, "scope").unwrap_or_default();
    assert!(
        scope.split(' ').any(|s| s == "openid") && scope.split(' ').any(|s| s == "email"),
        "{to}"
    );
    for p in ["state", "nonce"] {
        assert!(param(to, p).is_some_and(|v| v.len() >= 20), "{p}: {to}");
    }
    assert!(param(to, "code_challenge").is_some_and(|v| v.len() == 43));
    assert_eq!(param(to, "code_challenge_method").as_deref(), Some("S256"));
}

/// Follows `authorize` at the upstream with its signed-in browser (consent
/// allowed when asked) up to its redirect to our callback, which it checks
/// (`code`, `state`, RFC 9207 `iss`) and returns.
pub async fn at_upstream(f: &Federation, authorize: &Url) -> Url {
    at_upstream_with(f, &f.up_browser, authorize, &|| {
        panic!("the upstream asked for a second factor")
    })
    .await
}

/// As [`at_upstream`] with the upstream browser `up_b` (signing in with
/// the password if asked) answering a second factor with `code()`.
pub async fn at_upstream_with(
    f: &Federation,
    up_b: &reqwest::Client,
    authorize: &Url,
    code: &dyn Fn() -> String,
) -> Url {
    let back = flow::follow_with(&f.up, up_b, authorize.as_str(), f.email, "allow", code).await;
    assert!(
        back.as_str()
            .starts_with(&format!("{}?", f.client.redirect)),
        "back to our callback: {back}"
    );
    assert!(param(&back, "code").is_some(), "{back}");
    assert_eq!(param(&back, "state"), param(authorize, "state"));
    assert_eq!(param(&back, "iss"), Some(f.up.base.clone()));
    back
}

/// The rest of a sign-in (or link) after our redirect to `authorize`: the
/// upstream, then our callback on `b`; the callback's answer.
pub async fn finish(f: &Federation, b: &reqwest::Client, authorize: &Url) -> reqwest::Response {
    let back = at_upstream(f, authorize).await;
    b.get(back).send().await.unwrap()
}

/// A whole sign-in through the upstream on `b` (`callbackURL` = `callback`),
/// `tamper` rewriting our authorize URL before the upstream sees it.
pub async fn sign_in_via_upstream(
    f: &Federation,
    b: &reqwest::Client,
    callback: Option<&str>,
    tamper: &dyn Fn(Url) -> Url,
) -> reqwest::Response {
    let to = start(f, b, callback).await;
    finish(f, b, &tamper(to)).await
}

/// `url` with query parameter `name` set to `value`.
pub fn with_param(url: Url, name: &str, value: &str) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == name {
                (k, value.to_string())
            } else {
                (k, v)
            }
        })
        .collect();
    let mut out = url;
    out.query_pairs_mut().clear().extend_pairs(pairs);
    out
}

/// No change.
pub fn untouched(u: Url) -> Url {
    u
}

/// The `amr` of the ID token the downstream issues to a relying party of
/// its own for the person signed in on `b`.
pub async fn amr_downstream(down: &TestServer, b: &reqwest::Client) -> Vec<String> {
    let rp = flow::confidential_client(down).await;
    let back = flow::authorize(
        down,
        &rp,
        b,
        &[("scope", "openid"), ("state", "amr")],
        Some(flow::VERIFIER),
    )
    .await;
    let code = param(&back, "code").expect("a code");
    let t: serde_json::Value = flow::exchange(down, &rp, &code).await.json().await.unwrap();
    flow::claims(t["id_token"].as_str().expect("an ID token"))["amr"]
        .as_array()
        .expect("amr")
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// `POST link-social` on `b`: the upstream authorize URL it answers.
pub async fn link_social(s: &TestServer, b: &reqwest::Client, provider: &str) -> Url {
    let (status, body) = post(
        s,
        b,
        "link-social",
        json!({ "provider": provider, "callbackURL": "/settings" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["redirect"], true);
    Url::parse(body["url"].as_str().expect("url")).unwrap()
}

/// How many authorization codes the upstream has redeemed (issued tokens
/// for): tells a refusal of the upstream's answer from one before it.
pub async fn codes_redeemed(up: &TestServer) -> u64 {
    use entities::authorization_codes::{Column, Entity};
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    Entity::find()
        .filter(Column::ConsumedAt.is_not_null())
        .count(&up.state.db)
        .await
        .unwrap()
}
