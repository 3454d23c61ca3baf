//! Every answer carries an `X-Request-Id`: a new one per request, or the one
//! a proxy in front sent when it is short and plain.

use std::collections::HashSet;

use crate::harness::TestServer;

const HEADER: &str = "x-request-id";

async fn id_of(s: &TestServer, path: &str, sent: Option<&str>) -> String {
    let mut req = s.http.get(s.url(path));
    if let Some(id) = sent {
        req = req.header(HEADER, id);
    }
    let res = req.send().await.unwrap();
    let id = res.headers().get(HEADER);
    let id = id.unwrap_or_else(|| panic!("{path}: no {HEADER}"));
    id.to_str().unwrap().to_string()
}

fn plain(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[tokio::test]
async fn every_answer_carries_a_request_id_of_its_own() {
    let s = TestServer::start().await;
    let mut seen = HashSet::new();
    // A page, JSON of the API, a 404, the probes, and the documents answered
    // in front of the App.
    for path in [
        "/login",
        "/.auth/api/v1/auth/get-session",
        "/.auth/api/v1/auth/no-such-call",
        "/no-such-page",
        "/healthz",
        "/oauth2/jwks",
        "/.well-known/openid-configuration",
        "/login",
        "/oauth2/jwks",
    ] {
        let id = id_of(&s, path, None).await;
        assert!(plain(&id), "{path}: {id:?}");
        assert!(seen.insert(id.clone()), "{path}: {id} given twice");
    }
}

#[tokio::test]
async fn a_plain_incoming_id_is_echoed_and_any_other_replaced() {
    let s = TestServer::start().await;
    for path in ["/login", "/oauth2/jwks", "/.auth/api/v1/auth/get-session"] {
        let sent = "edge-7f3a_01.b";
        assert_eq!(id_of(&s, path, Some(sent)).await, sent, "{path}");
        let too_long = "a".repeat(65);
        for bad in ["has space", "semi;colon", "slash/ed", "", too_long.as_str()] {
            let id = id_of(&s, path, Some(bad)).await;
            assert_ne!(id, bad, "{path}: {bad:?} kept");
            assert!(plain(&id), "{path}: {id:?}");
        }
    }
}
