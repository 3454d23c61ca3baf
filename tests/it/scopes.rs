//! The deployment's scope allowlist (`PORTCULLIS_SCOPES`,
//! `PORTCULLIS_RESOURCE_SCOPES`): what discovery offers is all a
//! self-described client can register or be granted, and resource scopes
//! go only into tokens for their resource.

use serde_json::{Value, json};

use crate::flow::{self, TestClient, VERIFIER, follow, param};
use crate::harness::{TestServer, error_of, get_json};
use crate::self_described::{claims_to_be_github, register};

const API: &str = "https://api.example/";
const MCP: &str = "https://mcp.example/mcp";

/// A server offering `openid email` to all and `api:read` for the API only.
async fn server() -> TestServer {
    TestServer::start_with(vec![
        ("PORTCULLIS_SCOPES", "openid,email"),
        (
            "PORTCULLIS_RESOURCES",
            "https://api.example/,https://mcp.example/mcp",
        ),
        (
            "PORTCULLIS_RESOURCE_SCOPES",
            "https://api.example/ api:read",
        ),
    ])
    .await
}

/// Gives a stored client `scope`, as rows registered before the allowlist
/// may hold.
async fn set_stored_scope(s: &TestServer, id: &str, scope: &str) {
    use sea_orm::{ActiveModelTrait, ActiveValue, IntoActiveModel};
    let row =
        portcullis::store::clients::find(&s.state.db, &portcullis::domain::ids::ClientId::from(id))
            .await
            .unwrap()
            .unwrap();
    let mut meta: Value = serde_json::from_str(&row.metadata).unwrap();
    meta["scope"] = json!(scope);
    let mut am = row.into_active_model();
    am.metadata = ActiveValue::Set(meta.to_string());
    am.update(&s.state.db).await.unwrap();
    portcullis::oauth::client::forget(&s.state, &portcullis::domain::ids::ClientId::from(id)).await;
}

#[tokio::test]
async fn discovery_lists_exactly_the_offered_scopes() {
    let s = server().await;
    let d: Value = get_json(&s.http, s.url("/.well-known/openid-configuration")).await;
    assert_eq!(
        d["scopes_supported"],
        json!(["openid", "email", "api:read"])
    );
}

#[tokio::test]
async fn self_registered_clients_cannot_give_themselves_scopes() {
    let s = server().await;
    let mut greedy = claims_to_be_github();
    greedy["scope"] = json!("openid admin:all");
    let res = s
        .http
        .post(s.url("/oauth2/register"))
        .json(&greedy)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client_metadata");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("admin:all")
    );

    // Without a scope, a client gets the general ones; resource scopes on request.
    let plain = register(&s, claims_to_be_github()).await;
    let stored = portcullis::store::clients::find(
        &s.state.db,
        &portcullis::domain::ids::ClientId::from(plain.id.as_str()),
    )
    .await
    .unwrap()
    .unwrap();
    let meta: Value = serde_json::from_str(&stored.metadata).unwrap();
    assert_eq!(meta["scope"], "openid email");
    let mut api = claims_to_be_github();
    api["scope"] = json!("openid api:read");
    register(&s, api).await;
}

#[tokio::test]
async fn authorize_and_device_refuse_scopes_outside_the_allowlist_even_for_old_clients() {
    let s = server().await;
    let mut metadata = claims_to_be_github();
    metadata["grant_types"] = json!([
        "authorization_code",
        "urn:ietf:params:oauth:grant-type:device_code"
    ]);
    let c = register(&s, metadata).await;
    // Registered before the allowlist existed.
    set_stored_scope(&s, &c.id, "openid admin:all api:read").await;
    let b = flow::signed_in(&s, "scopes@example.com").await;
    let ok = follow(
        &s,
        &b,
        &flow::authorize_url(&s, &c, &[("scope", "openid")], Some(VERIFIER)),
        "",
        "allow",
    )
    .await;
    assert!(param(&ok, "code").is_some());

    let refused = follow(
        &s,
        &b,
        &flow::authorize_url(&s, &c, &[("scope", "openid admin:all")], Some(VERIFIER)),
        "",
        "allow",
    )
    .await;
    assert_eq!(param(&refused, "error").as_deref(), Some("invalid_scope"));
    // A resource scope only for its resource.
    let wrong_resource = follow(
        &s,
        &b,
        &flow::authorize_url(
            &s,
            &c,
            &[("scope", "openid api:read"), ("resource", MCP)],
            Some(VERIFIER),
        ),
        "",
        "allow",
    )
    .await;
    assert_eq!(
        param(&wrong_resource, "error").as_deref(),
        Some("invalid_scope")
    );

    let device = |scope: Option<&str>, resource: Option<&str>| {
        let mut form = vec![("client_id", c.id.clone())];
        if let Some(sc) = scope {
            form.push(("scope", sc.to_string()));
        }
        if let Some(r) = resource {
            form.push(("resource", r.to_string()));
        }
        reqwest::Client::new()
            .post(s.url("/oauth2/device_authorization"))
            .form(&form)
            .send()
    };
    // A resource scope asked for without its resource would go into a token
    // for this server: refused like any other misplaced resource scope.
    for scope in [Some("openid admin:all"), None, Some("openid api:read")] {
        let res = device(scope, None).await.unwrap();
        assert_eq!(res.status(), 400, "{scope:?}");
        assert_eq!(error_of(res).await, "invalid_scope");
    }
    let res = device(Some("openid api:read"), Some(API)).await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_resource_scope_without_its_resource_is_refused_at_authorize() {
    let s = server().await;
    let mut api = claims_to_be_github();
    api["scope"] = json!("openid api:read");
    let c = register(&s, api).await;
    let b = flow::signed_in(&s, "no-resource@example.com").await;
    // Approved once, so its errors go back to it.
    let ok = follow(
        &s,
        &b,
        &flow::authorize_url(
            &s,
            &c,
            &[("scope", "openid api:read"), ("resource", API)],
            Some(VERIFIER),
        ),
        "",
        "allow",
    )
    .await;
    assert!(param(&ok, "code").is_some());
    // Without a resource the token would be for this server.
    let refused = follow(
        &s,
        &b,
        &flow::authorize_url(&s, &c, &[("scope", "openid api:read")], Some(VERIFIER)),
        "",
        "allow",
    )
    .await;
    assert_eq!(param(&refused, "error").as_deref(), Some("invalid_scope"));
}

/// Gives a stored refresh token `scope`, as rows issued before a scope left
/// the configuration may hold.
async fn set_refresh_scope(s: &TestServer, token: &str, scope: &str) {
    use entities::refresh_tokens;
    use sea_orm::{ActiveModelTrait, ActiveValue, EntityTrait, IntoActiveModel};
    let hash = portcullis::tokens::opaque::ordered_hash(token);
    let row = refresh_tokens::Entity::find_by_id(hash)
        .one(&s.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut am = row.into_active_model();
    am.scope = ActiveValue::Set(scope.to_string());
    am.update(&s.state.db).await.unwrap();
}

#[tokio::test]
async fn refresh_refuses_a_scope_the_deployment_no_longer_offers_until_narrowed() {
    let s = server().await;
    let c = register(&s, claims_to_be_github()).await;
    let b = flow::signed_in(&s, "refresh-scopes@example.com").await;
    let back = follow(
        &s,
        &b,
        // Without `openid`, no `offline_access` is needed for a refresh token.
        &flow::authorize_url(&s, &c, &[("scope", "email")], Some(VERIFIER)),
        "",
        "allow",
    )
    .await;
    let code = param(&back, "code").unwrap();
    let t: Value = flow::exchange(&s, &c, &code).await.json().await.unwrap();
    let refresh = t["refresh_token"].as_str().unwrap();
    // Granted before the upgrade that stopped offering it.
    set_refresh_scope(&s, refresh, "email admin:all").await;
    let res = flow::token(
        &s,
        &c,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(res.status(), 400);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"], "invalid_scope", "{err}");
    assert!(
        err["error_description"]
            .as_str()
            .unwrap()
            .contains("admin:all")
    );
    // The refused request did not spend the token: a narrower one works.
    let res = flow::token(
        &s,
        &c,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("scope", "email"),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
    let t: Value = res.json().await.unwrap();
    assert_eq!(t["scope"], "email");
}

#[tokio::test]
async fn client_credentials_scopes_go_only_into_tokens_for_their_resource() {
    let s = server().await;
    // An administrator may hand out scopes the deployment does not offer.
    let c: TestClient = flow::service_client(&s, Some("api:read admin:all")).await;
    async fn ask(s: &TestServer, c: &TestClient, scope: &str, resource: &str) -> reqwest::Response {
        let form = [
            ("grant_type", "client_credentials"),
            ("scope", scope),
            ("resource", resource),
        ];
        flow::token(s, c, &form).await
    }
    let res = ask(&s, &c, "api:read", MCP).await;
    assert_eq!(res.status(), 400);
    assert_eq!(error_of(res).await, "invalid_scope");
    let res = ask(&s, &c, "api:read", API).await;
    assert_eq!(res.status(), 200);
    let t: Value = res.json().await.unwrap();
    assert_eq!(
        flow::claims(t["access_token"].as_str().unwrap())["aud"],
        API
    );
    assert_eq!(ask(&s, &c, "admin:all", MCP).await.status(), 200);
}

#[test]
fn resource_scopes_must_name_a_configured_resource() {
    let load = |entry: &str| {
        portcullis::Settings::load_from(vec![("PORTCULLIS_RESOURCE_SCOPES".into(), entry.into())])
    };
    let err = load("https://elsewhere.example/ x:y")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("invalid PORTCULLIS_RESOURCE_SCOPES"),
        "{err}"
    );
    assert!(
        load("http://localhost:8080/mcp").is_err(),
        "no scopes named"
    );
    assert!(load("http://localhost:8080/mcp bad\"scope").is_err());
    assert!(load("http://localhost:8080/mcp mcp:tools").is_ok());
}
