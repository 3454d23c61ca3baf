use openidconnect::IssuerUrl;
use openidconnect::core::{CoreJsonWebKeySet, CoreProviderMetadata};
use serde_json::Value;

use crate::harness::{TestServer, get_json, get_text};
use crate::rp::http_client;

#[tokio::test]
async fn openidconnect_accepts_the_metadata_and_jwks() {
    let s = TestServer::start().await;
    let issuer = IssuerUrl::new(s.base.clone()).unwrap();
    let http = http_client(s.new_browser());
    let metadata = CoreProviderMetadata::discover_async(issuer.clone(), &http)
        .await
        .expect("discovery accepted");
    assert_eq!(metadata.issuer(), &issuer);
    assert_eq!(
        metadata.issuer().as_str(),
        s.base,
        "issuer byte for byte, no trailing slash"
    );
    let jwks: &CoreJsonWebKeySet = metadata.jwks();
    assert_eq!(jwks.keys().len(), 3, "one key per algorithm");
}

#[tokio::test]
async fn both_well_known_documents_are_identical_and_cors_enabled() {
    let s = TestServer::start().await;
    let oidc = s
        .http
        .get(s.url("/.well-known/openid-configuration"))
        .header("Origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(oidc.status(), 200);
    assert_eq!(oidc.headers()["access-control-allow-origin"], "*");
    assert!(
        oidc.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let oidc = oidc.text().await.unwrap();
    let oauth = get_text(&s.http, s.url("/.well-known/oauth-authorization-server")).await;
    assert_eq!(oidc, oauth);
    let doc: Value = serde_json::from_str(&oidc).unwrap();
    assert_eq!(doc["issuer"], s.base);
    assert_eq!(doc["jwks_uri"], format!("{}/oauth2/jwks", s.base));
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    // Every URL in the document starts with the issuer exactly.
    for (k, v) in doc.as_object().unwrap() {
        if k.ends_with("_endpoint") || k.ends_with("_uri") {
            assert!(v.as_str().unwrap().starts_with(&s.base), "{k}");
        }
    }
    let preflight = s
        .http
        .request(reqwest::Method::OPTIONS, s.url("/oauth2/jwks"))
        .header("Origin", "https://app.example")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "mcp-protocol-version")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    assert!(
        preflight.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_lowercase()
            .contains("mcp-protocol-version")
    );
}

#[tokio::test]
async fn jwks_keys_have_kid_alg_use() {
    let s = TestServer::start().await;
    let res = s.http.get(s.url("/oauth2/jwks")).send().await.unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    // JSON gets the API policy: nothing may load, nothing may frame it.
    assert_eq!(
        res.headers()["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'"
    );
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let jwks: Value = res.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    let mut algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    algs.sort();
    assert_eq!(algs, ["ES256", "EdDSA", "RS256"]);
    for k in keys {
        assert_eq!(k["use"], "sig");
        assert!(k["kid"].as_str().unwrap().len() >= 16);
        assert!(
            k.get("d").is_none() && k.get("p").is_none(),
            "no private members"
        );
    }
}

#[tokio::test]
async fn an_issuer_with_a_trailing_slash_is_kept_as_configured() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let issuer = format!("http://localhost:{port}/");
    let s = TestServer::start_with(vec![("PORTCULLIS_ISSUER", issuer.as_str())]).await;
    let doc: Value = get_json(&s.http, s.url("/.well-known/openid-configuration")).await;
    assert_eq!(doc["issuer"], issuer);
    assert_eq!(
        doc["jwks_uri"],
        format!("http://localhost:{port}/oauth2/jwks")
    );
}

/// Status, headers other than `Date` (sorted), and body of a request. It
/// names its request id, so that both layers echo the same one.
async fn answer(s: &TestServer, method: reqwest::Method, path: &str) -> (u16, Vec<String>, String) {
    let res = s
        .http
        .request(method, s.url(path))
        .header("x-request-id", "answer")
        .send()
        .await
        .unwrap();
    let mut headers: Vec<String> = res
        .headers()
        .iter()
        .filter(|(n, _)| *n != "date")
        .map(|(n, v)| format!("{n}: {}", v.to_str().unwrap()))
        .collect();
    headers.sort();
    (res.status().as_u16(), headers, res.text().await.unwrap())
}

fn has(headers: &[String], header: &str) -> bool {
    headers.iter().any(|h| h == header)
}

fn responses_2xx(metrics: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("portcullis_http_responses_total{class=\"2xx\"} "))
        .unwrap()
        .parse()
        .unwrap()
}

/// The documents are answered in front of the App (server/src/http/documents.rs)
/// unless the key set is due for its reload or the path is percent-escaped
/// (only the App's router decodes it): the answer is the same either way.
#[tokio::test]
async fn the_public_documents_answer_alike_from_either_layer() {
    let s = TestServer::start().await;
    let get = reqwest::Method::GET;
    for (plain, escaped) in [
        ("/oauth2/jwks", "/oauth2/%6Awks"),
        (
            "/.well-known/openid-configuration",
            "/.well-known/openid-%63onfiguration",
        ),
        (
            "/.well-known/oauth-authorization-server",
            "/.well-known/oauth-%61uthorization-server",
        ),
    ] {
        let front = answer(&s, get.clone(), plain).await;
        assert_eq!(front.0, 200, "{plain}");
        assert!(has(&front.1, "x-content-type-options: nosniff"), "{plain}");
        assert!(has(&front.1, "access-control-allow-origin: *"), "{plain}");
        assert_eq!(front, answer(&s, get.clone(), escaped).await, "{plain}");
        // HEAD (RFC 9110 §9.3.2): GET's headers without the body, from both.
        for path in [plain, escaped] {
            let head = answer(&s, reqwest::Method::HEAD, path).await;
            assert_eq!(
                (head.0, &head.1, head.2.as_str()),
                (200, &front.1, ""),
                "{path}"
            );
        }
    }

    // Due for its reload: the App reloads and answers, then the front again.
    let keys = answer(&s, get.clone(), "/oauth2/jwks").await;
    s.clock.advance(31);
    assert_eq!(answer(&s, get.clone(), "/oauth2/jwks").await, keys);
    assert_eq!(answer(&s, get.clone(), "/oauth2/jwks").await, keys);

    // Other methods are the App's as before.
    let post = answer(&s, reqwest::Method::POST, "/oauth2/jwks").await;
    assert_eq!(post.0, 404);
    assert!(has(&post.1, "x-content-type-options: nosniff"));

    // Every answer counts in the metrics, whichever layer gave it.
    let metrics = |s: &TestServer| {
        let url = s.url("/metrics");
        let http = s.http.clone();
        async move { get_text(&http, url).await }
    };
    let before = responses_2xx(&metrics(&s).await);
    for _ in 0..5 {
        answer(&s, get.clone(), "/oauth2/jwks").await;
    }
    // The first scrape counts once it has been answered.
    assert_eq!(responses_2xx(&metrics(&s).await), before + 1 + 5);
}

#[tokio::test]
async fn discovery_lists_every_endpoint_and_capability() {
    let s = TestServer::start().await;
    let d: Value = get_json(&s.http, s.url("/.well-known/openid-configuration")).await;
    for (k, path) in [
        ("authorization_endpoint", "/oauth2/authorize"),
        ("token_endpoint", "/oauth2/token"),
        ("userinfo_endpoint", "/oauth2/userinfo"),
        ("jwks_uri", "/oauth2/jwks"),
        ("registration_endpoint", "/oauth2/register"),
        ("introspection_endpoint", "/oauth2/introspect"),
        ("revocation_endpoint", "/oauth2/revoke"),
        ("end_session_endpoint", "/oauth2/end_session"),
    ] {
        assert_eq!(d[k], format!("{}{path}", s.base), "{k}");
    }
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
    for m in [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    ] {
        assert!(
            d["token_endpoint_auth_methods_supported"]
                .as_array()
                .unwrap()
                .contains(&Value::from(m))
        );
    }
    for g in ["authorization_code", "refresh_token", "client_credentials"] {
        assert!(
            d["grant_types_supported"]
                .as_array()
                .unwrap()
                .contains(&Value::from(g))
        );
    }
    assert!(
        d["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&Value::from("offline_access"))
    );
    assert!(
        d["claims_supported"]
            .as_array()
            .unwrap()
            .contains(&Value::from("email_verified"))
    );
}
