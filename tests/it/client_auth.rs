use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use sea_orm::{ActiveModelTrait, IntoActiveModel};
use serde_json::{Value, json};

use crate::flow::{self, ClientKind, Consent, TestClient};
use crate::harness::{TestServer, error_of};

struct Signer {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl Signer {
    fn new() -> Self {
        let rng = SystemRandom::new();
        let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        Signer {
            pair: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der.as_ref(), &rng)
                .unwrap(),
            rng,
        }
    }

    fn jwks(&self) -> Value {
        let p = self.pair.public_key().as_ref();
        json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256", "x": URL_SAFE_NO_PAD.encode(&p[1..33]), "y": URL_SAFE_NO_PAD.encode(&p[33..65])}]})
    }

    fn assertion(&self, claims: &Value) -> String {
        let header =
            URL_SAFE_NO_PAD.encode(json!({"alg": "ES256", "kid": "k1", "typ": "JWT"}).to_string());
        let body = URL_SAFE_NO_PAD.encode(claims.to_string());
        let input = format!("{header}.{body}");
        let sig = self.pair.sign(&self.rng, input.as_bytes()).unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }
}

async fn private_key_jwt_client(s: &TestServer, jwks: Value) -> String {
    let c = flow::client(
        s,
        ClientKind::Confidential,
        Consent::Asked,
        &["client_credentials"],
        Some("api"),
    )
    .await;
    let row = portcullis::store::clients::find(
        &s.state.db,
        &portcullis::domain::ids::ClientId::from(c.id.as_str()),
    )
    .await
    .unwrap()
    .unwrap();
    let mut meta: Value = serde_json::from_str(&row.metadata).unwrap();
    meta["token_endpoint_auth_method"] = json!("private_key_jwt");
    meta["jwks"] = jwks;
    let mut am = row.into_active_model();
    am.metadata = sea_orm::ActiveValue::Set(meta.to_string());
    am.secret_hash = sea_orm::ActiveValue::Set(None);
    am.update(&s.state.db).await.unwrap();
    c.id
}

async fn post_assertion(s: &TestServer, assertion: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(s.url("/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
        ])
        .send()
        .await
        .unwrap()
}

/// What `post_assertion` answered: the status and the `error`, if any.
async fn outcome(s: &TestServer, assertion: &str) -> (u16, Option<String>) {
    let res = post_assertion(s, assertion).await;
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    (status, body["error"].as_str().map(str::to_string))
}

fn refused() -> (u16, Option<String>) {
    (401, Some("invalid_client".into()))
}

#[tokio::test]
async fn private_key_jwt_authenticates_once_per_jti() {
    let s = TestServer::start().await;
    let signer = Signer::new();
    let id = private_key_jwt_client(&s, signer.jwks()).await;
    let now = s.state.now();
    // What openid-client and oauth4webapi send by default: the issuer as aud.
    let claims = |jti: &str| json!({"iss": id, "sub": id, "aud": s.base, "jti": jti, "iat": now, "exp": now + 60});

    let ok = post_assertion(&s, &signer.assertion(&claims("j1"))).await;
    assert_eq!(ok.status(), 200, "{}", ok.text().await.unwrap());
    assert_eq!(
        outcome(&s, &signer.assertion(&claims("j1"))).await,
        refused(),
        "replayed jti"
    );
    // Expired.
    let old =
        json!({"iss": id, "sub": id, "aud": s.base, "jti": "j4", "iat": now - 61, "exp": now - 1});
    assert_eq!(outcome(&s, &signer.assertion(&old)).await, refused());
    // Signed by another key.
    let stranger = Signer::new();
    assert_eq!(
        outcome(&s, &stranger.assertion(&claims("j5"))).await,
        refused()
    );
    // Tampered payload.
    let good = signer.assertion(&claims("j6"));
    let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(claims("j7").to_string());
    assert_eq!(outcome(&s, &parts.join(".")).await, refused());
}

#[tokio::test]
async fn a_client_assertion_must_name_the_issuer_alone_as_its_audience() {
    let s = TestServer::start().await;
    let signer = Signer::new();
    let id = private_key_jwt_client(&s, signer.jwks()).await;
    let now = s.state.now();
    let with_aud = |jti: &str, aud: Value| json!({"iss": id, "sub": id, "aud": aud, "jti": jti, "iat": now, "exp": now + 60});
    for (jti, aud) in [
        // Endpoint URLs, which RFC 7523 allowed and audience injection abuses.
        ("a1", json!(s.url("/oauth2/token"))),
        ("a2", json!(s.url("/oauth2/introspect"))),
        ("a3", json!([s.url("/oauth2/token")])),
        // The issuer next to another server: valid there too.
        ("a4", json!([s.base, "https://other.example"])),
        ("a5", json!([s.base, s.url("/oauth2/token")])),
        ("a6", json!("https://other.example")),
        ("a7", json!(format!("{}/", s.base))),
        ("a8", json!([])),
    ] {
        assert_eq!(
            outcome(&s, &signer.assertion(&with_aud(jti, aud.clone()))).await,
            refused(),
            "aud {aud}"
        );
    }
    let no_aud = json!({"iss": id, "sub": id, "jti": "a9", "iat": now, "exp": now + 60});
    assert_eq!(outcome(&s, &signer.assertion(&no_aud)).await, refused());
    // The issuer as a string, or as the one element of an array (libraries
    // that always write `aud` as an array).
    assert_eq!(
        outcome(&s, &signer.assertion(&with_aud("ok1", json!(s.base)))).await,
        (200, None)
    );
    assert_eq!(
        outcome(&s, &signer.assertion(&with_aud("ok2", json!([s.base])))).await,
        (200, None)
    );
}

#[tokio::test]
async fn a_client_assertion_must_carry_iat_and_exp_and_live_at_most_five_minutes() {
    let s = TestServer::start().await;
    let signer = Signer::new();
    let id = private_key_jwt_client(&s, signer.jwks()).await;
    let now = s.state.now();
    let base = json!({"iss": id, "sub": id, "aud": s.base});
    let with = |jti: &str, times: Value| {
        let mut c = base.clone();
        c["jti"] = json!(jti);
        for (k, v) in times.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    for (jti, times) in [
        ("t1", json!({"iat": now})),
        ("t2", json!({"exp": now + 60})),
        ("t3", json!({"iat": now, "exp": now + 301})),
        ("t4", json!({"iat": now, "exp": now + 86_400})),
        // Minted long ago with a long life: still more than five minutes.
        ("t5", json!({"iat": now - 3_600, "exp": now + 60})),
        // Minted in the future to stretch the window.
        ("t6", json!({"iat": now + 3_600, "exp": now + 3_660})),
        ("t7", json!({"iat": now, "exp": now + 60, "nbf": now + 600})),
        (
            "t8",
            json!({"iat": now.to_string(), "exp": (now + 60).to_string()}),
        ),
        // A lifetime that overflows i64 is refused like any other.
        ("t9", json!({"iat": -1, "exp": i64::MAX})),
        ("t10", json!({"iat": i64::MIN, "exp": now + 60})),
    ] {
        assert_eq!(
            outcome(&s, &signer.assertion(&with(jti, times.clone()))).await,
            refused(),
            "{times}"
        );
    }
    // Five minutes exactly, from a client clock a little ahead of ours.
    assert_eq!(
        outcome(
            &s,
            &signer.assertion(&with("ok", json!({"iat": now + 30, "exp": now + 330})))
        )
        .await,
        (200, None)
    );
}

/// A client that holds a live access token and refresh token of its own.
struct Holder {
    client: TestClient,
    access_token: String,
    refresh_token: String,
}

async fn holder(s: &TestServer, kind: ClientKind, email: &str) -> Holder {
    let client = match kind {
        ClientKind::Public => flow::public_client(s).await,
        ClientKind::Confidential => flow::confidential_client(s).await,
    };
    let t = flow::tokens(s, &client, email, "openid offline_access").await;
    Holder {
        access_token: t["access_token"].as_str().unwrap().to_string(),
        refresh_token: t["refresh_token"].as_str().unwrap().to_string(),
        client,
    }
}

/// `POST /oauth2/introspect` as `c` (basic for confidential clients, a bare
/// `client_id` for public ones): the status and the body.
async fn introspect_as(s: &TestServer, c: &TestClient, token: &str) -> (u16, Value) {
    let mut form = vec![("token", token.to_string())];
    let mut req = reqwest::Client::new().post(s.url("/oauth2/introspect"));
    match &c.secret {
        Some(secret) => req = req.basic_auth(&c.id, Some(secret)),
        None => form.push(("client_id", c.id.clone())),
    }
    let res = req.form(&form).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn a_public_client_cannot_introspect_even_its_own_tokens() {
    let s = TestServer::start().await;
    let victim = holder(&s, ClientKind::Confidential, "victim@example.com").await;
    let anonymous = holder(&s, ClientKind::Public, "anon@example.com").await;
    for token in [
        &victim.access_token,
        &victim.refresh_token,
        &anonymous.access_token,
        &anonymous.refresh_token,
    ] {
        let (status, body) = introspect_as(&s, &anonymous.client, token).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client"))
        );
        assert!(body.get("sub").is_none() && body.get("active").is_none());
    }
    // Discovery says so too; revocation still takes `none` (RFC 7009 §2.1).
    let d: Value = reqwest::get(s.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let methods = |key: &str| d[key].as_array().unwrap().clone();
    assert!(!methods("introspection_endpoint_auth_methods_supported").contains(&json!("none")));
    assert!(methods("revocation_endpoint_auth_methods_supported").contains(&json!("none")));
}

#[tokio::test]
async fn a_confidential_client_learns_nothing_about_another_clients_tokens() {
    let s = TestServer::start().await;
    let a = holder(&s, ClientKind::Confidential, "a@example.com").await;
    let b = flow::confidential_client(&s).await;
    for token in [&a.access_token, &a.refresh_token] {
        assert_eq!(
            introspect_as(&s, &b, token).await,
            (200, json!({"active": false}))
        );
    }
    // Its owner still sees it live.
    let own = flow::introspect(&s, &a.client, &a.access_token).await;
    assert_eq!(
        (own["active"].as_bool(), own["client_id"].as_str()),
        (Some(true), Some(a.client.id.as_str()))
    );
}

#[tokio::test]
async fn a_resource_server_made_with_the_cli_introspects_other_clients_access_tokens_for_it() {
    let s = TestServer::start().await;
    let a = holder(&s, ClientKind::Public, "rs@example.com").await;
    let mcp = s.url("/mcp");
    // Without a resource there is nothing it may introspect.
    let out = s.cli(&[
        "client",
        "create",
        "--name",
        "API",
        "--grant",
        "client_credentials",
        "--resource-server",
    ]);
    assert!(!out.status.success());
    let out = s.cli(&[
        "client",
        "create",
        "--name",
        "API",
        "--grant",
        "client_credentials",
        "--resource-server",
        "--resource",
        &mcp,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap()
            .trim()
            .to_string()
    };
    let rs = TestClient {
        id: field("client_id:"),
        secret: Some(field("client_secret:")),
        redirect: String::new(),
    };
    // A token for the resource server.
    let c = flow::confidential_client(&s).await;
    let t: Value = flow::token(
        &s,
        &c,
        &[("grant_type", "client_credentials"), ("resource", &mcp)],
    )
    .await
    .json()
    .await
    .unwrap();
    let (status, v) = introspect_as(&s, &rs, t["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(v["active"], true);
    assert_eq!(v["client_id"], c.id.as_str());
    // A token for another audience (here this server's own, for userinfo).
    assert_eq!(
        introspect_as(&s, &rs, &a.access_token).await,
        (200, json!({"active": false}))
    );
    // Refresh tokens stay their own client's business.
    assert_eq!(
        introspect_as(&s, &rs, &a.refresh_token).await,
        (200, json!({"active": false}))
    );
    // A public client cannot be made a resource server.
    let out = s.cli(&[
        "client",
        "create",
        "--name",
        "Nope",
        "--public",
        "--redirect-uri",
        "https://app.example/cb",
        "--resource-server",
    ]);
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim().lines().count(),
        1
    );
}

#[tokio::test]
async fn a_public_client_cannot_revoke_another_clients_tokens() {
    let s = TestServer::start().await;
    let a = holder(&s, ClientKind::Public, "pa@example.com").await;
    let b = holder(&s, ClientKind::Public, "pb@example.com").await;
    for token in [&b.access_token, &b.refresh_token] {
        let res = reqwest::Client::new()
            .post(s.url("/oauth2/revoke"))
            .form(&[
                ("token", token.as_str()),
                ("client_id", a.client.id.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "answered like any revocation");
    }
    let userinfo = reqwest::Client::new()
        .get(s.url("/oauth2/userinfo"))
        .bearer_auth(&b.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 200, "B's access token still works");
    let refreshed = flow::token(
        &s,
        &b.client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &b.refresh_token),
        ],
    )
    .await;
    assert_eq!(refreshed.status(), 200, "B's refresh token still works");

    // A public client may still revoke its own (RFC 7009 §2.1).
    let res = reqwest::Client::new()
        .post(s.url("/oauth2/revoke"))
        .form(&[
            ("token", a.refresh_token.as_str()),
            ("client_id", a.client.id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let again = flow::token(
        &s,
        &a.client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &a.refresh_token),
        ],
    )
    .await;
    assert_eq!(error_of(again).await, "invalid_grant");
}

#[tokio::test]
async fn two_authentication_methods_at_once_are_refused() {
    let s = TestServer::start().await;
    let c = flow::confidential_client(&s).await;
    let res = reqwest::Client::new()
        .post(s.url("/oauth2/token"))
        .basic_auth(&c.id, c.secret.as_deref())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", c.id.as_str()),
            ("client_secret", c.secret.as_deref().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(error_of(res).await, "invalid_request");
}

#[tokio::test]
async fn basic_credentials_are_form_urlencoded() {
    let s = TestServer::start().await;
    let c = flow::confidential_client(&s).await;
    // Secrets are base64url (no characters needing escape), so an escaped
    // client id with its secret must still authenticate.
    let id: String = url::form_urlencoded::byte_serialize(c.id.as_bytes()).collect();
    let secret: String =
        url::form_urlencoded::byte_serialize(c.secret.as_deref().unwrap().as_bytes()).collect();
    let res = reqwest::Client::new()
        .post(s.url("/oauth2/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}
