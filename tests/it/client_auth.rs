use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use sea_orm::{ActiveModelTrait, IntoActiveModel};
use serde_json::{Value, json};

use crate::flow;
use crate::harness::TestServer;

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
    let c = flow::client(s, false, false, &["client_credentials"], Some("api")).await;
    let row = portcullis::store::clients::find(&s.state.db, &c.id)
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

#[tokio::test]
async fn private_key_jwt_authenticates_once_per_jti() {
    let s = TestServer::start().await;
    let signer = Signer::new();
    let id = private_key_jwt_client(&s, signer.jwks()).await;
    let now = s.state.now();
    let claims = |jti: &str, aud: &str| json!({"iss": id, "sub": id, "aud": aud, "jti": jti, "iat": now, "exp": now + 60});

    let token_endpoint = s.url("/oauth2/token");
    let ok = post_assertion(&s, &signer.assertion(&claims("j1", &token_endpoint))).await;
    assert_eq!(ok.status(), 200, "{}", ok.text().await.unwrap());
    let replay = post_assertion(&s, &signer.assertion(&claims("j1", &token_endpoint))).await;
    assert_eq!(replay.status(), 401);
    assert_eq!(
        replay.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );

    // The issuer is an acceptable audience too.
    assert_eq!(
        post_assertion(&s, &signer.assertion(&claims("j2", &s.base)))
            .await
            .status(),
        200
    );
    // Anything else is not.
    assert_eq!(
        post_assertion(
            &s,
            &signer.assertion(&claims("j3", "https://other.example"))
        )
        .await
        .status(),
        401
    );
    // Expired.
    let old = json!({"iss": id, "sub": id, "aud": token_endpoint, "jti": "j4", "exp": now - 1});
    assert_eq!(
        post_assertion(&s, &signer.assertion(&old)).await.status(),
        401
    );
    // Signed by another key.
    let stranger = Signer::new();
    assert_eq!(
        post_assertion(&s, &stranger.assertion(&claims("j5", &token_endpoint)))
            .await
            .status(),
        401
    );
    // Tampered payload.
    let good = signer.assertion(&claims("j6", &token_endpoint));
    let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(claims("j7", &token_endpoint).to_string());
    assert_eq!(post_assertion(&s, &parts.join(".")).await.status(), 401);
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
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );
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
