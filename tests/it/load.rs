//! Load checks, not timed tests: run them on purpose and read the figures.
//!
//! `cargo test --release --test it -- --ignored --nocapture load::`

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::Value;

use crate::flow::{self, ClientKind, Consent};
use crate::harness::TestServer;

/// RFC 8628 polling is normal load: 1,000 devices polling together must be
/// served from reads alone: no connection commits a write while they poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "load check; run explicitly"]
async fn thousand_devices_poll_without_writes() {
    let s = TestServer::start_with(vec![(
        "PORTCULLIS_RATE_LIMIT__DEVICE_AUTHORIZATION",
        "10000",
    )])
    .await;
    let c = flow::client(
        &s,
        ClientKind::Public,
        Consent::Asked,
        &["urn:ietf:params:oauth:grant-type:device_code"],
        Some("openid"),
    )
    .await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1000)
        .build()
        .unwrap();
    let mut codes = Vec::new();
    for _ in 0..1000 {
        let d: Value = http
            .post(s.url("/oauth2/device_authorization"))
            .form(&[("client_id", c.id.as_str())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        codes.push(d["device_code"].as_str().unwrap().to_string());
    }
    // SQLite's data_version, read on a connection of our own, changes when any
    // other connection commits a write.
    let watcher = if s.database_url.starts_with("sqlite:") {
        let mut opts = sea_orm::ConnectOptions::new(s.database_url.clone());
        opts.max_connections(1).min_connections(1);
        Some(sea_orm::Database::connect(opts).await.unwrap())
    } else {
        None
    };
    let data_version = |db: Option<sea_orm::DatabaseConnection>| async move {
        use sea_orm::{ConnectionTrait, Statement};
        let db = db?;
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "PRAGMA data_version",
            ))
            .await
            .ok()??;
        row.try_get_by_index::<i64>(0).ok()
    };
    let wal_before = data_version(watcher.clone()).await;
    let rounds = 3;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for code in codes {
        let (http, url, id) = (http.clone(), s.url("/oauth2/token"), c.id.clone());
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            for _ in 0..rounds {
                let res = http
                    .post(&url)
                    .form(&[
                        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                        ("device_code", code.as_str()),
                        ("client_id", id.as_str()),
                    ])
                    .send()
                    .await
                    .unwrap();
                let body: Value = res.json().await.unwrap();
                seen.push(body["error"].as_str().unwrap_or("tokens").to_string());
            }
            seen
        }));
    }
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for t in tasks {
        for e in t.await.unwrap() {
            *counts.entry(e).or_default() += 1;
        }
    }
    let elapsed = started.elapsed();
    let wal_after = data_version(watcher.clone()).await;
    let polls = 1000 * rounds;
    println!(
        "device polling: {polls} polls from 1000 concurrent devices in {:.2?} ({:.0} polls/s); answers {counts:?}; SQLite data_version before {wal_before:?}, after {wal_after:?}",
        elapsed,
        polls as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(counts.get("authorization_pending"), Some(&1000));
    assert_eq!(counts.get("slow_down"), Some(&(1000 * (rounds - 1))));
    if watcher.is_some() {
        assert!(wal_before.is_some());
        assert_eq!(wal_before, wal_after, "no database write during the polls");
    }
}

/// No enumeration by timing: a sign-in with an unknown email costs what a
/// wrong password costs (both verify an Argon2id hash). Reports the medians.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark; run explicitly"]
async fn sign_in_latency_unknown_vs_known_email() {
    let s = TestServer::start_with(vec![("PORTCULLIS_RATE_LIMIT__SIGN_IN", "100000")]).await;
    crate::api::sign_up(&s, &s.http, "known@example.com", flow::PASSWORD).await;
    let http = reqwest::Client::new();
    let url = s.url("/.auth/api/v1/auth/sign-in/email");
    let time = |email: &'static str| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let started = Instant::now();
            let res = http
                .post(url)
                .json(&serde_json::json!({ "email": email, "password": "not the password" }))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 401);
            started.elapsed()
        }
    };
    // Warm up, then interleave so drift hits both sides alike.
    for _ in 0..5 {
        time("known@example.com").await;
        time("unknown@example.com").await;
    }
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for _ in 0..60 {
        known.push(time("known@example.com").await);
        unknown.push(time("unknown@example.com").await);
    }
    known.sort();
    unknown.sort();
    let (k, u) = (known[known.len() / 2], unknown[unknown.len() / 2]);
    let ratio = u.as_secs_f64() / k.as_secs_f64();
    println!(
        "sign-in median latency: known email (wrong password) {k:.2?}, unknown email {u:.2?}, unknown/known {ratio:.3}"
    );
    assert!(
        (0.9..=1.1).contains(&ratio),
        "medians differ by more than 10 %"
    );
}

/// Times `a(i)` and `b(i)` interleaved (so drift hits both alike) after a
/// warm-up; their median latencies and the ratio b/a, printed and returned.
async fn interleaved_medians<A, B, FA, FB>(label: &str, mut a: A, mut b: B) -> f64
where
    A: FnMut(usize) -> FA,
    B: FnMut(usize) -> FB,
    FA: std::future::Future<Output = reqwest::Response>,
    FB: std::future::Future<Output = reqwest::Response>,
{
    let time = |f: FA| async move {
        let started = Instant::now();
        assert!(f.await.status().is_success());
        started.elapsed()
    };
    let time_b = |f: FB| async move {
        let started = Instant::now();
        assert!(f.await.status().is_success());
        started.elapsed()
    };
    for i in 0..5 {
        time(a(i)).await;
        time_b(b(i)).await;
    }
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for i in 5..65 {
        xs.push(time(a(i)).await);
        ys.push(time_b(b(i)).await);
    }
    xs.sort();
    ys.sort();
    let (x, y) = (xs[xs.len() / 2], ys[ys.len() / 2]);
    let ratio = y.as_secs_f64() / x.as_secs_f64();
    println!("{label}: median {x:.2?} vs {y:.2?}, ratio {ratio:.3}");
    ratio
}

/// The enumeration checks of issue 19 by timing: for each endpoint that may
/// meet an address with or without an account, both cost about the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark; run explicitly"]
async fn taken_and_free_addresses_cost_the_same() {
    let s = TestServer::start_with(vec![
        ("PORTCULLIS_RATE_LIMIT__SIGN_UP", "100000"),
        ("PORTCULLIS_RATE_LIMIT__MAIL", "100000"),
        ("PORTCULLIS_RATE_LIMIT__PASSKEY", "100000"),
    ])
    .await;
    crate::api::sign_up(&s, &s.http, "known@example.com", flow::PASSWORD).await;
    let api = |path: &str| s.url(&format!("/.auth/api/v1/auth/{path}"));
    let post = |url: String, body: Value, b: reqwest::Client| async move {
        b.post(url).json(&body).send().await.unwrap()
    };
    let fresh = reqwest::Client::new;
    let mut ratios = Vec::new();

    ratios.push(
        interleaved_medians(
            "sign-up: taken address vs new address",
            |_| {
                post(
                    api("sign-up/email"),
                    serde_json::json!({ "email": "known@example.com", "password": "not the password" }),
                    fresh(),
                )
            },
            |i| {
                post(
                    api("sign-up/email"),
                    serde_json::json!({ "email": format!("new{i}@example.com"), "password": "not the password" }),
                    fresh(),
                )
            },
        )
        .await,
    );
    ratios.push(
        interleaved_medians(
            "forget-password: known vs unknown address",
            |_| {
                post(
                    api("forget-password"),
                    serde_json::json!({ "email": "known@example.com" }),
                    fresh(),
                )
            },
            |i| {
                post(
                    api("forget-password"),
                    serde_json::json!({ "email": format!("nobody{i}@example.com") }),
                    fresh(),
                )
            },
        )
        .await,
    );
    ratios.push(
        interleaved_medians(
            "passkey/authenticate/options: known vs unknown address",
            |_| {
                post(
                    api("passkey/authenticate/options"),
                    serde_json::json!({ "email": "known@example.com" }),
                    fresh(),
                )
            },
            |i| {
                post(
                    api("passkey/authenticate/options"),
                    serde_json::json!({ "email": format!("nobody{i}@example.com") }),
                    fresh(),
                )
            },
        )
        .await,
    );
    let mover = flow::signed_in(&s, "mover@example.com").await;
    ratios.push(
        interleaved_medians(
            "change-email: taken vs free address",
            |_| {
                post(
                    api("change-email"),
                    serde_json::json!({ "newEmail": "known@example.com" }),
                    mover.clone(),
                )
            },
            |i| {
                post(
                    api("change-email"),
                    serde_json::json!({ "newEmail": format!("moved{i}@example.com") }),
                    mover.clone(),
                )
            },
        )
        .await,
    );
    for r in ratios {
        assert!(
            (0.8..=1.25).contains(&r),
            "medians differ by more than 20 %"
        );
    }
}
