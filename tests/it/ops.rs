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
