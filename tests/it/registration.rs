//! Dynamic client registration (RFC 7591) and management (RFC 7592).

use entities::{clients, consents, users};
use reqwest::header::HeaderMap;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel};
use serde_json::{Value, json};

use crate::harness::TestServer;

const REGISTER: &str = "/oauth2/register";

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

async fn answer(res: reqwest::Response) -> Answer {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    Answer {
        status,
        headers,
        body,
    }
}

async fn register(s: &TestServer, metadata: Value) -> Answer {
    let res = s
        .http
        .post(s.url(REGISTER))
        .header("Origin", "https://inspector.example")
        .json(&metadata)
        .send()
        .await
        .unwrap();
    answer(res).await
}

async fn manage(
    s: &TestServer,
    method: reqwest::Method,
    uri: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Answer {
    let mut req = s
        .http
        .request(method, uri)
        .header("Origin", "https://inspector.example");
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    answer(req.send().await.unwrap()).await
}

fn header<'a>(a: &'a Answer, name: &str) -> &'a str {
    a.headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

fn assert_error(a: &Answer, status: u16, code: &str) {
    assert_eq!(a.status, status, "{}", a.body);
    assert_eq!(a.body["error"], code, "{}", a.body);
    assert!(a.body["error_description"].is_string(), "{}", a.body);
}

/// The registered metadata of a client information response, without the
/// fields that are issued rather than registered.
fn registered_fields(v: &Value) -> Value {
    let mut v = v.clone();
    let obj = v.as_object_mut().unwrap();
    for k in ["client_secret", "client_secret_expires_at"] {
        obj.remove(k);
    }
    v
}

async fn stored(s: &TestServer, id: &str) -> Option<clients::Model> {
    clients::Entity::find_by_id(id.to_string())
        .one(&s.state.db)
        .await
        .unwrap()
}

fn public_client_metadata() -> Value {
    json!({
        "redirect_uris": ["http://127.0.0.1:53682/callback"],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "client_name": "Inspector",
        "client_uri": "https://inspector.example",
        "logo_uri": "https://inspector.example/logo.png",
        "scope": "openid profile mcp:tools",
        "contacts": ["ops@inspector.example"],
        "post_logout_redirect_uris": ["http://127.0.0.1:53682/bye"],
        "id_token_signed_response_alg": "ES256",
        "software_id": "inspector",
        "software_version": "1.2.3"
    })
}

#[tokio::test]
async fn public_client_registers_reads_updates_and_deletes_itself() {
    // `mcp:tools` is registered below, so the deployment must offer it.
    let s = TestServer::start_with(vec![(
        "PORTCULLIS_SCOPES",
        "openid profile email offline_access mcp:tools",
    )])
    .await;
    let metadata = public_client_metadata();
    let reg = register(&s, metadata.clone()).await;
    assert_eq!(reg.status, 201, "{}", reg.body);
    assert!(header(&reg, "content-type").starts_with("application/json"));
    assert_eq!(header(&reg, "cache-control"), "no-store");
    assert_eq!(header(&reg, "access-control-allow-origin"), "*");
    let v = &reg.body;
    for (k, want) in metadata.as_object().unwrap() {
        assert_eq!(&v[k], want, "{k} echoed");
    }
    assert!(
        v.get("client_secret").is_none(),
        "public clients get no secret"
    );
    assert!(v.get("client_secret_expires_at").is_none());
    let id = v["client_id"].as_str().unwrap().to_string();
    assert!(v["client_id_issued_at"].as_i64().unwrap() > 1_700_000_000);
    let token = v["registration_access_token"].as_str().unwrap().to_string();
    assert!(token.len() >= 43, "256-bit registration token");
    let uri = v["registration_client_uri"].as_str().unwrap().to_string();
    assert!(uri.starts_with(&s.base), "{uri}");
    assert_eq!(uri, s.url(&format!("/oauth2/register/{id}")));

    let row = stored(&s, &id).await.unwrap();
    assert_eq!(row.origin, "dynamic");
    assert!(!row.trusted);
    assert_eq!(row.secret_hash, None);
    let token_hash = row.registration_token_hash.unwrap();
    assert_ne!(token_hash, token);
    assert_eq!(token_hash, portcullis::tokens::opaque::hash_secret(&token));

    // RFC 7592 §2.1: read.
    let read = manage(&s, reqwest::Method::GET, &uri, Some(&token), None).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(header(&read, "cache-control"), "no-store");
    assert_eq!(header(&read, "access-control-allow-origin"), "*");
    assert_eq!(read.body, registered_fields(v));

    for bad in [Some("not-the-token"), None] {
        let denied = manage(&s, reqwest::Method::GET, &uri, bad, None).await;
        assert_error(&denied, 401, "invalid_token");
        assert!(header(&denied, "www-authenticate").contains("error=\"invalid_token\""));
        assert_eq!(header(&denied, "access-control-allow-origin"), "*");
    }
    let unknown = manage(
        &s,
        reqwest::Method::GET,
        &s.url("/oauth2/register/nope"),
        Some(&token),
        None,
    )
    .await;
    assert_error(&unknown, 401, "invalid_token");

    // RFC 7592 §2.2: update, echoing the read response back with a new name.
    let mut changed = read.body.clone();
    changed["client_name"] = json!("Inspector Pro");
    let put = manage(&s, reqwest::Method::PUT, &uri, Some(&token), Some(&changed)).await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body["client_name"], "Inspector Pro");
    assert_eq!(put.body["client_id"], id.as_str());
    assert_eq!(put.body["redirect_uris"], metadata["redirect_uris"]);
    assert!(put.body.get("client_secret").is_none());
    let reread = manage(&s, reqwest::Method::GET, &uri, Some(&token), None).await;
    assert_eq!(reread.body["client_name"], "Inspector Pro");
    assert_eq!(stored(&s, &id).await.unwrap().name, "Inspector Pro");

    let mut other_id = changed.clone();
    other_id["client_id"] = json!("someone-else");
    let mismatch = manage(
        &s,
        reqwest::Method::PUT,
        &uri,
        Some(&token),
        Some(&other_id),
    )
    .await;
    assert_error(&mismatch, 400, "invalid_client_metadata");
    let mut bad_uri = changed.clone();
    bad_uri["redirect_uris"] = json!(["javascript:alert(1)"]);
    let refused = manage(&s, reqwest::Method::PUT, &uri, Some(&token), Some(&bad_uri)).await;
    assert_error(&refused, 400, "invalid_redirect_uri");
    let wrong = manage(&s, reqwest::Method::PUT, &uri, Some("x"), Some(&changed)).await;
    assert_error(&wrong, 401, "invalid_token");

    // RFC 7592 §2.3: delete.
    let wrong = manage(&s, reqwest::Method::DELETE, &uri, Some("x"), None).await;
    assert_error(&wrong, 401, "invalid_token");
    let deleted = manage(&s, reqwest::Method::DELETE, &uri, Some(&token), None).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(header(&deleted, "access-control-allow-origin"), "*");
    assert!(stored(&s, &id).await.is_none());
    let gone = manage(&s, reqwest::Method::GET, &uri, Some(&token), None).await;
    assert_error(&gone, 401, "invalid_token");
}

#[tokio::test]
async fn confidential_clients_get_a_secret_stored_only_as_a_hash() {
    let s = TestServer::start().await;
    for method in [
        Some("client_secret_post"),
        Some("client_secret_basic"),
        None,
    ] {
        let mut metadata = json!({ "redirect_uris": ["https://app.example/cb"] });
        if let Some(m) = method {
            metadata["token_endpoint_auth_method"] = json!(m);
        }
        let reg = register(&s, metadata).await;
        assert_eq!(reg.status, 201, "{}", reg.body);
        let v = &reg.body;
        assert_eq!(
            v["token_endpoint_auth_method"],
            method.unwrap_or("client_secret_basic"),
            "RFC 7591 §2 default"
        );
        assert_eq!(v["grant_types"], json!(["authorization_code"]));
        assert_eq!(v["response_types"], json!(["code"]));
        assert_eq!(v["scope"], portcullis::oauth::scope::DEFAULT_CLIENT_SCOPE);
        assert_eq!(v["client_name"], "app.example");
        let secret = v["client_secret"].as_str().unwrap();
        assert!(secret.starts_with("pcs_") && secret.len() >= 43, "{secret}");
        assert_eq!(v["client_secret_expires_at"], 0);

        let id = v["client_id"].as_str().unwrap();
        let row = stored(&s, id).await.unwrap();
        let hash = row.secret_hash.unwrap();
        assert_ne!(hash, secret);
        assert_eq!(hash, portcullis::tokens::opaque::hash_secret(secret));
        assert!(!row.metadata.contains(secret));

        let uri = v["registration_client_uri"].as_str().unwrap();
        let token = v["registration_access_token"].as_str().unwrap();
        let read = manage(&s, reqwest::Method::GET, uri, Some(token), None).await;
        assert_eq!(read.status, 200);
        assert!(
            read.body.get("client_secret").is_none(),
            "never shown again"
        );
    }
}

#[tokio::test]
async fn a_public_client_switching_to_a_secret_gets_one_on_update() {
    let s = TestServer::start().await;
    let reg = register(
        &s,
        json!({ "redirect_uris": ["https://app.example/cb"], "token_endpoint_auth_method": "none" }),
    )
    .await;
    assert_eq!(reg.status, 201);
    let id = reg.body["client_id"].as_str().unwrap();
    let uri = reg.body["registration_client_uri"].as_str().unwrap();
    let token = reg.body["registration_access_token"].as_str().unwrap();
    let mut body = reg.body.clone();
    body["token_endpoint_auth_method"] = json!("client_secret_basic");
    let put = manage(&s, reqwest::Method::PUT, uri, Some(token), Some(&body)).await;
    assert_eq!(put.status, 200, "{}", put.body);
    let secret = put.body["client_secret"].as_str().unwrap();
    assert_eq!(put.body["client_secret_expires_at"], 0);
    let row = stored(&s, id).await.unwrap();
    assert_eq!(
        row.secret_hash.as_deref(),
        Some(portcullis::tokens::opaque::hash_secret(secret).as_str())
    );

    // A client_secret in the body must be the current one (RFC 7592 §2.2).
    let mut chosen = put.body.clone();
    chosen["client_secret"] = json!("pcs_my-own-choice");
    let refused = manage(&s, reqwest::Method::PUT, uri, Some(token), Some(&chosen)).await;
    assert_error(&refused, 400, "invalid_client_metadata");
}

#[tokio::test]
async fn redirect_uris_private_use_schemes_accepted_dangerous_ones_refused() {
    let s = TestServer::start().await;
    for ok in [
        "cursor://anysphere.cursor-retrieval/oauth/user-callback",
        "vscode://vscode.github-authentication/did-authenticate",
    ] {
        let reg = register(
            &s,
            json!({ "redirect_uris": [ok], "token_endpoint_auth_method": "none" }),
        )
        .await;
        assert_eq!(reg.status, 201, "{ok}: {}", reg.body);
        assert_eq!(reg.body["redirect_uris"], json!([ok]));
    }
    for bad in [
        "javascript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "vbscript:msgbox(1)",
        "https://app.example/cb#fragment",
    ] {
        let reg = register(
            &s,
            json!({ "redirect_uris": ["https://app.example/ok", bad], "token_endpoint_auth_method": "none" }),
        )
        .await;
        assert_error(&reg, 400, "invalid_redirect_uri");
        assert_eq!(header(&reg, "access-control-allow-origin"), "*");
    }
    let none = register(&s, json!({ "token_endpoint_auth_method": "none" })).await;
    assert_error(&none, 400, "invalid_redirect_uri");
    // Wrong in two ways (no redirect URI, private_key_jwt without keys): the
    // redirect URI is named first, as it always was.
    let both = register(
        &s,
        json!({ "token_endpoint_auth_method": "private_key_jwt" }),
    )
    .await;
    assert_error(&both, 400, "invalid_redirect_uri");
}

#[tokio::test]
async fn unknown_metadata_is_ignored_and_bad_requests_are_refused() {
    let s = TestServer::start().await;
    let reg = register(
        &s,
        json!({
            "redirect_uris": ["https://app.example/cb"],
            "token_endpoint_auth_method": "none",
            "tos_uri_of_the_future": "https://app.example/tos",
            "x_custom": { "nested": [1, 2, 3] }
        }),
    )
    .await;
    assert_eq!(reg.status, 201, "{}", reg.body);
    assert!(reg.body.get("x_custom").is_none());

    let not_json = s
        .http
        .post(s.url(REGISTER))
        .header("Content-Type", "application/json")
        .body("redirect_uris=https://app.example/cb")
        .send()
        .await
        .unwrap();
    assert_error(&answer(not_json).await, 400, "invalid_client_metadata");

    let cc = register(
        &s,
        json!({ "redirect_uris": ["https://app.example/cb"], "grant_types": ["client_credentials"] }),
    )
    .await;
    assert_error(&cc, 400, "invalid_client_metadata");
    assert!(
        cc.body["error_description"]
            .as_str()
            .unwrap()
            .contains("portcullis client create"),
        "{}",
        cc.body
    );

    for bad in [
        json!({ "redirect_uris": ["https://app.example/cb"], "grant_types": ["password"] }),
        json!({ "redirect_uris": ["https://app.example/cb"], "response_types": ["token"] }),
        json!({ "redirect_uris": ["https://app.example/cb"], "token_endpoint_auth_method": "private_key_jwt" }),
        json!({ "redirect_uris": ["https://app.example/cb"], "scope": "openid \"quoted\"" }),
    ] {
        let refused = register(&s, bad.clone()).await;
        assert_error(&refused, 400, "invalid_client_metadata");
    }
}

#[tokio::test]
async fn closed_registration_is_refused_with_403() {
    let s = TestServer::start_with(vec![("PORTCULLIS_REGISTRATION__OPEN", "false")]).await;
    let reg = register(
        &s,
        json!({ "redirect_uris": ["https://app.example/cb"], "token_endpoint_auth_method": "none" }),
    )
    .await;
    assert_error(&reg, 403, "access_denied");
    assert_eq!(header(&reg, "access-control-allow-origin"), "*");
}

#[tokio::test]
async fn the_eleventh_registration_in_a_minute_is_rate_limited() {
    let s = TestServer::start().await;
    let metadata =
        json!({ "redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "none" });
    for i in 0..10 {
        let reg = register(&s, metadata.clone()).await;
        assert_eq!(reg.status, 201, "registration {}: {}", i + 1, reg.body);
    }
    let limited = register(&s, metadata).await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    let retry: u64 = header(&limited, "retry-after").parse().unwrap();
    assert!(retry >= 1);
    assert!(limited.body["error"].is_string(), "{}", limited.body);
    assert_eq!(header(&limited, "access-control-allow-origin"), "*");
}

#[tokio::test]
async fn cors_preflight_allows_browser_clients() {
    let s = TestServer::start().await;
    for (path, method) in [(REGISTER, "POST"), ("/oauth2/register/abc", "PUT")] {
        let res = s
            .http
            .request(reqwest::Method::OPTIONS, s.url(path))
            .header("Origin", "https://inspector.example")
            .header("Access-Control-Request-Method", method)
            .header(
                "Access-Control-Request-Headers",
                "content-type, mcp-protocol-version",
            )
            .send()
            .await
            .unwrap();
        let a = answer(res).await;
        assert!(a.status == 200 || a.status == 204, "{path}: {}", a.status);
        assert_eq!(header(&a, "access-control-allow-origin"), "*");
        let allowed = header(&a, "access-control-allow-headers").to_ascii_lowercase();
        assert!(allowed.contains("mcp-protocol-version"), "{allowed}");
        assert!(allowed.contains("content-type"), "{allowed}");
        assert!(allowed.contains("authorization"), "{allowed}");
        assert!(
            header(&a, "access-control-allow-methods").contains(method),
            "{path}"
        );
    }
}

async fn insert_user(s: &TestServer) -> String {
    let now = s.state.now();
    let user = users::Model {
        id: portcullis::tokens::opaque::new_id().into(),
        email: "consenting@example.com".into(),
        name: "Consenting Adult".into(),
        email_verified: true,
        image: None,
        created_at: now,
        updated_at: now,
    };
    let id = user.id.to_string();
    user.into_active_model().insert(&s.state.db).await.unwrap();
    id
}

#[tokio::test]
async fn unconsented_dynamic_clients_are_removed_after_a_day() {
    let s = TestServer::start().await;
    let metadata =
        json!({ "redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "none" });
    let stale = register(&s, metadata.clone()).await.body["client_id"]
        .as_str()
        .unwrap()
        .to_string();
    let consented = register(&s, metadata).await.body["client_id"]
        .as_str()
        .unwrap()
        .to_string();
    let user = insert_user(&s).await;
    consents::Model {
        user_id: user.into(),
        client_id: consented.clone().into(),
        scopes: "openid".into(),
        resources: String::new(),
        created_at: s.state.now(),
        updated_at: s.state.now(),
    }
    .into_active_model()
    .insert(&s.state.db)
    .await
    .unwrap();
    let out = s.cli(&[
        "client",
        "create",
        "--name",
        "Admin app",
        "--redirect-uri",
        "https://app.example/cb",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let admin: Value = serde_json::from_slice(&out.stdout).unwrap();
    let admin = admin["client_id"].as_str().unwrap();

    use portcullis::oauth::registration::remove_stale_dynamic_clients;
    let now = s.state.now();
    assert_eq!(
        remove_stale_dynamic_clients(&s.state.db, now)
            .await
            .unwrap(),
        0,
        "nothing is a day old yet"
    );
    assert_eq!(
        remove_stale_dynamic_clients(&s.state.db, now + 86_401)
            .await
            .unwrap(),
        1
    );
    assert!(stored(&s, &stale).await.is_none(), "stale client removed");
    assert!(stored(&s, &consented).await.is_some(), "consented kept");
    assert!(stored(&s, admin).await.is_some(), "admin client kept");
}
