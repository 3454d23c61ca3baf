use crate::harness::TestServer;

#[tokio::test]
async fn health_readiness_and_metrics() {
    let s = TestServer::start().await;
    assert_eq!(
        s.http.get(s.url("/healthz")).send().await.unwrap().status(),
        200
    );
    assert_eq!(
        s.http.get(s.url("/readyz")).send().await.unwrap().status(),
        200
    );
    let m = s.http.get(s.url("/metrics")).send().await.unwrap();
    assert!(
        m.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = m.text().await.unwrap();
    assert!(text.contains("# TYPE portcullis_http_responses_total counter"));
    assert!(
        text.contains("portcullis_http_responses_total{class=\"2xx\"} 2"),
        "{text}"
    );
}

#[tokio::test]
async fn readyz_fails_when_the_database_is_gone() {
    let s = TestServer::start().await;
    s.state.db.clone().close().await.unwrap();
    assert_eq!(
        s.http.get(s.url("/readyz")).send().await.unwrap().status(),
        503
    );
    assert_eq!(
        s.http.get(s.url("/healthz")).send().await.unwrap().status(),
        200
    );
}

async fn metrics_status(s: &TestServer, token: Option<&str>) -> u16 {
    let mut req = reqwest::Client::new().get(s.url("/metrics"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn metrics_are_refused_outside_the_configured_addresses() {
    let s =
        TestServer::start_with(vec![("PORTCULLIS_METRICS__ALLOW", "10.0.0.0/8,fd00::/8")]).await;
    assert_eq!(metrics_status(&s, None).await, 403);
    assert_eq!(metrics_status(&s, Some("anything-at-all-here")).await, 403);
    let s = TestServer::start_with(vec![("PORTCULLIS_METRICS__ALLOW", "127.0.0.1")]).await;
    assert_eq!(metrics_status(&s, None).await, 200);
}

#[tokio::test]
async fn metrics_need_the_token_elsewhere() {
    const TOKEN: &str = "scrape-me-0123456789abcdef";
    let s = TestServer::start_with(vec![
        ("PORTCULLIS_METRICS__ALLOW", ""),
        ("PORTCULLIS_METRICS__TOKEN", TOKEN),
    ])
    .await;
    assert_eq!(metrics_status(&s, None).await, 401);
    assert_eq!(
        metrics_status(&s, Some("scrape-me-0123456789abcdeX")).await,
        401
    );
    assert_eq!(metrics_status(&s, Some(TOKEN)).await, 200);
    // The token is no key to anything else, and the default still admits loopback.
    let s = TestServer::start_with(vec![("PORTCULLIS_METRICS__TOKEN", TOKEN)]).await;
    assert_eq!(metrics_status(&s, None).await, 200);
}

#[tokio::test]
async fn a_bad_metrics_setting_stops_the_start_with_one_line() {
    let bad = |k: &str, v: &str| {
        let env = vec![(k.to_string(), v.to_string())];
        portcullis::Settings::load_from(env).unwrap_err().0
    };
    assert!(bad("PORTCULLIS_METRICS__ALLOW", "10.0.0.0/33").contains("PORTCULLIS_METRICS__ALLOW"));
    assert!(bad("PORTCULLIS_METRICS__TOKEN", "short").contains("PORTCULLIS_METRICS__TOKEN"));
}
