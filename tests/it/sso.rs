//! Enterprise SSO over HTTP (issue 21): an organisation's owner connects a
//! second Portcullis as the OpenID provider for `acme.test`, proves the
//! domain by mail to its administrator mailbox, and from then on addresses
//! there sign in through it, from the API and from the `/login` screen. The
//! connection vouches for its domain only; the issuers an organisation may
//! name reach public addresses only; the client secret is stored sealed.

use std::time::{Duration, Instant};

use entities::{memberships, sso_connections};
use portcullis::oauth::client::{NewClient, build_admin_client};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};
use serde_json::{Value, json};
use url::Url;

use crate::api::{API, get_session, post};
use crate::flow::{self, TestClient};
use crate::harness::{TestServer, get_json};
use crate::html::form;
use crate::mail;

const DOMAIN: &str = "acme.test";
const BOB: &str = "bob@acme.test";

/// The organisation's OpenID provider and the server under test.
struct Sso {
    down: TestServer,
    up: TestServer,
    /// Signed in at the downstream, owner of its personal organisation.
    owner: reqwest::Client,
    /// The downstream's client at the upstream.
    client: TestClient,
}

/// The downstream (loopback issuers allowed) and the upstream, with the
/// downstream's client registered there, and an owner signed in downstream.
async fn setup() -> Sso {
    let up = TestServer::start().await;
    let down =
        TestServer::start_with(vec![("PORTCULLIS_CLIENT_METADATA__ALLOW_LOOPBACK", "true")]).await;
    let owner = flow::signed_in(&down, "owner@example.com").await;
    let placeholder = format!("{}{API}/callback/not-yet", down.base);
    let client = upstream_client(&up, &placeholder).await;
    Sso {
        down,
        up,
        owner,
        client,
    }
}

fn new_client(redirect: &str) -> NewClient {
    NewClient {
        name: "Downstream Portcullis".into(),
        grant_types: vec!["authorization_code".into()],
        redirect_uris: vec![redirect.to_string()],
        scope: Some("openid email profile".into()),
        ..Default::default()
    }
}

/// A confidential client at `up` redirecting to `redirect`.
async fn upstream_client(up: &TestServer, redirect: &str) -> TestClient {
    let reg = build_admin_client(new_client(redirect), up.state.now()).unwrap();
    portcullis::store::clients::insert(&up.state.db, reg.row)
        .await
        .unwrap();
    TestClient {
        id: reg.client.id.to_string(),
        secret: reg.secret,
        redirect: redirect.to_string(),
    }
}

/// Points the client's redirect URI at the connection's callback, known
/// only once the connection has its id.
async fn redirect_to_connection(sso: &mut Sso, provider_id: &str) {
    let redirect = format!("{}{API}/callback/{provider_id}", sso.down.base);
    let fresh = build_admin_client(new_client(&redirect), sso.up.state.now()).unwrap();
    let id = sso.client.id.clone().into();
    let row = portcullis::store::clients::find(&sso.up.state.db, &id)
        .await
        .unwrap()
        .expect("the client");
    let updated = portcullis::store::clients::update(
        &sso.up.state.db,
        &id,
        row.name,
        row.secret_hash,
        fresh.row.metadata,
    )
    .await
    .unwrap();
    assert!(updated);
    sso.client.redirect = redirect;
}

/// `POST sso/register` on `b` for `domain` at the upstream's issuer.
async fn register(sso: &Sso, b: &reqwest::Client, domain: &str, extra: Value) -> (u16, Value) {
    let mut body = json!({
        "domain": domain,
        "issuer": sso.up.base,
        "clientId": sso.client.id,
        "clientSecret": sso.client.secret.clone().unwrap(),
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        body[k] = v.clone();
    }
    post(&sso.down, b, "sso/register", body).await
}

/// Registers the owner's connection for [`DOMAIN`]: its provider id.
async fn registered(sso: &mut Sso) -> String {
    let owner = sso.owner.clone();
    let (status, body) = register(sso, &owner, DOMAIN, json!({})).await;
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_str().expect("id").to_string();
    assert_eq!(body["providerId"], format!("sso-{id}"));
    assert_eq!(body["domain"], DOMAIN);
    assert_eq!(body["domainVerified"], false);
    assert_eq!(body["proofSentTo"], format!("postmaster@{DOMAIN}"));
    let provider_id = format!("sso-{id}");
    redirect_to_connection(sso, &provider_id).await;
    provider_id
}

/// The `n`th proof link mailed to `to`.
async fn proof_link(s: &TestServer, to: &str, n: usize) -> String {
    mail::mailed_link(s, to, n, "/sso/verify-domain?token=").await
}

/// Opens a proof link on a fresh browser: its confirm page (200) and form.
async fn proof_page(s: &TestServer, link: &str) -> (reqwest::Client, crate::html::Form, String) {
    let b = s.new_browser();
    let res = b.get(link).send().await.unwrap();
    assert_eq!(res.status(), 200, "the proof's confirm page");
    let html = res.text().await.unwrap();
    let f = form(&html, "/sso/verify-domain");
    assert_eq!(f.method, "post");
    assert!(f.get("csrf_token").is_some_and(|v| v.len() >= 32));
    assert_eq!(f.get("token"), Some(mail::token_of(link).as_str()));
    (b, f, html)
}

/// Opens a proof link and confirms it: the confirm POST's status and page.
async fn prove(s: &TestServer, link: &str) -> (u16, String) {
    let (b, f, _) = proof_page(s, link).await;
    let res = b
        .post(s.url("/sso/verify-domain"))
        .form(&f.fields)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// `GET login-methods?email=…`: its `sso` member.
async fn sso_route(s: &TestServer, email: &str) -> Value {
    let mut u = Url::parse(&s.url(&format!("{API}/login-methods"))).unwrap();
    u.query_pairs_mut().append_pair("email", email);
    let body: Value = get_json(&s.http, u).await;
    body["sso"].clone()
}

/// A connection for [`DOMAIN`] registered and proved: its provider id.
async fn proved() -> (Sso, String) {
    let mut sso = setup().await;
    let provider_id = registered(&mut sso).await;
    let link = proof_link(&sso.down, &format!("postmaster@{DOMAIN}"), 1).await;
    let (status, page) = prove(&sso.down, &link).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Single sign-on is on"), "{page}");
    (sso, provider_id)
}

fn sets_session(res: &reqwest::Response) -> bool {
    res.headers().get_all("set-cookie").iter().any(|c| {
        let c = c.to_str().unwrap();
        c.starts_with("portcullis_session=") && !c.starts_with("portcullis_session=;")
    })
}

/// Types `email` (no password) into `/login` on `b`: the answer.
async fn login_form(s: &TestServer, b: &reqwest::Client, email: &str, return_to: &str) -> String {
    let page = b
        .get(s.url(&format!("/login?return_to={return_to}")))
        .send()
        .await
        .unwrap();
    let f = form(&page.text().await.unwrap(), "/login");
    let res = b
        .post(s.url("/login"))
        .form(&f.fill(&[("email", email), ("password", "")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the SSO hand-off page");
    assert!(!sets_session(&res));
    res.text().await.unwrap()
}

/// The href of the link labelled `label` in `html`.
fn link_labelled(html: &str, label: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let a = scraper::Selector::parse("a[href]").unwrap();
    doc.select(&a)
        .find(|e| e.text().collect::<String>().contains(label))
        .unwrap_or_else(|| panic!("no link {label:?} in {html}"))
        .value()
        .attr("href")
        .unwrap()
        .to_string()
}

/// From the downstream's sign-in URL `href` on `b`, through the upstream
/// (its browser `up_b`, signed in as `email`, consenting): the answer of
/// the downstream's callback.
async fn through_upstream(
    sso: &Sso,
    b: &reqwest::Client,
    up_b: &reqwest::Client,
    href: &str,
    email: &str,
) -> reqwest::Response {
    let res = b.get(sso.down.url(href)).send().await.unwrap();
    assert_eq!(
        res.status(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let authorize = res.headers()["location"].to_str().unwrap().to_string();
    assert!(
        authorize.starts_with(&sso.up.url("/oauth2/authorize?")),
        "{authorize}"
    );
    let back = flow::follow(&sso.up, up_b, &authorize, email, "allow").await;
    assert!(
        back.as_str()
            .starts_with(&format!("{}?", sso.client.redirect)),
        "{back}"
    );
    b.get(back).send().await.unwrap()
}

#[tokio::test]
async fn an_owner_registers_a_connection_and_proves_the_domain_by_mail() {
    let mut sso = setup().await;
    assert_eq!(
        sso_route(&sso.down, BOB).await,
        json!({ "required": false })
    );
    let provider_id = registered(&mut sso).await;
    let link = proof_link(&sso.down, &format!("postmaster@{DOMAIN}"), 1).await;

    // The link's page changes nothing.
    let (_, _, html) = proof_page(&sso.down, &link).await;
    assert!(html.contains(DOMAIN), "{html}");
    assert_eq!(
        sso_route(&sso.down, BOB).await,
        json!({ "required": false })
    );

    let (status, page) = prove(&sso.down, &link).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Single sign-on is on"), "{page}");
    let route = sso_route(&sso.down, BOB).await;
    assert_eq!(route["required"], true, "{route}");
    assert_eq!(route["providerId"], provider_id.as_str());
    assert_eq!(
        route["signInUrl"],
        format!("{API}/sign-in/{provider_id}").as_str()
    );
    let other = sso_route(&sso.down, "bob@other.test").await;
    assert_eq!(other, json!({ "required": false }));

    // Used once: the link is spent, on GET and on POST.
    let res = sso.down.new_browser().get(&link).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let f = form(
        &sso.down
            .http
            .get(sso.down.url("/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "/login",
    );
    let replay = sso
        .down
        .http
        .post(sso.down.url("/sso/verify-domain"))
        .form(&[
            ("token", mail::token_of(&link).as_str()),
            ("csrf_token", f.get("csrf_token").unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 400);
    assert!(
        replay.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

#[tokio::test]
async fn sign_in_sso_names_the_connection_of_the_address_domain() {
    let (sso, provider_id) = proved().await;
    let (status, body) = post(
        &sso.down,
        &sso.down.http,
        "sign-in/sso",
        json!({ "email": "Bob@ACME.test", "callbackURL": "/after" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["redirect"], true);
    assert_eq!(
        body["url"],
        format!("{API}/sign-in/{provider_id}?callbackURL=%2Fafter").as_str()
    );
    let (status, body) = post(
        &sso.down,
        &sso.down.http,
        "sign-in/sso",
        json!({ "email": "bob@other.test", "callbackURL": "/after" }),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["code"], "SSO_NOT_FOUND");
}

/// The `/login` screen hands an address at the domain over to the
/// connection; a new person lands signed in, their address verified.
#[tokio::test]
async fn the_login_screen_hands_a_domain_address_to_its_sso() {
    let (sso, provider_id) = proved().await;
    let up_b = flow::signed_in_verified(&sso.up, BOB).await;
    let b = sso.down.new_browser();
    let page = login_form(&sso.down, &b, BOB, "/welcome").await;
    let href = link_labelled(&page, "Continue to single sign-on");
    assert_eq!(
        href,
        format!("{API}/sign-in/{provider_id}?callbackURL=%2Fwelcome")
    );
    let res = through_upstream(&sso, &b, &up_b, &href, BOB).await;
    assert_eq!(
        res.status(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );
    assert!(sets_session(&res));
    assert_eq!(res.headers()["location"], "/welcome");
    let session = get_session(&sso.down, &b).await;
    assert_eq!(session["user"]["email"], BOB, "{session}");
    assert_eq!(session["user"]["emailVerified"], true, "{session}");

    // Again, in another browser: the same person.
    let again = sso.down.new_browser();
    let page = login_form(&sso.down, &again, BOB, "/").await;
    let href = link_labelled(&page, "Continue to single sign-on");
    let res = through_upstream(&sso, &again, &up_b, &href, BOB).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        get_session(&sso.down, &again).await["user"]["id"],
        session["user"]["id"]
    );
}

#[tokio::test]
async fn the_connection_vouches_for_nobody_outside_its_domain() {
    let (sso, provider_id) = proved().await;
    let up_b = flow::signed_in_verified(&sso.up, "carol@other.test").await;
    let b = sso.down.new_browser();
    let href = format!("{API}/sign-in/{provider_id}");
    let res = through_upstream(&sso, &b, &up_b, &href, "carol@other.test").await;
    assert_eq!(res.status(), 400);
    assert!(!sets_session(&res));
    let html = res.text().await.unwrap();
    assert!(html.contains("href=\"/login"), "{html}");
    assert_eq!(get_session(&sso.down, &b).await, Value::Null);
    let carol =
        portcullis::store::users::find_with_password(&sso.down.state.db, "carol@other.test")
            .await
            .unwrap();
    assert!(carol.is_none(), "no account for carol");
}

#[tokio::test]
async fn the_first_organisation_to_prove_a_domain_keeps_it() {
    let mut sso = setup().await;
    let first = registered(&mut sso).await;
    let rival = flow::signed_in(&sso.down, "rival@example.com").await;
    let (status, body) = register(&sso, &rival, DOMAIN, json!({ "mailbox": "admin" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["proofSentTo"], format!("admin@{DOMAIN}"));

    let ours = proof_link(&sso.down, &format!("postmaster@{DOMAIN}"), 1).await;
    let theirs = proof_link(&sso.down, &format!("admin@{DOMAIN}"), 1).await;
    assert_eq!(prove(&sso.down, &ours).await.0, 200);
    let (status, page) = prove(&sso.down, &theirs).await;
    assert_eq!(status, 409, "{page}");
    assert_eq!(
        sso_route(&sso.down, BOB).await["providerId"],
        first.as_str()
    );
}

#[tokio::test]
async fn only_a_fresh_owner_with_a_good_domain_and_mailbox_registers() {
    let sso = setup().await;
    let session = get_session(&sso.down, &sso.owner).await;
    let org = session["session"]["activeOrganizationId"]
        .as_str()
        .expect("an active organisation")
        .to_string();
    let admin = flow::signed_in(&sso.down, "admin@example.com").await;
    let admin_id = get_session(&sso.down, &admin).await["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    memberships::Model {
        organization_id: org.clone().into(),
        user_id: admin_id.into(),
        role: "admin".into(),
        created_at: sso.down.state.now(),
    }
    .into_active_model()
    .insert(&sso.down.state.db)
    .await
    .unwrap();
    let (status, body) = register(&sso, &admin, DOMAIN, json!({ "organizationId": org })).await;
    assert_eq!(
        (status, body["code"].clone()),
        (403, json!("FORBIDDEN")),
        "{body}"
    );

    for (domain, extra, code) in [
        ("not a domain", json!({}), "INVALID_DOMAIN"),
        ("gmail.com", json!({}), "INVALID_DOMAIN"),
        ("localhost", json!({}), "INVALID_DOMAIN"),
        (DOMAIN, json!({ "mailbox": "bob" }), "INVALID_MAILBOX"),
    ] {
        let (status, body) = register(&sso, &sso.owner, domain, extra).await;
        assert_eq!(
            (status, body["code"].clone()),
            (400, json!(code)),
            "{domain}: {body}"
        );
    }
    let (status, body) = register(
        &sso,
        &sso.owner,
        DOMAIN,
        json!({ "issuer": "http://localhost:9" }),
    )
    .await;
    assert_eq!(
        (status, body["code"].clone()),
        (400, json!("INVALID_ISSUER")),
        "{body}"
    );

    sso.down.clock.advance(901);
    let (status, body) = register(&sso, &sso.owner, DOMAIN, json!({})).await;
    assert_eq!(
        (status, body["code"].clone()),
        (403, json!("SESSION_NOT_FRESH")),
        "{body}"
    );
    assert!(mail::outbox(&sso.down, &format!("postmaster@{DOMAIN}")).is_empty());
    let rows = sso_connections::Entity::find()
        .all(&sso.down.state.db)
        .await
        .unwrap();
    assert!(rows.is_empty(), "nothing stored");
}

/// An issuer an organisation names reaches public addresses only, and is
/// refused before any connection is attempted.
#[tokio::test]
async fn an_issuer_on_a_private_address_is_refused_fast() {
    let s = TestServer::start().await;
    let owner = flow::signed_in(&s, "owner@example.com").await;
    for issuer in [
        "https://127.0.0.1:9/",
        "http://10.0.0.1/",
        "https://10.0.0.1/",
        "https://[::1]:9/",
        "http://localhost:9/",
    ] {
        let started = Instant::now();
        let body = json!({
            "domain": DOMAIN,
            "issuer": issuer,
            "clientId": "c",
            "clientSecret": "s",
        });
        let (status, body) = post(&s, &owner, "sso/register", body).await;
        assert_eq!(status, 400, "{issuer}: {body}");
        let code = body["code"].as_str().unwrap_or_default();
        assert!(
            code == "INVALID_CONNECTION" || code == "INVALID_ISSUER",
            "{issuer}: {body}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{issuer} took {:?}",
            started.elapsed()
        );
    }
    let rows = sso_connections::Entity::find()
        .all(&s.state.db)
        .await
        .unwrap();
    assert!(rows.is_empty());
}

#[tokio::test]
async fn the_client_secret_is_stored_sealed() {
    let mut sso = setup().await;
    let provider_id = registered(&mut sso).await;
    let id = provider_id.strip_prefix("sso-").unwrap();
    let row = sso_connections::Entity::find()
        .filter(sso_connections::Column::Id.eq(id))
        .one(&sso.down.state.db)
        .await
        .unwrap()
        .expect("the connection");
    let plain = sso.client.secret.clone().unwrap();
    assert!(
        row.client_secret.starts_with("pcs1:"),
        "{}",
        row.client_secret
    );
    assert!(
        !row.client_secret.contains(&plain),
        "the client secret in the clear"
    );
    assert_eq!(row.domain, DOMAIN);
    assert!(row.verified_at.is_none());
}

/// The connection vouches for its domain, but an address its provider says
/// is unverified stays unverified: no account, no session.
#[tokio::test]
async fn an_address_the_provider_has_not_verified_is_refused() {
    let (sso, provider_id) = proved().await;
    let up_b = flow::signed_in(&sso.up, BOB).await;
    let b = sso.down.new_browser();
    let href = format!("{API}/sign-in/{provider_id}");
    let res = through_upstream(&sso, &b, &up_b, &href, BOB).await;
    assert_eq!(res.status(), 400);
    assert!(!sets_session(&res));
    assert_eq!(get_session(&sso.down, &b).await, Value::Null);
    let bob = portcullis::store::users::find_with_password(&sso.down.state.db, BOB)
        .await
        .unwrap();
    assert!(bob.is_none(), "no account for an unverified address");
}

/// An account that existed before the connection is not captured by it:
/// its owner connects it, signed in, and from then on signs in through it.
#[tokio::test]
async fn an_existing_account_is_connected_by_its_owner_not_captured() {
    let (sso, provider_id) = proved().await;
    let up_b = flow::signed_in_verified(&sso.up, BOB).await;
    let bob_b = flow::signed_in_verified(&sso.down, BOB).await;
    let bob_id = get_session(&sso.down, &bob_b).await["user"]["id"].clone();
    let href = format!("{API}/sign-in/{provider_id}");

    let stranger = sso.down.new_browser();
    let res = through_upstream(&sso, &stranger, &up_b, &href, BOB).await;
    assert_eq!(res.status(), 400, "sign in first, then connect");
    assert!(!sets_session(&res));
    assert_eq!(get_session(&sso.down, &stranger).await, Value::Null);

    let (status, body) = post(
        &sso.down,
        &bob_b,
        "link-social",
        json!({ "provider": provider_id, "callbackURL": "/settings" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let authorize = body["url"].as_str().expect("url");
    let back = flow::follow(&sso.up, &up_b, authorize, BOB, "allow").await;
    let res = bob_b.get(back).send().await.unwrap();
    assert_eq!(
        res.status(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );

    let again = sso.down.new_browser();
    let res = through_upstream(&sso, &again, &up_b, &href, BOB).await;
    assert_eq!(
        res.status(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );
    assert_eq!(get_session(&sso.down, &again).await["user"]["id"], bob_id);
}
