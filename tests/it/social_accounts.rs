//! Accounts and linked identities (issue 21): an upstream address matching
//! an account links to it only when both sides verified it; linking while
//! signed in, with a fresh session; the last way in cannot be unlinked;
//! setting a first password; the sign-in methods a server lists; a second
//! factor still asked for after a social sign-in.

use serde_json::{Value, json};

use crate::api::{self, get_session, post};
use crate::flow::{self, PASSWORD, param};
use crate::github_fake::{
    CODE, Emails, Failure, GithubFake, GithubUser, account, callback, identities, redirected,
    refused, sign_in, user_count,
};
use crate::harness::{TestServer, get_json, get_text};
use crate::upstream::{
    ACME, Configured, Setup, check_authorize_url, federation, finish, link_social,
};

const EMAIL: &str = "mira@example.com";

/// `GET list-accounts` on `b`: (providerId, accountId) pairs, sorted.
async fn accounts(s: &TestServer, b: &reqwest::Client) -> Vec<(String, String)> {
    let res = b.get(api::url(s, "list-accounts")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let list: Value = res.json().await.unwrap();
    let mut out: Vec<(String, String)> = list
        .as_array()
        .expect("a list")
        .iter()
        .map(|a| {
            assert!(
                a["id"].is_string() && a["createdAt"].is_string() && a["updatedAt"].is_string()
            );
            (
                a["providerId"].as_str().unwrap().to_string(),
                a["accountId"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn providers(list: &[(String, String)]) -> Vec<&str> {
    list.iter().map(|(p, _)| p.as_str()).collect()
}

/// A GitHub fake signing in `user`, and our server using it.
async fn with_github(user: GithubUser) -> (GithubFake, TestServer) {
    let fake = GithubFake::start(&user, Failure::None).await;
    let s = fake.server(vec![]).await;
    (fake, s)
}

#[tokio::test]
async fn an_unverified_account_with_the_address_is_not_taken_over() {
    let (_fake, s) = with_github(GithubUser::verified(EMAIL)).await;
    let squatter = flow::signed_in(&s, EMAIL).await;
    let before = account(&s, EMAIL).await.unwrap();
    assert!(!before.0.email_verified);

    let b = s.new_browser();
    refused(sign_in(&s, &b, None).await, 400).await;
    assert_eq!(get_session(&s, &b).await, Value::Null);
    assert!(identities(&s, "github").await.is_empty(), "nothing linked");
    assert_eq!(user_count(&s).await, 1, "no second account");
    assert_eq!(account(&s, EMAIL).await.unwrap(), before, "untouched");
    assert_eq!(get_session(&s, &squatter).await["user"]["email"], EMAIL);
}

#[tokio::test]
async fn a_verified_account_is_not_linked_to_an_unverified_github_address() {
    let (_fake, s) = with_github(GithubUser::with(Emails::PrimaryUnverified(EMAIL.into()))).await;
    flow::signed_in_verified(&s, EMAIL).await;
    let before = account(&s, EMAIL).await.unwrap();

    let b = s.new_browser();
    refused(sign_in(&s, &b, None).await, 400).await;
    assert_eq!(get_session(&s, &b).await, Value::Null);
    assert!(identities(&s, "github").await.is_empty());
    assert_eq!(account(&s, EMAIL).await.unwrap(), before);
}

#[tokio::test]
async fn a_verified_account_is_linked_when_github_verified_the_address_too() {
    let (_fake, s) = with_github(GithubUser::verified(EMAIL)).await;
    flow::signed_in_verified(&s, EMAIL).await;
    let (user, hash) = account(&s, EMAIL).await.unwrap();

    let b = s.new_browser();
    let res = sign_in(&s, &b, None).await;
    assert_eq!(res.status(), 303);
    assert_eq!(get_session(&s, &b).await["user"]["id"], user.id.as_str());
    let linked = identities(&s, "github").await;
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0].user_id, user.id);
    assert_eq!(user_count(&s).await, 1);
    let list = accounts(&s, &b).await;
    assert_eq!(providers(&list), ["credential", "github"]);
    assert_eq!(list[1].1, "123", "GitHub's id");
    assert_eq!(account(&s, EMAIL).await.unwrap().1, hash, "password kept");
    let mut told = false;
    for _ in 0..200 {
        told = crate::mail::outbox(&s, EMAIL)
            .iter()
            .any(|m| m.contains("GitHub can now sign in to your account"));
        if told {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        told,
        "the owner is told a provider was connected by address"
    );
}

/// Signed in with a password, a person connects an upstream account with
/// another address; it signs them in from then on.
#[tokio::test]
async fn linking_while_signed_in_adds_an_identity_that_signs_in() {
    let f = federation(Setup::new(Configured::Toml, "elsewhere@example.com")).await;
    let b = flow::signed_in(&f.down, EMAIL).await;
    let me = get_session(&f.down, &b).await["user"]["id"].clone();

    let to = link_social(&f.down, &b, ACME).await;
    check_authorize_url(&f, &to);
    let res = finish(&f, &b, &to).await;
    assert_eq!(redirected(res).await, "/settings");
    assert_eq!(get_session(&f.down, &b).await["user"]["id"], me);
    let sub = account(&f.up, f.email).await.unwrap().0.id.to_string();
    let list = accounts(&f.down, &b).await;
    assert_eq!(providers(&list), ["acme", "credential"]);
    assert_eq!(list[0].1, sub, "accountId is the upstream's sub");

    // The upstream account now signs in as this person.
    let other = f.down.new_browser();
    let res =
        crate::upstream::sign_in_via_upstream(&f, &other, None, &crate::upstream::untouched).await;
    assert_eq!(res.status(), 303);
    assert_eq!(get_session(&f.down, &other).await["user"]["id"], me);
    assert_eq!(user_count(&f.down).await, 1);
}

#[tokio::test]
async fn linking_and_setting_a_password_need_a_fresh_session() {
    let (_fake, s) = with_github(GithubUser::verified("fresh@example.com")).await;
    let social = s.new_browser();
    assert_eq!(sign_in(&s, &social, None).await.status(), 303);
    let b = flow::signed_in(&s, EMAIL).await;
    s.clock.advance(901);

    let (status, e) = post(
        &s,
        &b,
        "link-social",
        json!({ "provider": "github", "callbackURL": "/settings" }),
    )
    .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (403, Some("SESSION_NOT_FRESH"))
    );
    let (status, e) = post(
        &s,
        &social,
        "set-password",
        json!({ "newPassword": PASSWORD }),
    )
    .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (403, Some("SESSION_NOT_FRESH"))
    );
    assert!(account(&s, "fresh@example.com").await.unwrap().1.is_none());
}

#[tokio::test]
async fn the_last_way_in_stays_until_a_password_is_set() {
    let (_fake, s) = with_github(GithubUser::verified(EMAIL)).await;
    let b = s.new_browser();
    assert_eq!(sign_in(&s, &b, None).await.status(), 303);
    assert_eq!(providers(&accounts(&s, &b).await), ["github"]);

    let (status, e) = post(&s, &b, "unlink-account", json!({ "providerId": "github" })).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (400, Some("LAST_SIGN_IN_METHOD"))
    );
    assert_eq!(identities(&s, "github").await.len(), 1);
    let (status, e) = post(&s, &b, "unlink-account", json!({ "providerId": ACME })).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (404, Some("ACCOUNT_NOT_FOUND"))
    );

    let (status, e) = post(&s, &b, "set-password", json!({ "newPassword": PASSWORD })).await;
    assert_eq!((status, &e), (200, &json!({ "status": true })));
    assert_eq!(providers(&accounts(&s, &b).await), ["credential", "github"]);
    let (status, e) = post(&s, &b, "unlink-account", json!({ "providerId": "github" })).await;
    assert_eq!((status, &e), (200, &json!({ "status": true })));
    assert!(identities(&s, "github").await.is_empty());
    assert_eq!(providers(&accounts(&s, &b).await), ["credential"]);

    let (status, e) = post(
        &s,
        &b,
        "set-password",
        json!({ "newPassword": "another one, longer" }),
    )
    .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (400, Some("PASSWORD_ALREADY_SET"))
    );
    let res = api::sign_in(&s, &s.new_browser(), EMAIL, PASSWORD).await;
    assert_eq!(res.status(), 200, "the password set is the one that works");
}

#[tokio::test]
async fn login_methods_lists_exactly_the_enabled_providers() {
    let none = TestServer::start().await;
    let methods: Value = get_json(&none.http, api::url(&none, "login-methods")).await;
    assert_eq!(methods["providers"], json!([]));
    assert_eq!(methods["password"], true);
    assert_eq!(methods["sso"], false);

    let fake = GithubFake::start(&GithubUser::verified(EMAIL), Failure::None).await;
    let mut setup = Setup::new(Configured::Toml, "lm@example.com");
    setup.extra = fake.env();
    let f = federation(setup).await;
    let methods: Value = get_json(&f.down.http, api::url(&f.down, "login-methods")).await;
    let mut listed: Vec<(String, String, String)> = methods["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let id = p["id"].as_str().unwrap().to_string();
            let url = p["signInUrl"].as_str().unwrap();
            assert!(url.contains(&format!("/sign-in/{id}")), "{url}");
            (
                id,
                p["name"].as_str().unwrap().into(),
                p["type"].as_str().unwrap().into(),
            )
        })
        .collect();
    listed.sort();
    let want = |id: &str, name: &str, ty: &str| (id.to_string(), name.to_string(), ty.to_string());
    assert_eq!(
        listed,
        [
            want("acme", "Acme SSO", "oidc"),
            want("github", "GitHub", "oauth")
        ]
    );
    let with_email: Value = get_json(
        &f.down.http,
        api::url(&f.down, "login-methods?email=a@example.com"),
    )
    .await;
    assert_eq!(with_email["sso"]["required"], false, "{with_email}");

    let html = get_text(&f.down.http, f.down.url("/login")).await;
    assert!(html.contains("Continue with GitHub") && html.contains("Continue with Acme SSO"));
}

#[tokio::test]
async fn a_social_sign_in_still_asks_for_the_second_factor() {
    let (_fake, s) = with_github(GithubUser::verified(EMAIL)).await;
    let b = s.new_browser();
    assert_eq!(sign_in(&s, &b, None).await.status(), 303);
    let (status, _) = post(&s, &b, "set-password", json!({ "newPassword": PASSWORD })).await;
    assert_eq!(status, 200);
    let (secret, _) = crate::two_factor::enable(&s, &b).await;

    let fresh = s.new_browser();
    let res = sign_in(&s, &fresh, Some("/account")).await;
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/login/2fa"), "{to}");
    assert!(to.contains("return_to="), "{to}");
    assert_eq!(get_session(&s, &fresh).await, Value::Null, "pending");
    let html = get_text(&fresh, s.url(&to)).await;
    let form = crate::html::form(&html, "/login/2fa");
    s.clock.advance(30);
    let code = crate::two_factor::code_now(&s, &secret);
    let done = fresh
        .post(s.url("/login/2fa"))
        .form(&form.fill(&[("code", &code)]))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    assert_eq!(done.headers()["location"], "/account");
    assert_eq!(get_session(&s, &fresh).await["user"]["email"], EMAIL);
}

/// `b` connects GitHub while another account holds the GitHub identity:
/// the confirm page's form.
async fn offer_transfer(s: &TestServer, b: &reqwest::Client) -> crate::html::Form {
    let to = link_social(s, b, "github").await;
    assert_eq!(
        param(&to, "client_id").as_deref(),
        Some(crate::github_fake::CLIENT_ID)
    );
    let state = param(&to, "state").unwrap();
    let res = callback(s, b, &[("code", CODE), ("state", &state)]).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let form = crate::html::form(&html, "/account/connections/transfer");
    assert_eq!(form.method, "post");
    assert!(form.get("transfer_token").is_some_and(|v| v.len() >= 20));
    assert!(form.get("csrf_token").is_some_and(|v| !v.is_empty()));
    form
}

async fn post_transfer(
    s: &TestServer,
    b: &reqwest::Client,
    form: &crate::html::Form,
) -> reqwest::Response {
    b.post(s.url("/account/connections/transfer"))
        .form(&form.fill(&[]))
        .send()
        .await
        .unwrap()
}

/// Connecting an identity that another account holds asks the receiving
/// person to confirm; nothing moves before that, nor when it would leave the
/// holder without a way in, nor for anybody else; then it moves, once.
#[tokio::test]
async fn an_identity_held_by_another_account_moves_only_when_confirmed() {
    let (_fake, s) = with_github(GithubUser::verified(EMAIL)).await;
    let holder_b = s.new_browser();
    assert_eq!(sign_in(&s, &holder_b, None).await.status(), 303);
    let holder = account(&s, EMAIL).await.unwrap().0;
    let owner_of = async |s: &TestServer| identities(s, "github").await[0].user_id.clone();

    // The holder has no other way in: the move is refused.
    let b = flow::signed_in(&s, "receiver@example.com").await;
    let receiver = account(&s, "receiver@example.com").await.unwrap().0;
    let form = offer_transfer(&s, &b).await;
    assert_eq!(owner_of(&s).await, holder.id, "not moved yet");
    assert_eq!(post_transfer(&s, &b, &form).await.status(), 400);
    assert_eq!(owner_of(&s).await, holder.id);

    // With a password, the holder keeps a way in; only the receiver may confirm.
    let (status, _) = post(
        &s,
        &holder_b,
        "set-password",
        json!({ "newPassword": PASSWORD }),
    )
    .await;
    assert_eq!(status, 200);
    let form = offer_transfer(&s, &b).await;
    let third = flow::signed_in(&s, "third@example.com").await;
    let mut stolen = crate::html::form(&get_text(&third, s.url("/")).await, "/logout");
    stolen.fields.retain(|(n, _)| n == "csrf_token");
    stolen.fields.push((
        "transfer_token".into(),
        form.get("transfer_token").unwrap().into(),
    ));
    assert_eq!(post_transfer(&s, &third, &stolen).await.status(), 400);
    assert_eq!(owner_of(&s).await, holder.id);

    let moved = post_transfer(&s, &b, &form).await;
    assert_eq!(moved.status(), 303);
    assert_eq!(owner_of(&s).await, receiver.id);
    assert_eq!(identities(&s, "github").await.len(), 1);
    assert_eq!(providers(&accounts(&s, &holder_b).await), ["credential"]);
    assert_eq!(post_transfer(&s, &b, &form).await.status(), 400, "once");
    // GitHub now signs the receiver in.
    let other = s.new_browser();
    assert_eq!(sign_in(&s, &other, None).await.status(), 303);
    assert_eq!(
        get_session(&s, &other).await["user"]["id"],
        receiver.id.as_str()
    );
}
