//! Request limits: every endpoint reads a capped body and answers anything
//! larger quickly and in its own error shape; forms are parsed in linear time.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::api::API;
use crate::flow::{TestClient, confidential_client};
use crate::harness::TestServer;

/// The body of the reported attack: 52,000 distinct three-character keys,
/// 256 KiB, which took a worker seconds to check for repeats.
fn many_keys_body() -> String {
    let alphabet: Vec<char> = ('a'..='z').chain('A'..='Z').chain('0'..='9').collect();
    let mut keys = Vec::with_capacity(52_000);
    'all: for a in &alphabet {
        for b in &alphabet {
            for c in &alphabet {
                keys.push(format!("{a}{b}{c}"));
                if keys.len() == 52_000 {
                    break 'all;
                }
            }
        }
    }
    keys.join("=&") + "="
}

/// A loaded debug build answers a refused body in about a millisecond;
/// the quadratic check took seconds on a release build.
const QUICK: Duration = Duration::from_millis(200);

/// POSTs a form; `chunked` sends it with no `Content-Length`, so the server
/// learns its size only while reading it.
async fn post_form(
    s: &TestServer,
    http: &reqwest::Client,
    path: &str,
    body: String,
    chunked: bool,
) -> (u16, Value) {
    if chunked {
        return chunked_post(s, path, body).await;
    }
    let res = http
        .post(s.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn chunked_post(s: &TestServer, path: &str, body: String) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\
         content-type: application/x-www-form-urlencoded\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    let mut out = head.into_bytes();
    for chunk in body.as_bytes().chunks(16 * 1024) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    // The server may answer and close before it has read everything.
    let _ = conn.write_all(&out).await;
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no answer: {answer:?}"));
    let json = answer
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, json)
}

async fn client_credentials(s: &TestServer, c: &TestClient) -> reqwest::Response {
    crate::flow::token(s, c, &[("grant_type", "client_credentials")]).await
}

#[tokio::test]
async fn a_huge_form_is_refused_in_milliseconds_with_413_invalid_request() {
    let s = TestServer::start().await;
    let body = many_keys_body();
    assert!(body.len() > 250 * 1024);
    let http = reqwest::Client::new();
    for path in [
        "/oauth2/token",
        "/oauth2/introspect",
        "/oauth2/revoke",
        "/oauth2/device_authorization",
        "/oauth2/userinfo",
    ] {
        for chunked in [false, true] {
            let started = Instant::now();
            let (status, err) = post_form(&s, &http, path, body.clone(), chunked).await;
            let took = started.elapsed();
            assert_eq!(status, 413, "{path} chunked={chunked}");
            assert_eq!(err["error"], "invalid_request", "{path}: {err}");
            assert!(took < QUICK, "{path} chunked={chunked} took {took:?}");
        }
    }
}

#[tokio::test]
async fn token_requests_stay_fast_while_huge_forms_are_in_flight() {
    let s = TestServer::start().await;
    let c = confidential_client(&s).await;
    assert_eq!(client_credentials(&s, &c).await.status(), 200);
    let body = many_keys_body();
    let http = reqwest::Client::new();
    let attack = futures_util::future::join_all(
        (0..8).map(|i| post_form(&s, &http, "/oauth2/token", body.clone(), i % 2 == 0)),
    );
    let normal = async {
        let started = Instant::now();
        let res = client_credentials(&s, &c).await;
        (res.status(), started.elapsed())
    };
    let (refused, (status, took)) = tokio::join!(attack, normal);
    assert!(refused.iter().all(|(status, _)| *status == 413));
    assert_eq!(status, 200);
    assert!(
        took < Duration::from_secs(1),
        "a token request took {took:?}"
    );
}

#[tokio::test]
async fn a_form_with_too_many_parameters_under_the_size_cap_is_refused() {
    let s = TestServer::start().await;
    let c = confidential_client(&s).await;
    // 65 distinct short parameters: 600 bytes, far under the cap.
    let mut form: Vec<(String, String)> = (0..65).map(|i| (format!("x{i}"), "1".into())).collect();
    form.push(("grant_type".into(), "client_credentials".into()));
    let res = reqwest::Client::new()
        .post(s.url("/oauth2/token"))
        .basic_auth(&c.id, c.secret.as_deref())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"], "invalid_request");
    assert!(
        err["error_description"]
            .as_str()
            .unwrap()
            .contains("parameters"),
        "{err}"
    );
    // Repeats are still found (among few parameters, and `resource` may repeat).
    let res = reqwest::Client::new()
        .post(s.url("/oauth2/token"))
        .basic_auth(&c.id, c.secret.as_deref())
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "a"),
            ("scope", "b"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error_description"], "parameter scope repeated");
}

#[tokio::test]
async fn an_oversized_or_deep_registration_gets_a_json_error() {
    let s = TestServer::start().await;
    let filler = "x".repeat(70 * 1024);
    let res = reqwest::Client::new()
        .post(s.url("/oauth2/register"))
        .json(&json!({ "redirect_uris": ["https://app.example/cb"], "client_name": filler }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"], "invalid_request");
    // Deep nesting is refused by the JSON parser's depth limit, not a crash.
    let deep = format!(
        r#"{{"redirect_uris":["https://app.example/cb"],"x":{}{}}}"#,
        "[".repeat(20_000),
        "]".repeat(20_000)
    );
    let res = reqwest::Client::new()
        .post(s.url("/oauth2/register"))
        .header("content-type", "application/json")
        .body(deep)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"], "invalid_client_metadata");
}

async fn api(s: &TestServer, path: &str, body: String) -> (u16, Value) {
    let res = s
        .new_browser()
        .post(s.url(&format!("{API}/{path}")))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_api_answers_oversize_deep_or_long_input_with_code_and_message() {
    let s = TestServer::start().await;
    let padding = "x".repeat(20 * 1024);
    let (status, err) = api(
        &s,
        "sign-in/email",
        json!({ "email": "a@b.example", "password": "pw", "padding": padding }).to_string(),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (413, Some("PAYLOAD_TOO_LARGE"))
    );
    assert!(err["message"].is_string());

    // Deep nesting under the size cap: refused where it would be parsed
    // (serde_json stops at 128 levels), skipped in linear time where ignored.
    let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    let deep = format!(r#"{{"email":{},"password":"pw"}}"#, nested(4000));
    let (status, err) = api(&s, "sign-in/email", deep).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("INVALID_REQUEST_BODY"))
    );
    let ignored = format!(
        r#"{{"email":"a@b.example","password":"pw","x":{}}}"#,
        nested(4000)
    );
    let (status, err) = api(&s, "sign-in/email", ignored).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (401, Some("INVALID_EMAIL_OR_PASSWORD"))
    );

    let long_password = "p".repeat(2000);
    let (status, err) = api(
        &s,
        "sign-in/email",
        json!({ "email": "a@b.example", "password": long_password }).to_string(),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("PASSWORD_TOO_LONG"))
    );

    let long_email = format!("{}@b.example", "a".repeat(300));
    for path in [
        "sign-in/magic-link",
        "forget-password",
        "send-verification-email",
    ] {
        let (status, err) = api(&s, path, json!({ "email": long_email }).to_string()).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (400, Some("INVALID_EMAIL")),
            "{path}"
        );
    }
    let (status, err) = api(
        &s,
        "sign-up/email",
        json!({ "email": "new@b.example", "password": "correct horse battery", "name": "n".repeat(1000) })
            .to_string(),
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (400, Some("INVALID_NAME")));

    // Passkey ceremonies may be larger, but not unbounded.
    let (status, err) = api(
        &s,
        "passkey/authenticate",
        json!({ "ceremony": "c", "padding": "x".repeat(70 * 1024) }).to_string(),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (413, Some("PAYLOAD_TOO_LARGE"))
    );
}

/// The routes that act for a signed-in person read their body first: a bad
/// body is `400`/`413` whether or not a session came with it, and only a
/// good one is then refused `401` without a session. (Refusing on the
/// session first would make the answer depend on which of the two failed
/// faster.)
#[tokio::test]
async fn signed_in_routes_judge_the_body_before_the_session() {
    let s = TestServer::start().await;
    let long = "x".repeat(300);
    let very_long = "x".repeat(2000);
    for (path, body, code) in [
        ("two-factor/verify", json!({ "code": long }), "INVALID_CODE"),
        (
            "email-otp/verify-email",
            json!({ "otp": long }),
            "INVALID_CODE",
        ),
        ("change-email", json!({ "newEmail": long }), "INVALID_EMAIL"),
        (
            "passkey/delete-passkey",
            json!({ "id": very_long }),
            "INVALID_TOKEN",
        ),
    ] {
        let (status, err) = api(&s, path, body.to_string()).await;
        assert_eq!((status, err["code"].as_str()), (400, Some(code)), "{path}");
        let (status, err) = api(&s, path, "not json".into()).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (400, Some("INVALID_REQUEST_BODY")),
            "{path}"
        );
        let padding = json!({ "padding": "x".repeat(20 * 1024) }).to_string();
        let (status, err) = api(&s, path, padding).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (413, Some("PAYLOAD_TOO_LARGE")),
            "{path}"
        );
    }
    let (status, err) = api(
        &s,
        "two-factor/verify",
        json!({ "code": "123456" }).to_string(),
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (401, Some("UNAUTHORIZED")));
}

#[tokio::test]
async fn screens_answer_oversize_forms_and_long_fields_with_a_page() {
    let s = TestServer::start().await;
    let b = s.new_browser();
    let res = b
        .post(s.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "email=a%40b.example&password={}",
            "p".repeat(10 * 1024)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let res = b
        .post(s.url("/oauth2/authorize"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(many_keys_body())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let res = b
        .post(s.url("/login"))
        .form(&[
            ("email", "a@b.example"),
            ("password", &"p".repeat(2000)),
            ("csrf_token", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("too long"));
}

/// The status line and headers of a GET of `target`, sent over a bare connection.
async fn raw_get(s: &TestServer, target: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    // The server may answer and close before it has read everything: keep
    // whatever came back before a reset.
    let _ = conn.write_all(request.as_bytes()).await;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = conn.read(&mut buf).await {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_string()
}

/// `n` distinct scope tokens of a few characters each.
fn many_scopes(n: usize) -> String {
    (0..n)
        .map(|i| format!("s{i}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn a_huge_authorization_query_is_refused_in_milliseconds_and_many_scopes_are_invalid_scope() {
    let s = TestServer::start().await;
    let c = crate::flow::public_client(&s).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // 30,000 scopes in a 100 KiB query: refused before it is parsed.
    // (Sent by hand: reqwest refuses URLs this long.)
    let scopes = many_scopes(30_000);
    let url =
        crate::flow::authorize_url(&s, &c, &[("scope", &scopes)], Some(crate::flow::VERIFIER));
    let target = &url[url.find("/oauth2/").unwrap()..];
    assert!(target.len() > 100 * 1024);
    let started = Instant::now();
    let head = raw_get(&s, target).await;
    let took = started.elapsed();
    assert!(head.starts_with("HTTP/1.1 4"), "{head}");
    assert!(took < QUICK, "took {took:?}");
    // 5,000 scopes in 30 KiB: a head the HTTP layer takes, refused by us
    // before the query is parsed, with a page.
    let scopes = many_scopes(5_000);
    let url =
        crate::flow::authorize_url(&s, &c, &[("scope", &scopes)], Some(crate::flow::VERIFIER));
    let target = &url[url.find("/oauth2/").unwrap()..];
    assert!(target.len() > 16 * 1024);
    let started = Instant::now();
    let head = raw_get(&s, target).await;
    let took = started.elapsed();
    assert!(head.starts_with("HTTP/1.1 414"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/html"),
        "{head}"
    );
    assert!(took < QUICK, "took {took:?}");
    // Under the cap, more than a hundred scopes: invalid_scope, quickly.
    let scopes = many_scopes(2_000);
    let url =
        crate::flow::authorize_url(&s, &c, &[("scope", &scopes)], Some(crate::flow::VERIFIER));
    let started = Instant::now();
    let res = http.get(&url).send().await.unwrap();
    let took = started.elapsed();
    assert!(took < QUICK, "took {took:?}");
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    let body = res.text().await.unwrap();
    let refused_as_invalid_scope = match location {
        Some(l) => l.contains("error=invalid_scope"),
        None => (400..500).contains(&status) && body.contains("100 scopes"),
    };
    assert!(refused_as_invalid_scope, "{status} {body}");
    // The token endpoint refuses them too.
    let c = confidential_client(&s).await;
    let res = crate::flow::token(
        &s,
        &c,
        &[
            ("grant_type", "client_credentials"),
            ("scope", &many_scopes(101)),
        ],
    )
    .await;
    assert_eq!(res.status(), 400);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"], "invalid_scope");
}
