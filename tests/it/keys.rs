use std::sync::Arc;

use entities::signing_keys;
use portcullis::{AppState, Settings, TestClock};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;

use crate::harness::{TestServer, fresh_database};

async fn kids(s: &TestServer) -> Vec<String> {
    let jwks: Value = s
        .http
        .get(s.url("/oauth2/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut kids: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect();
    kids.sort();
    kids
}

#[tokio::test]
async fn rotation_keeps_retired_keys_published_until_their_tokens_expire() {
    let s = TestServer::start().await;
    let before = kids(&s).await;
    assert_eq!(before.len(), 3);

    let out = s.cli(&["keys", "rotate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3);

    // Instances re-read keys every 30 s.
    s.clock.advance(31);
    let after = kids(&s).await;
    assert_eq!(
        after.len(),
        6,
        "three new active keys plus the three retired ones"
    );
    assert!(
        before.iter().all(|k| after.contains(k)),
        "old keys still published"
    );

    let active = signing_keys::Entity::find()
        .filter(signing_keys::Column::Status.eq("active"))
        .all(&s.state.db)
        .await
        .unwrap();
    assert_eq!(active.len(), 3);
    assert!(
        active.iter().all(|k| !before.contains(&k.kid)),
        "the new keys are the active ones"
    );

    // Once every token the old keys signed has expired, they leave the JWKS.
    s.clock.advance(s.state.key_retention_secs() + 31);
    let later = kids(&s).await;
    assert_eq!(later.len(), 3);
    assert!(before.iter().all(|k| !later.contains(k)));

    let list = s.cli(&["keys", "list", "--json"]);
    assert!(list.status.success());
    let listed: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn instances_starting_together_create_one_active_key_per_algorithm() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _pg) = fresh_database(dir.path()).await;
    let settings =
        Settings::load_from(vec![("PORTCULLIS_DATABASE_URL".into(), url.clone())]).unwrap();
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
