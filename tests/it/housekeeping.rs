//! Housekeeping deletes what can no longer be used, and nothing else.

use entities::{
    authorization_codes, clients, consent_requests, one_time_tokens, refresh_tokens, sessions,
    used_assertions, webauthn_ceremonies,
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::flow::{self, ClientKind, Consent, TestClient, VERIFIER, authorize_url};
use crate::harness::TestServer;

async fn count<E>(s: &TestServer) -> u64
where
    E: EntityTrait,
    E::Model: Sync,
{
    E::find().count(&s.state.db).await.unwrap()
}

/// Which rows [`leave_rows`] leaves: ones the clock will carry past their
/// expiry, or ones that must stay.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Batch {
    Old,
    Live,
}

/// Rows of one kind of each table, made through the product where it can
/// make them.
async fn leave_rows(s: &TestServer, c: &TestClient, email: &str, batch: Batch) -> Value {
    let tokens = flow::tokens(s, c, email, "openid offline_access").await;
    let b = s.new_browser();
    let (status, _) =
        crate::api::post(s, &b, "sign-in/magic-link", json!({ "email": email })).await;
    assert_eq!(status, 200);
    // Starting a ceremony sweeps abandoned ones, so the live one is stored
    // as a ceremony that has just started, without a sweep.
    if batch == Batch::Live {
        let row = webauthn_ceremonies::Model {
            id_hash: format!("ceremony-{email}"),
            kind: "authentication".into(),
            user_id: None,
            email: None,
            state: "{}".into(),
            expires_at: s.state.now() + 300,
        };
        webauthn_ceremonies::Entity::insert(sea_orm::IntoActiveModel::into_active_model(row))
            .exec_without_returning(&s.state.db)
            .await
            .unwrap();
    } else {
        let (status, _) = crate::api::post(s, &b, "passkey/authenticate/options", json!({})).await;
        assert_eq!(status, 200);
    }
    // A consent request nobody answers.
    let signed_in = flow::signed_in(s, &format!("waiting-{email}")).await;
    let page = signed_in
        .get(authorize_url(s, c, &[("scope", "openid")], Some(VERIFIER)))
        .send()
        .await
        .unwrap();
    assert!(page.text().await.unwrap().contains("/oauth2/consent"));
    let now = s.state.now();
    let jti = format!("jti-{email}");
    assert!(
        portcullis::store::grants::record_assertion(&s.state.db, &jti, now + 120)
            .await
            .unwrap()
    );
    let doc_client = format!("https://docs.example/{email}.json");
    portcullis::store::clients::upsert_document_client(
        &s.state.db,
        clients::Model {
            id: doc_client.clone().into(),
            name: "docs.example".into(),
            secret_hash: None,
            metadata: json!({
                "redirect_uris": ["https://docs.example/cb"],
                "token_endpoint_auth_method": "none",
                "scope": "openid",
            })
            .to_string(),
            origin: clients::ClientOrigin::MetadataDocument,
            trusted: false,
            registration_token_hash: None,
            created_at: now,
            resource_server: false,
            pkce_optional: false,
        },
    )
    .await
    .unwrap();
    json!({ "refresh_token": tokens["refresh_token"], "jti": jti, "doc_client": doc_client })
}

async fn refresh(s: &TestServer, c: &TestClient, token: &str) -> Value {
    let res = flow::token(
        s,
        c,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn housekeeping_deletes_expired_rows_and_keeps_live_ones() {
    let s = TestServer::start().await;
    let c = flow::client(
        &s,
        ClientKind::Confidential,
        Consent::Asked,
        &["authorization_code", "refresh_token"],
        Some("openid profile offline_access"),
    )
    .await;
    let ttl = s.state.settings.tokens.refresh_token_ttl;
    let grace = portcullis::housekeeping::EXPIRED_GRACE_SECS;

    let old = leave_rows(&s, &c, "old@example.com", Batch::Old).await;
    // A family that is rotated shortly before its first token expires: the
    // used token must stay while its successor lives (reuse detection).
    let rotated = flow::tokens(&s, &c, "rotated@example.com", "openid offline_access").await;
    s.clock.advance(ttl - 100);
    let successor = refresh(&s, &c, rotated["refresh_token"].as_str().unwrap()).await;
    s.clock.advance(100 + grace + 60);
    let t_live = s.state.now();
    let live = leave_rows(&s, &c, "live@example.com", Batch::Live).await;

    macro_rules! made_since {
        ($m:ident) => {
            $m::Entity::find()
                .filter($m::Column::CreatedAt.gte(t_live))
                .count(&s.state.db)
                .await
                .unwrap()
        };
    }
    macro_rules! unexpired {
        ($m:ident) => {
            $m::Entity::find()
                .filter($m::Column::ExpiresAt.gt(t_live))
                .count(&s.state.db)
                .await
                .unwrap()
        };
    }
    let live_rows = (
        made_since!(sessions),
        made_since!(authorization_codes),
        made_since!(consent_requests),
        made_since!(one_time_tokens),
        unexpired!(webauthn_ceremonies),
        unexpired!(used_assertions),
    );
    let old_rows = (
        count::<sessions::Entity>(&s).await - live_rows.0,
        count::<authorization_codes::Entity>(&s).await - live_rows.1,
        count::<consent_requests::Entity>(&s).await - live_rows.2,
        count::<one_time_tokens::Entity>(&s).await - live_rows.3,
        count::<webauthn_ceremonies::Entity>(&s).await - live_rows.4,
        count::<used_assertions::Entity>(&s).await - live_rows.5,
    );
    assert!(
        old_rows.0 >= 3 && old_rows.1 >= 2 && old_rows.2 >= 1,
        "{old_rows:?}"
    );
    assert!(
        old_rows.3 >= 1 && old_rows.4 >= 1 && old_rows.5 >= 1,
        "{old_rows:?}"
    );
    assert_eq!(count::<refresh_tokens::Entity>(&s).await, 4);

    portcullis::housekeeping::run_once(&s.state).await;

    let after = (
        count::<sessions::Entity>(&s).await,
        count::<authorization_codes::Entity>(&s).await,
        count::<consent_requests::Entity>(&s).await,
        count::<one_time_tokens::Entity>(&s).await,
        count::<webauthn_ceremonies::Entity>(&s).await,
        count::<used_assertions::Entity>(&s).await,
    );
    assert_eq!(after, live_rows, "only the live rows stay");
    assert!(
        live_rows.0 >= 2 && live_rows.1 == 1 && live_rows.2 == 1,
        "{live_rows:?}"
    );
    // The expired family went; the rotated one (both tokens) and the live one stay.
    assert_eq!(count::<refresh_tokens::Entity>(&s).await, 3);

    let exists = |id: &Value| {
        let id = id.as_str().unwrap().to_string();
        let db = s.state.db.clone();
        async move {
            clients::Entity::find_by_id(id)
                .one(&db)
                .await
                .unwrap()
                .is_some()
        }
    };
    assert!(!exists(&old["doc_client"]).await, "unused document client");
    assert!(
        exists(&live["doc_client"]).await,
        "recently used document client"
    );
    let live_jti = used_assertions::Entity::find()
        .filter(used_assertions::Column::JtiHash.eq(live["jti"].as_str().unwrap()))
        .count(&s.state.db)
        .await
        .unwrap();
    assert_eq!(live_jti, 1);

    // What stayed still works: the successor and the live family refresh.
    refresh(&s, &c, successor["refresh_token"].as_str().unwrap()).await;
    refresh(&s, &c, live["refresh_token"].as_str().unwrap()).await;
}
