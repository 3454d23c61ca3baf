//! The client address behind proxies: a forwarding header counts only from a
//! peer in `PORTCULLIS_TRUSTED_PROXIES`, and then each client forwarded to us
//! has its own rate-limit budget.

use serde_json::json;

use crate::harness::TestServer;

/// Registers a client (10 a minute per address by default; 2 here), sending
/// `header: value`; the status.
async fn register(s: &TestServer, header: &str, value: &str) -> u16 {
    s.new_browser()
        .post(s.url("/oauth2/register"))
        .header(header, value)
        .json(&json!({ "redirect_uris": ["https://app.example/cb"], "client_name": "Proxied" }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget() {
    let s = TestServer::start_with(vec![
        ("PORTCULLIS_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1"),
        ("PORTCULLIS_RATE_LIMIT__REGISTRATION", "2"),
    ])
    .await;
    let xff = "x-forwarded-for";
    // The client's own entry on the left is not believed: the proxy's is.
    for _ in 0..2 {
        assert_ne!(register(&s, xff, "6.6.6.6, 198.51.100.1").await, 429);
    }
    assert_eq!(register(&s, xff, "7.7.7.7, 198.51.100.1").await, 429);
    assert_ne!(register(&s, xff, "198.51.100.2").await, 429);
    // A second trusted proxy in the chain is skipped.
    assert_ne!(register(&s, xff, "198.51.100.3, 10.1.2.3").await, 429);
    assert_ne!(register(&s, xff, "198.51.100.3, 10.1.2.3").await, 429);
    assert_eq!(register(&s, xff, "198.51.100.3, 10.9.9.9").await, 429);
}

#[tokio::test]
async fn a_forwarded_address_from_an_untrusted_peer_is_ignored() {
    // The test's connections come from 127.0.0.1, not from 10.0.0.0/8.
    let s = TestServer::start_with(vec![
        ("PORTCULLIS_TRUSTED_PROXIES", "10.0.0.0/8"),
        ("PORTCULLIS_RATE_LIMIT__REGISTRATION", "2"),
    ])
    .await;
    assert_ne!(register(&s, "x-forwarded-for", "198.51.100.1").await, 429);
    assert_ne!(register(&s, "x-forwarded-for", "198.51.100.2").await, 429);
    assert_eq!(register(&s, "x-forwarded-for", "198.51.100.3").await, 429);
    assert_eq!(register(&s, "forwarded", "for=198.51.100.4").await, 429);
}

#[tokio::test]
async fn the_forwarded_header_is_read_when_configured_and_then_only_it() {
    let s = TestServer::start_with(vec![
        ("PORTCULLIS_TRUSTED_PROXIES", "127.0.0.0/8"),
        ("PORTCULLIS_TRUSTED_PROXY_HEADER", "forwarded"),
        ("PORTCULLIS_RATE_LIMIT__REGISTRATION", "2"),
    ])
    .await;
    let f = "forwarded";
    assert_ne!(
        register(&s, f, r#"for="[2001:db8:1:2::1]:4711";proto=https"#).await,
        429
    );
    // Another address in the same IPv6 /64 shares its budget.
    assert_ne!(register(&s, f, "for=\"[2001:db8:1:2::ffff]\"").await, 429);
    assert_eq!(register(&s, f, "for=\"[2001:db8:1:2::abcd]\"").await, 429);
    assert_ne!(register(&s, f, "for=192.0.2.60;by=203.0.113.43").await, 429);
    // X-Forwarded-For is not what this proxy sets: all of these are the peer's.
    assert_ne!(register(&s, "x-forwarded-for", "198.51.100.1").await, 429);
    assert_ne!(register(&s, "x-forwarded-for", "198.51.100.2").await, 429);
    assert_eq!(register(&s, "x-forwarded-for", "198.51.100.3").await, 429);
}

#[test]
fn a_trusted_proxy_that_is_not_a_cidr_stops_the_start() {
    let err = portcullis::Settings::load_from(vec![(
        "PORTCULLIS_TRUSTED_PROXIES".into(),
        "10.0.0.0/8,lb.internal".into(),
    )])
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("invalid PORTCULLIS_TRUSTED_PROXIES:"),
        "{err}"
    );
    assert!(!err.contains('\n'));
}
