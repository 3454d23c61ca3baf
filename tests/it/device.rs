use std::time::Duration;

use openidconnect::core::{CoreClient, CoreDeviceAuthorizationResponse};
use openidconnect::{ClientId, DeviceAuthorizationUrl, OAuth2TokenResponse, Scope, TokenResponse};
use serde_json::Value;

use crate::flow::{self, ClientKind, Consent, TestClient};
use crate::harness::{TestServer, error_of, get_text};
use crate::html::form;
use crate::rp::{discover, http_for};

pub async fn device_client(s: &TestServer) -> TestClient {
    flow::client(
        s,
        ClientKind::Public,
        Consent::Asked,
        &[
            "urn:ietf:params:oauth:grant-type:device_code",
            "refresh_token",
        ],
        Some("openid profile offline_access"),
    )
    .await
}

pub async fn start(s: &TestServer, c: &TestClient) -> Value {
    let res = reqwest::Client::new()
        .post(s.url("/oauth2/device_authorization"))
        .form(&[("client_id", c.id.as_str()), ("scope", "openid profile")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

pub async fn poll(s: &TestServer, c: &TestClient, device_code: &str) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(s.url("/oauth2/token"))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", device_code),
            ("client_id", c.id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

/// A signed-in person answers on `/device` from the complete verification URI.
pub async fn answer(s: &TestServer, b: &reqwest::Client, complete_uri: &str, decision: &str) {
    let path = complete_uri.strip_prefix(&s.base).unwrap();
    let page = b.get(s.url(path)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let f = form(&html, "/device");
    assert!(
        html.contains(f.get("user_code").unwrap()),
        "the code is shown to compare"
    );
    let done = b
        .post(s.url("/device"))
        .form(&f.fill(&[("decision", decision)]))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
}

#[tokio::test]
async fn device_flow_with_the_openidconnect_client() {
    let s = TestServer::start().await;
    let c = device_client(&s).await;
    let http = http_for(&s);
    let metadata = discover(&s, &http).await;
    let client = CoreClient::from_provider_metadata(metadata, ClientId::new(c.id.clone()), None)
        .set_device_authorization_url(
            DeviceAuthorizationUrl::new(s.url("/oauth2/device_authorization")).unwrap(),
        );
    let details: CoreDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(Scope::new("profile".into()))
        // A refresh token with an OpenID grant only when offline access was asked for.
        .add_scope(Scope::new("offline_access".into()))
        .request_async(&http)
        .await
        .expect("device authorization");
    let user_code = details.user_code().secret().clone();
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert!(
        user_code
            .chars()
            .filter(|c| *c != '-')
            .all(|c| "BCDFGHJKLMNPQRSTVWXZ".contains(c))
    );
    assert_eq!(details.verification_uri().as_str(), s.url("/device"));
    assert_eq!(details.interval(), Duration::from_secs(5));
    assert_eq!(details.expires_in(), Duration::from_secs(600));
    let complete = details
        .verification_uri_complete()
        .unwrap()
        .secret()
        .clone();

    // Before approval: pending, and polling too fast is told to slow down.
    let device_code = details.device_code().secret().clone();
    let (status, body) = poll(&s, &c, &device_code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("authorization_pending"))
    );
    let (_, body) = poll(&s, &c, &device_code).await;
    assert_eq!(body["error"], "slow_down");

    // The library polls (sleeping on the test clock) while the person
    // approves a moment later: it sees authorization_pending, then tokens.
    let b = flow::signed_in(&s, "dev@example.com").await;
    let path = complete.strip_prefix(&s.base).unwrap().to_string();
    let (page_url, post_url) = (s.url(&path), s.url("/device"));
    let approver = {
        let b = b.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let html = get_text(&b, page_url).await;
            let f = form(&html, "/device");
            b.post(post_url)
                .form(&f.fill(&[("decision", "allow")]))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    };
    let clock = s.clock.clone();
    let polls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = polls.clone();
    let tokens = client
        .exchange_device_access_token(&details)
        .unwrap()
        .request_async(
            &http,
            move |d: Duration| {
                clock.advance(d.as_secs() as i64);
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50))
            },
            None,
        )
        .await
        .expect("tokens after approval");
    assert_eq!(approver.await.unwrap(), 200);
    assert!(
        polls.load(std::sync::atomic::Ordering::SeqCst) >= 2,
        "the library waited through authorization_pending"
    );
    assert!(tokens.refresh_token().is_some());
    let id_token = tokens.id_token().expect("openid scope gives an ID token");
    assert!(id_token.to_string().split('.').count() == 3);
    // Issued once.
    s.clock.advance(30);
    let (status, body) = poll(&s, &c, &device_code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn denied_and_expired_device_codes_say_so() {
    let s = TestServer::start().await;
    let c = device_client(&s).await;
    let d = start(&s, &c).await;
    assert!(
        d["interval"].is_i64() && d["expires_in"].is_i64(),
        "numeric, not strings"
    );
    let b = flow::signed_in(&s, "deny@example.com").await;
    answer(
        &s,
        &b,
        d["verification_uri_complete"].as_str().unwrap(),
        "deny",
    )
    .await;
    let (status, body) = poll(&s, &c, d["device_code"].as_str().unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("access_denied"))
    );

    // The openidconnect device client reports the denial as access_denied too.
    let http = http_for(&s);
    let metadata = discover(&s, &http).await;
    let client = CoreClient::from_provider_metadata(metadata, ClientId::new(c.id.clone()), None)
        .set_device_authorization_url(
            DeviceAuthorizationUrl::new(s.url("/oauth2/device_authorization")).unwrap(),
        );
    let details: CoreDeviceAuthorizationResponse = client
        .exchange_device_code()
        .request_async(&http)
        .await
        .unwrap();
    answer(
        &s,
        &b,
        details.verification_uri_complete().unwrap().secret(),
        "deny",
    )
    .await;
    let err = client
        .exchange_device_access_token(&details)
        .unwrap()
        .request_async(&http, |_| async {}, None)
        .await
        .unwrap_err();
    match err {
        openidconnect::RequestTokenError::ServerResponse(r) => {
            assert_eq!(r.error().as_ref(), "access_denied")
        }
        other => panic!("expected access_denied, got {other:?}"),
    }

    let d = start(&s, &c).await;
    s.clock.advance(601);
    let (status, body) = poll(&s, &c, d["device_code"].as_str().unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("expired_token"))
    );
}

#[tokio::test]
async fn device_screens_need_sign_in_and_limit_wrong_codes() {
    let s = TestServer::start().await;
    let c = device_client(&s).await;
    let d = start(&s, &c).await;
    let complete = d["verification_uri_complete"]
        .as_str()
        .unwrap()
        .strip_prefix(&s.base)
        .unwrap()
        .to_string();
    let res = s.new_browser().get(s.url(&complete)).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let loc = res.headers()["location"].to_str().unwrap();
    assert!(
        loc.starts_with("/login?return_to=%2Fdevice%3Fuser_code%3D"),
        "{loc}"
    );

    let b = flow::signed_in(&s, "guess@example.com").await;
    let html = get_text(&b, s.url("/device")).await;
    let f = form(&html, "/device");
    let mut statuses = Vec::new();
    for _ in 0..11 {
        let res = b
            .post(s.url("/device"))
            .form(&f.fill(&[("user_code", "BCDF-GHJK")]))
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    assert!(statuses[..10].iter().all(|s| *s == 400), "{statuses:?}");
    assert_eq!(statuses[10], 429, "the 11th guess in a minute is refused");

    // Lower case and no dash are accepted for the real code (after the
    // address's bucket, shared by every test browser, refills).
    s.clock.advance(60);
    let other = flow::signed_in(&s, "norm@example.com").await;
    let typed = d["user_code"]
        .as_str()
        .unwrap()
        .replace('-', " ")
        .to_lowercase();
    let html = get_text(&other, s.url("/device")).await;
    let f = form(&html, "/device");
    let res = other
        .post(s.url("/device"))
        .form(&f.fill(&[("user_code", typed.as_str())]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("action=\"/device\""));
}

#[tokio::test]
async fn device_authorization_needs_the_grant() {
    let s = TestServer::start().await;
    let c = flow::public_client(&s).await;
    let res = reqwest::Client::new()
        .post(s.url("/oauth2/device_authorization"))
        .form(&[("client_id", c.id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(error_of(res).await, "unauthorized_client");
}

/// The row a device authorization's user code leads to under `codes`' key is
/// the one its device code names.
async fn assert_code_finds_its_row(
    s: &TestServer,
    codes: &portcullis::tokens::user_codes::UserCodes,
    d: &Value,
) {
    use portcullis::tokens::user_codes::UserCode;
    let code = UserCode::parse(d["user_code"].as_str().unwrap()).expect("a user code");
    let row = portcullis::store::devices::by_user_code_seq(&s.state.db, codes.seqs(&code))
        .await
        .unwrap()
        .expect("the code's row");
    assert_eq!(
        row.device_code_hash,
        portcullis::tokens::opaque::ordered_hash(d["device_code"].as_str().unwrap())
    );
}

/// The database keeps each user code's sequence number, not the code: any
/// instance holding the shared key (`server_secrets`) finds the row from the
/// code, and expired rows are deleted an hour after they expire.
#[tokio::test]
async fn user_codes_resolve_through_the_shared_key_and_expired_rows_go() {
    use portcullis::store;
    use portcullis::tokens::user_codes::{SECRET_NAME, UserCode, UserCodes};

    let s = TestServer::start().await;
    let c = device_client(&s).await;
    let d = start(&s, &c).await;
    let device_code = d["device_code"].as_str().unwrap();
    let code = UserCode::parse(d["user_code"].as_str().unwrap()).expect("a user code");

    // What a second instance does at start: the stored key wins over a fresh
    // one, and is stored sealed.
    let stored =
        store::secrets::get_or_create(&s.state.db, SECRET_NAME, UserCodes::new_secret(), 0)
            .await
            .unwrap();
    let slot = portcullis::secrets::Slot::ServerSecret(SECRET_NAME);
    let stored = s.state.secrets.open_text(slot, &stored).unwrap();
    let second = UserCodes::from_secret(&stored).unwrap();
    assert_code_finds_its_row(&s, &second, &d).await;
    let stranger = UserCodes::from_secret(&UserCodes::new_secret()).unwrap();
    let found = store::devices::by_user_code_seq(&s.state.db, stranger.seqs(&code)).await;
    assert_eq!(found.unwrap(), None, "another key finds no row");

    // Past expiry and the grace hour, the row goes; one made later stays.
    let grace = portcullis::housekeeping::DEVICE_GRACE_SECS;
    s.clock.advance(600 + grace + 1);
    let later = start(&s, &c).await;
    let cutoff = s.state.now() - grace;
    assert_eq!(
        store::devices::delete_expired(&s.state.db, cutoff)
            .await
            .unwrap(),
        1
    );
    let (status, body) = poll(&s, &c, device_code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, body) = poll(&s, &c, later["device_code"].as_str().unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("authorization_pending"))
    );
}

/// The migration to sequenced user codes goes back to the old table and
/// forward again, on SQLite and PostgreSQL alike.
#[tokio::test]
async fn the_user_code_migration_rolls_back_and_forward() {
    use migration::{Migrator, MigratorTrait};
    use sea_orm::ConnectionTrait;

    let s = TestServer::start().await;
    let db = &s.state.db;
    // Back to just before it, whatever migrations came after it.
    let all = Migrator::migrations();
    let at = all
        .iter()
        .position(|m| m.name() == "m20261204_000006_sequenced_user_codes")
        .expect("the migration is listed");
    let steps = u32::try_from(all.len() - at).unwrap();
    Migrator::down(db, Some(steps)).await.expect("down");
    db.execute_unprepared(
        "INSERT INTO device_authorizations (device_code_hash, user_code, client_id, scope, \
         resources, status, amr, grant_id, created_at, expires_at) \
         VALUES ('h', 'BCDFGHJK', 'c', '', '', 'pending', '[]', 'g', 0, 1)",
    )
    .await
    .expect("the old table is back");
    Migrator::up(db, None).await.expect("up again");
    let c = device_client(&s).await;
    let d = start(&s, &c).await;
    assert_eq!(d["user_code"].as_str().map(str::len), Some(9));
}

/// Requests that arrive together share INSERTs (one writer on SQLite, several
/// on PostgreSQL): each still gets a row of its own, and its codes find it.
#[tokio::test]
async fn concurrent_device_authorizations_each_get_their_own_row() {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let s = TestServer::start_with(vec![(
        "PORTCULLIS_RATE_LIMIT__DEVICE_AUTHORIZATION",
        "1000",
    )])
    .await;
    let c = device_client(&s).await;
    let answers = futures_util::future::join_all((0..64).map(|_| start(&s, &c))).await;
    let mut codes: Vec<&str> = answers
        .iter()
        .map(|a| a["user_code"].as_str().unwrap())
        .collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), 64, "distinct user codes");
    let rows = entities::device_authorizations::Entity::find()
        .count(&s.state.db)
        .await
        .unwrap();
    assert_eq!(rows, 64);
    for a in &answers {
        let (status, body) = poll(&s, &c, a["device_code"].as_str().unwrap()).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("authorization_pending"))
        );
        assert_code_finds_its_row(&s, &s.state.user_codes, a).await;
    }
}

/// Each device authorization stores a row: 300 requests at once from one
/// address get exactly the address's budget, the rest a 429 with
/// `Retry-After` and an OAuth error body; a client's budget holds across
/// addresses the same way.
#[tokio::test]
async fn device_authorization_is_rate_limited_per_address_and_per_self_registered_client() {
    async fn burst(s: &TestServer, c: &TestClient) -> (usize, Vec<reqwest::Response>) {
        let answers = futures_util::future::join_all((0..300).map(|_| {
            reqwest::Client::new()
                .post(s.url("/oauth2/device_authorization"))
                .form(&[("client_id", c.id.as_str()), ("scope", "openid")])
                .send()
        }))
        .await;
        let (ok, refused): (Vec<_>, Vec<_>) = answers
            .into_iter()
            .map(Result::unwrap)
            .partition(|r| r.status() == 200);
        (ok.len(), refused)
    }
    async fn check_refusals(refused: Vec<reqwest::Response>) {
        for r in refused {
            assert_eq!(r.status(), 429);
            let wait: u64 = r.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(wait >= 1);
            let body: Value = r.json().await.unwrap();
            assert!(body["error"].is_string() && body["error_description"].is_string());
        }
    }

    let s = TestServer::start_with(vec![
        ("PORTCULLIS_RATE_LIMIT__DEVICE_AUTHORIZATION", "20"),
        ("PORTCULLIS_RATE_LIMIT__DEVICE_AUTHORIZATION_CLIENT", "1000"),
    ])
    .await;
    let c = device_client(&s).await;
    let (ok, refused) = burst(&s, &c).await;
    assert_eq!(ok, 20, "per address");
    check_refusals(refused).await;

    // Per client, for clients anyone can make (registered themselves).
    let s = TestServer::start_with(vec![
        ("PORTCULLIS_RATE_LIMIT__DEVICE_AUTHORIZATION", "1000"),
        ("PORTCULLIS_RATE_LIMIT__DEVICE_AUTHORIZATION_CLIENT", "15"),
    ])
    .await;
    let self_registered = || {
        let mut metadata = crate::self_described::claims_to_be_github();
        metadata["grant_types"] = serde_json::json!([
            "authorization_code",
            "urn:ietf:params:oauth:grant-type:device_code"
        ]);
        crate::self_described::register(&s, metadata)
    };
    let c = self_registered().await;
    let other = self_registered().await;
    let (ok, refused) = burst(&s, &c).await;
    assert_eq!(ok, 15, "per client");
    check_refusals(refused).await;
    // Another client of the same address has its own budget.
    start(&s, &other).await;
    // A client an administrator made is limited per address only: a few
    // addresses cannot lock out all its users.
    let admin_made = device_client(&s).await;
    let (ok, _) = burst(&s, &admin_made).await;
    assert_eq!(ok, 300, "no per-client limit");
}

/// An approved device code polled three hundred times at once issues tokens
/// once (RFC 8628 §3.5): the store's conditional claim decides, and every
/// other poll is told the code was used.
#[tokio::test]
async fn an_approved_device_code_polled_three_hundred_times_at_once_issues_once() {
    let s = TestServer::start().await;
    let c = device_client(&s).await;
    let d = start(&s, &c).await;
    let b = flow::signed_in(&s, "once@example.com").await;
    answer(
        &s,
        &b,
        d["verification_uri_complete"].as_str().unwrap(),
        "allow",
    )
    .await;
    let code = d["device_code"].as_str().unwrap();
    // One client (one connection pool) for all, as in token_policy.rs.
    let http = reqwest::Client::new();
    let form = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("device_code", code),
        ("client_id", c.id.as_str()),
    ];
    let answers = futures_util::future::join_all((0..300).map(|_| async {
        let res = http
            .post(s.url("/oauth2/token"))
            .form(&form)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json::<Value>().await.unwrap())
    }))
    .await;
    let issued = answers.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!(issued, 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(status, _)| *status != 200) {
        assert_eq!(
            (*status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
    }
}
