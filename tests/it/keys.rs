use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entities::signing_keys;
use portcullis::{AppState, Settings, TestClock};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;

use crate::flow;
use crate::harness::{TestServer, fresh_database, get_json, key_file};

async fn kids(s: &TestServer) -> Vec<String> {
    let jwks: Value = get_json(&s.http, s.url("/oauth2/jwks")).await;
    let mut kids: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect();
    kids.sort();
    kids
}

/// An ES256 access token from `client_credentials`, and its header's `kid`.
async fn access_token(s: &TestServer, c: &flow::TestClient) -> (String, String) {
    let t: Value = flow::token(s, c, &[("grant_type", "client_credentials")])
        .await
        .json()
        .await
        .unwrap();
    let at = t["access_token"].as_str().unwrap().to_string();
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(at.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "ES256");
    (at, header["kid"].as_str().unwrap().to_string())
}

/// Whether the JWKS the server publishes now verifies `jwt`'s signature, as
/// a relying party would check it (openidconnect's verifier).
async fn jwks_verifies(s: &TestServer, jwt: &str, kid: &str) -> bool {
    use openidconnect::JsonWebKey;
    use openidconnect::core::{CoreJsonWebKey, CoreJwsSigningAlgorithm};
    let jwks: Value = get_json(&s.http, s.url("/oauth2/jwks")).await;
    let Some(jwk) = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
    else {
        return false;
    };
    let key: CoreJsonWebKey = serde_json::from_value(jwk.clone()).unwrap();
    let (signed, signature) = jwt.rsplit_once('.').unwrap();
    key.verify_signature(
        &CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        signed.as_bytes(),
        &URL_SAFE_NO_PAD.decode(signature).unwrap(),
    )
    .is_ok()
}

/// `keys list --json` as (alg, status) pairs by kid.
fn listed(s: &TestServer) -> Vec<(String, String, String)> {
    let list = s.cli(&["keys", "list", "--json"]);
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let listed: Value = serde_json::from_slice(&list.stdout).unwrap();
    listed
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            assert!(k["activates_at"].is_i64(), "{k}");
            (
                k["kid"].as_str().unwrap().to_string(),
                k["alg"].as_str().unwrap().to_string(),
                k["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn count(keys: &[(String, String, String)], status: &str) -> usize {
    keys.iter().filter(|k| k.2 == status).count()
}

#[tokio::test]
async fn a_rotated_key_is_published_first_and_signs_only_after_the_delay() {
    let s = TestServer::start().await;
    let c = flow::service_client(&s, None).await;
    let before = kids(&s).await;
    assert_eq!(before.len(), 3);
    let (old_token, old_kid) = access_token(&s, &c).await;

    let out = s.cli(&["keys", "rotate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(printed.lines().count(), 3, "{printed}");
    assert!(printed.lines().all(|l| l.contains(" next, active from ")));
    let keys = listed(&s);
    assert_eq!((count(&keys, "next"), count(&keys, "active")), (3, 3));
    let new_es256 = keys
        .iter()
        .find(|k| k.1 == "ES256" && k.2 == "next")
        .unwrap()
        .0
        .clone();
    // A second rotation while one is pending is refused.
    let again = s.cli(&["keys", "rotate"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already pending"));

    // Once the instance re-reads its key set (every 30 s), the new keys are
    // published, but tokens are still signed with the old one.
    s.clock.advance(31);
    let published = kids(&s).await;
    assert_eq!(published.len(), 6, "three next keys beside the active ones");
    assert!(published.contains(&new_es256));
    let (token, kid) = access_token(&s, &c).await;
    assert_eq!(kid, old_kid, "the next key does not sign yet");
    assert!(jwks_verifies(&s, &token, &kid).await);

    // After the pre-publication delay the next key signs; the old one stays
    // published, and what it signed still verifies.
    s.clock.advance(s.state.settings.keys.publish_delay + 31);
    let (token, kid) = access_token(&s, &c).await;
    assert_eq!(kid, new_es256, "the new key signs");
    assert!(jwks_verifies(&s, &token, &kid).await);
    assert!(
        jwks_verifies(&s, &old_token, &old_kid).await,
        "a token signed before the rotation still verifies"
    );
    let keys = listed(&s);
    assert_eq!((count(&keys, "active"), count(&keys, "retired")), (3, 3));
    assert!(keys.iter().any(|k| k.0 == old_kid && k.2 == "retired"));
    let after = kids(&s).await;
    assert_eq!(
        after.len(),
        6,
        "three new active keys and three retired ones"
    );
    assert!(
        before.iter().all(|k| after.contains(k)),
        "old keys still published"
    );

    // Once every token the old keys signed has expired, they leave the JWKS.
    s.clock.advance(s.state.key_retention_secs() + 31);
    let later = kids(&s).await;
    assert_eq!(later.len(), 3);
    assert!(before.iter().all(|k| !later.contains(k)));
    let active = signing_keys::Entity::find()
        .filter(signing_keys::Column::Status.eq("active"))
        .all(&s.state.db)
        .await
        .unwrap();
    assert!(active.iter().all(|k| later.contains(&k.kid)));
}

/// `keys rotate --now` (a compromised key): the new keys sign as soon as each
/// instance re-reads its key set; the old ones stay published.
#[tokio::test]
async fn an_emergency_rotation_signs_with_the_new_key_at_the_next_reload() {
    let s = TestServer::start().await;
    let c = flow::service_client(&s, None).await;
    let (old_token, old_kid) = access_token(&s, &c).await;
    let out = s.cli(&["keys", "rotate", "--now"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let keys = listed(&s);
    assert_eq!((count(&keys, "active"), count(&keys, "retired")), (3, 3));
    s.clock.advance(31);
    let (token, kid) = access_token(&s, &c).await;
    assert_ne!(kid, old_kid);
    assert!(jwks_verifies(&s, &token, &kid).await);
    assert!(jwks_verifies(&s, &old_token, &old_kid).await);
}

/// A retired key whose stored value no longer opens (damaged, or sealed
/// under another secrets key) is left out of the key set; the others are
/// still published and still sign. A reload that fails keeps the loaded set.
#[tokio::test]
async fn a_published_key_that_does_not_open_is_left_out_and_the_others_sign() {
    use sea_orm::sea_query::Expr;
    let s = TestServer::start().await;
    let c = flow::service_client(&s, None).await;
    let out = s.cli(&["keys", "rotate", "--now"]);
    assert!(out.status.success());
    let damage = |status: &'static str| {
        signing_keys::Entity::update_many()
            .col_expr(
                signing_keys::Column::PrivateKey,
                Expr::value(b"not a sealed key".to_vec()),
            )
            .filter(signing_keys::Column::Status.eq(status))
            .exec(&s.state.db)
    };
    damage("retired").await.unwrap();
    s.clock.advance(31);
    let published = kids(&s).await;
    assert_eq!(published.len(), 3, "the retired keys are left out");
    let (token, kid) = access_token(&s, &c).await;
    assert!(published.contains(&kid));
    assert!(jwks_verifies(&s, &token, &kid).await);

    // Now the active keys too: the reload fails, and the set loaded before
    // goes on signing and being published.
    damage("active").await.unwrap();
    s.clock.advance(31);
    assert_eq!(kids(&s).await, published);
    let (token, again) = access_token(&s, &c).await;
    assert_eq!(again, kid);
    assert!(jwks_verifies(&s, &token, &kid).await);
}

#[tokio::test]
async fn a_publish_delay_within_the_key_set_caches_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .arg("serve")
        .env_clear()
        .env("PORTCULLIS_KEYS__PUBLISH_DELAY", "60")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("PORTCULLIS_KEYS__PUBLISH_DELAY"),
        "{stderr}"
    );
}

#[tokio::test]
async fn instances_starting_together_create_one_active_key_per_algorithm() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _pg) = fresh_database(dir.path()).await;
    let settings = Settings::load_from(vec![
        ("PORTCULLIS_DATABASE_URL".into(), url.clone()),
        (
            "PORTCULLIS_SECRETS__KEY_FILE".into(),
            key_file(dir.path()).display().to_string(),
        ),
        (
            "PORTCULLIS_MAIL__OUTBOX_DIR".into(),
            dir.path().join("outbox").display().to_string(),
        ),
    ])
    .unwrap();
    // Migrate once (as the first instance would), then start four at once.
    let first = portcullis::db::connect(&url).await.unwrap();
    portcullis::db::migrate(&first).await.unwrap();
    let mut starts = Vec::new();
    for _ in 0..4 {
        let settings = settings.clone();
        starts.push(tokio::spawn(async move {
            AppState::build(settings, Arc::new(TestClock::default()))
                .await
                .map(|_| ())
        }));
    }
    for s in starts {
        s.await.unwrap().expect("every instance starts");
    }
    let active = signing_keys::Entity::find()
        .filter(signing_keys::Column::Status.eq("active"))
        .all(&first)
        .await
        .unwrap();
    let mut algs: Vec<String> = active.into_iter().map(|k| k.alg).collect();
    algs.sort();
    assert_eq!(algs, ["ES256", "EdDSA", "RS256"]);
    if let Some((admin, name)) = _pg {
        first.close().await.ok();
        let conn = sea_orm::Database::connect(admin.as_str()).await.unwrap();
        use sea_orm::ConnectionTrait;
        conn.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .ok();
    }
}
