//! Signing in with GitHub (issue 21), against a wiremock fake of GitHub:
//! a verified primary address makes an account, anything less is refused,
//! GitHub's failures are readable pages, the state binds the callback to the
//! browser and the attempt, and GitHub is on only with both its variables.

use std::time::{Duration, Instant};

use entities::organizations;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;

use crate::api::{API, get_session};
use crate::flow::{challenge, param};
use crate::github_fake::{
    CLIENT_ID, CLIENT_SECRET, CODE, Emails, Failure, GithubFake, GithubUser, account, callback,
    callback_url, identities, refused, sets_session, sign_in, start, user_count,
};
use crate::harness::{TestServer, get_json, get_text};

/// The token request our server made: the code, our callback, the PKCE
/// verifier of the challenge it sent, and the client's credentials (in the
/// form or as HTTP Basic).
async fn check_token_request(s: &TestServer, fake: &GithubFake, sent_challenge: &str) {
    let requests = fake.requests_to("/login/oauth/access_token").await;
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&r.body).into_owned().collect();
    let field = |n: &str| form.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    assert_eq!(field("code").as_deref(), Some(CODE));
    assert_eq!(field("redirect_uri"), Some(callback_url(s, "github")));
    let verifier = field("code_verifier").expect("a PKCE verifier");
    assert_eq!(challenge(&verifier), sent_challenge, "S256 of the verifier");
    let basic = r
        .headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_string());
    let in_form = field("client_id").as_deref() == Some(CLIENT_ID)
        && field("client_secret").as_deref() == Some(CLIENT_SECRET);
    assert!(
        in_form || basic.is_some_and(|b| b.starts_with("Basic ")),
        "the client authenticates: {form:?}"
    );
}

#[tokio::test]
async fn a_verified_github_address_makes_an_account_and_signs_it_in() {
    let fake = GithubFake::start(&GithubUser::verified("Octo@Example.com"), Failure::None).await;
    let s = fake.server(vec![]).await;
    let b = s.new_browser();
    let to = start(&s, &b, Some("/welcome?x=1")).await;
    let state = param(&to, "state").unwrap();
    let res = callback(&s, &b, &[("code", CODE), ("state", &state)]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/welcome?x=1");
    assert!(sets_session(&res));
    check_token_request(&s, &fake, &param(&to, "code_challenge").unwrap()).await;

    let session: Value = get_session(&s, &b).await;
    assert_eq!(session["user"]["email"], "octo@example.com");
    assert_eq!(session["user"]["emailVerified"], true);
    assert_eq!(session["user"]["name"], "Octo Cat");
    let user_id = session["user"]["id"].as_str().unwrap().to_string();
    let org_id = session["session"]["activeOrganizationId"]
        .as_str()
        .expect("a personal organisation");
    let personal = organizations::Entity::find()
        .filter(organizations::Column::PersonalOwnerId.eq(user_id.clone()))
        .all(&s.state.db)
        .await
        .unwrap();
    assert_eq!(personal.len(), 1);
    assert_eq!(personal[0].id.to_string(), org_id);
    let linked = identities(&s, "github").await;
    assert_eq!(linked.len(), 1);
    assert_eq!(
        linked[0].subject, "123",
        "GitHub's numeric id, not the login"
    );
    assert_eq!(linked[0].user_id.to_string(), user_id);
    assert_eq!(
        crate::upstream::amr_downstream(&s, &b).await,
        ["fed"],
        "the session says it was federated"
    );

    // Again, in another browser: the same account, nothing new.
    let other = s.new_browser();
    let again = sign_in(&s, &other, None).await;
    assert_eq!(again.status(), 303);
    assert_eq!(
        again.headers()["location"],
        "/",
        "callbackURL defaults to /"
    );
    assert_eq!(
        get_session(&s, &other).await["user"]["id"],
        user_id.as_str()
    );
    assert_eq!(user_count(&s).await, 1);
    assert_eq!(identities(&s, "github").await.len(), 1);
}

#[tokio::test]
async fn an_unverified_or_missing_github_address_is_refused() {
    for emails in [
        Emails::PrimaryUnverified("unverified@example.com".into()),
        Emails::None,
    ] {
        let fake = GithubFake::start(&GithubUser::with(emails.clone()), Failure::None).await;
        let s = fake.server(vec![]).await;
        let b = s.new_browser();
        refused(sign_in(&s, &b, None).await, 400).await;
        assert_eq!(get_session(&s, &b).await, Value::Null, "{emails:?}");
        assert_eq!(user_count(&s).await, 0, "{emails:?}: no account");
        assert!(account(&s, "unverified@example.com").await.is_none());
        assert!(identities(&s, "github").await.is_empty());
        assert_eq!(
            fake.requests_to("/user/emails").await.len(),
            1,
            "the addresses were asked for"
        );
    }
}

#[tokio::test]
async fn githubs_errors_are_pages_not_500s() {
    let user = GithubUser::verified("errs@example.com");
    // GitHub refuses the code with its 200-and-`error`.
    let fake = GithubFake::start(&user, Failure::TokenError).await;
    let s = fake.server(vec![]).await;
    let b = s.new_browser();
    refused(sign_in(&s, &b, None).await, 400).await;
    assert_eq!(get_session(&s, &b).await, Value::Null);
    assert!(
        fake.requests_to("/user").await.is_empty(),
        "no token, no profile"
    );
    // GitHub's API fails.
    let fake = GithubFake::start(&user, Failure::UserServerError).await;
    let s = fake.server(vec![]).await;
    let b = s.new_browser();
    refused(sign_in(&s, &b, None).await, 502).await;
    assert_eq!(get_session(&s, &b).await, Value::Null);
    assert_eq!(user_count(&s).await, 0);
}

/// Slow: about 10 s, our upstream timeout (the fake answers after 15 s).
#[tokio::test]
async fn slow_10s_a_github_slower_than_our_timeout_is_a_502_page() {
    let fake = GithubFake::start(
        &GithubUser::verified("slow@example.com"),
        Failure::SlowToken,
    )
    .await;
    let s = fake.server(vec![]).await;
    let b = s.new_browser();
    let to = start(&s, &b, None).await;
    let state = param(&to, "state").unwrap();
    let began = Instant::now();
    let res = callback(&s, &b, &[("code", CODE), ("state", &state)]).await;
    let took = began.elapsed();
    refused(res, 502).await;
    assert!(
        took < Duration::from_secs(12),
        "given up after the 10 s timeout, not GitHub's 15 s: {took:?}"
    );
    assert_eq!(user_count(&s).await, 0);
}

#[tokio::test]
async fn the_callback_takes_only_its_own_state_once_in_the_same_browser() {
    let fake = GithubFake::start(&GithubUser::verified("state@example.com"), Failure::None).await;
    let s = fake.server(vec![]).await;
    let b = s.new_browser();

    // A state we never sent.
    start(&s, &b, None).await;
    let forged = callback(&s, &b, &[("code", CODE), ("state", "not-a-state-we-sent")]).await;
    refused(forged, 400).await;
    // Our state, in a browser without the flow's cookie (an attacker's link).
    let to = start(&s, &b, None).await;
    let state = param(&to, "state").unwrap();
    let stranger = s.new_browser();
    refused(
        callback(&s, &stranger, &[("code", CODE), ("state", &state)]).await,
        400,
    )
    .await;
    assert_eq!(get_session(&s, &stranger).await, Value::Null);
    // A flow older than ten minutes.
    let to = start(&s, &b, None).await;
    let old = param(&to, "state").unwrap();
    s.clock.advance(10 * 60 + 1);
    refused(
        callback(&s, &b, &[("code", CODE), ("state", &old)]).await,
        400,
    )
    .await;
    assert_eq!(
        fake.requests_to("/login/oauth/access_token").await.len(),
        0,
        "no code was redeemed for a refused state"
    );

    // The right one works once.
    let to = start(&s, &b, None).await;
    let state = param(&to, "state").unwrap();
    let ok = callback(&s, &b, &[("code", CODE), ("state", &state)]).await;
    assert_eq!(ok.status(), 303);
    let replay = callback(&s, &b, &[("code", CODE), ("state", &state)]).await;
    refused(replay, 400).await;
    assert_eq!(
        fake.requests_to("/login/oauth/access_token").await.len(),
        1,
        "the replay redeemed nothing"
    );
}

#[tokio::test]
async fn a_denied_authorization_is_a_page() {
    let fake = GithubFake::start(&GithubUser::verified("deny@example.com"), Failure::None).await;
    let s = fake.server(vec![]).await;
    let b = s.new_browser();
    let to = start(&s, &b, None).await;
    let state = param(&to, "state").unwrap();
    let res = callback(
        &s,
        &b,
        &[
            ("error", "access_denied"),
            (
                "error_description",
                "The user has denied your application access.",
            ),
            ("state", &state),
        ],
    )
    .await;
    refused(res, 400).await;
    assert_eq!(get_session(&s, &b).await, Value::Null);
    assert!(
        fake.requests_to("/login/oauth/access_token")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn github_is_on_only_with_both_variables() {
    let half = TestServer::start_with(vec![
        ("GITHUB_CLIENT_ID", CLIENT_ID),
        ("PORTCULLIS_CLIENT_METADATA__ALLOW_LOOPBACK", "true"),
    ])
    .await;
    let res = half
        .http
        .get(half.url(&format!("{API}/sign-in/github?callbackURL=/")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(res.text().await.unwrap().contains("href=\"/login"));
    let methods: Value = get_json(&half.http, half.url(&format!("{API}/login-methods"))).await;
    assert_eq!(methods["providers"], serde_json::json!([]));
    for page in ["/login", "/signup"] {
        let html = get_text(&half.http, half.url(page)).await;
        assert!(!html.contains("sign-in/github"), "{page}: {html}");
        assert!(!html.contains("Continue with GitHub"), "{page}");
    }

    // With both: the button, carrying where to go afterwards.
    let fake = GithubFake::start(&GithubUser::verified("btn@example.com"), Failure::None).await;
    let s = fake.server(vec![]).await;
    for page in ["/login", "/signup"] {
        let html = get_text(&s.http, s.url(&format!("{page}?return_to=/account"))).await;
        assert!(html.contains("Continue with GitHub"), "{page}: {html}");
        let link = "/sign-in/github?callbackURL=";
        let at = html.find(link).unwrap_or_else(|| panic!("{page}: {html}"));
        let target = &html[at + link.len()..];
        assert!(
            target.starts_with("%2Faccount\"") || target.starts_with("/account\""),
            "{page}: {html}"
        );
    }
    // An unknown provider.
    let res = s
        .http
        .get(s.url(&format!("{API}/sign-in/nope")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

/// A callbackURL elsewhere is not followed: the sign-in lands on our origin.
#[tokio::test]
async fn the_callback_url_stays_on_our_origin() {
    let fake = GithubFake::start(&GithubUser::verified("open@example.com"), Failure::None).await;
    let s = fake.server(vec![]).await;
    let b = s.new_browser();
    let res = b
        .get(s.url(&format!(
            "{API}/sign-in/github?callbackURL=https%3A%2F%2Fevil.example%2F"
        )))
        .send()
        .await
        .unwrap();
    let to = match res.status().as_u16() {
        // Refused outright, or the bad target dropped: both fine.
        400 => return,
        303 => url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap(),
        other => panic!("sign-in answered {other}"),
    };
    let state = param(&to, "state").unwrap();
    let done = callback(&s, &b, &[("code", CODE), ("state", &state)]).await;
    assert_eq!(done.status(), 303);
    let location = done.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with('/') && !location.starts_with("//"),
        "{location}"
    );
    assert!(!location.contains("evil.example"));
}
