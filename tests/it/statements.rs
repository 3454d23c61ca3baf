//! How many SQL statements each flow runs (read from the server's own
//! counter, `portcullis_db_statements_total`). The budgets are the numbers
//! the flows run today: a change that adds a statement to a hot path fails
//! here and has to say why.

use serde_json::Value;

use crate::device;
use crate::flow::{self, ClientKind, Consent};
use crate::harness::TestServer;

/// (reads, writes) the server ran while `f` ran.
async fn counted<T>(s: &TestServer, f: impl std::future::Future<Output = T>) -> (T, (u64, u64)) {
    // Let the previous step's background work (session cache fills, mail
    // queue) settle first.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let (r0, w0) = s.state.metrics.statements();
    let out = f.await;
    let (r1, w1) = s.state.metrics.statements();
    (out, (r1 - r0, w1 - w0))
}

/// Prints the count and holds the flow to its budget of (reads, writes).
fn report(flow: &str, (reads, writes): (u64, u64), budget: (u64, u64)) {
    eprintln!("statements: {flow:<42} {reads} reads, {writes} writes");
    assert!(
        reads <= budget.0 && writes <= budget.1,
        "{flow}: {reads} reads and {writes} writes, over its budget of {budget:?}"
    );
}

#[tokio::test]
async fn statements_per_flow() {
    let s = TestServer::start().await;
    let email = "count@example.com";
    let b = flow::signed_in(&s, email).await;
    let c = flow::client(
        &s,
        ClientKind::Confidential,
        Consent::Skipped,
        &["authorization_code", "refresh_token", "client_credentials"],
        Some("openid offline_access api"),
    )
    .await;
    // Warm the client and key caches, as a running server would have them.
    let _ = flow::token(&s, &c, &[("grant_type", "client_credentials")]).await;

    let (res, n) = counted(
        &s,
        flow::token(&s, &c, &[("grant_type", "client_credentials")]),
    )
    .await;
    assert_eq!(res.status(), 200);
    report("client_credentials", n, (0, 0));
    let cc: Value = res.json().await.unwrap();

    let (_, n) = counted(
        &s,
        flow::introspect(&s, &c, cc["access_token"].as_str().unwrap()),
    )
    .await;
    report("introspection (access token)", n, (1, 0));

    let (url, n_auth) = counted(
        &s,
        flow::follow(
            &s,
            &b,
            &flow::authorize_url(
                &s,
                &c,
                &[("scope", "openid offline_access")],
                Some(flow::VERIFIER),
            ),
            email,
            "allow",
        ),
    )
    .await;
    report("code flow: authorize (session, trusted)", n_auth, (0, 1));
    let code = flow::param(&url, "code").unwrap();
    let (res, n_token) = counted(&s, flow::exchange(&s, &c, &code)).await;
    assert_eq!(res.status(), 200);
    report("code flow: token", n_token, (1, 2));
    let t: Value = res.json().await.unwrap();

    let (res, n) = counted(
        &s,
        flow::token(
            &s,
            &c,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ],
        ),
    )
    .await;
    assert_eq!(res.status(), 200);
    report("refresh", n, (1, 2));

    let dc = device::device_client(&s).await;
    let _ = device::start(&s, &dc).await;
    let (d, n) = counted(&s, device::start(&s, &dc)).await;
    report("device: authorization request", n, (0, 1));
    let code = d["device_code"].as_str().unwrap().to_string();
    let ((status, _), n) = counted(&s, device::poll(&s, &dc, &code)).await;
    assert_eq!(status, 400);
    report("device: poll (pending)", n, (1, 0));
    let (_, n) = counted(
        &s,
        device::answer(
            &s,
            &b,
            d["verification_uri_complete"].as_str().unwrap(),
            "allow",
        ),
    )
    .await;
    // Each typed code takes its place in the account's hourly budget of
    // wrong codes before it is looked up (an upsert) and gives it back once
    // it is found (an update): two writes for the page and two for the post,
    // at the pace of a person; the decision is the fifth.
    report("device: approval on /device (page + post)", n, (2, 5));
    s.clock.advance(10);
    let ((status, _), n) = counted(&s, device::poll(&s, &dc, &code)).await;
    assert_eq!(status, 200);
    report("device: poll (tokens)", n, (2, 2));
}
