//! Signing in through a provider on the way to something: the sign-in
//! screen of an authorization request or of a device approval offers the
//! provider's button, and the round trip through the provider ends back at
//! the consent or approval screen.

use url::Url;

use crate::flow::{self, ClientKind, Consent, param};
use crate::github_fake::{CODE, Failure, GithubFake, GithubUser, callback};
use crate::harness::{TestServer, get_text};

/// The "Continue with GitHub" link of a sign-in page.
fn github_button(html: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("a[data-provider=github]").unwrap();
    let a = doc.select(&sel).next().expect("a GitHub button");
    assert!(
        a.text()
            .collect::<String>()
            .contains("Continue with GitHub")
    );
    a.value().attr("href").unwrap().to_string()
}

/// From a sign-in page's location (`/login?return_to=…`), through the
/// GitHub button and GitHub, to where the callback sends the browser.
async fn through_github(s: &TestServer, b: &reqwest::Client, login: &str) -> String {
    let html = get_text(b, s.url(login)).await;
    let href = github_button(&html);
    let res = b.get(s.url(&href)).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let to = Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    let state = param(&to, "state").unwrap();
    let res = callback(s, b, &[("code", CODE), ("state", &state)]).await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    res.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn an_authorization_request_continues_to_consent_after_github() {
    let fake = GithubFake::start(&GithubUser::verified("octo@example.com"), Failure::None).await;
    let s = fake.server(vec![]).await;
    let c = flow::client(
        &s,
        ClientKind::Public,
        Consent::Asked,
        &["authorization_code"],
        Some("openid profile"),
    )
    .await;
    let authorize = flow::authorize_url(
        &s,
        &c,
        &[("scope", "openid profile"), ("state", "xyz")],
        Some(flow::VERIFIER),
    );
    let b = s.new_browser();
    let res = b.get(&authorize).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let login = res.headers()["location"].to_str().unwrap().to_string();
    assert!(
        login.starts_with("/login?return_to=%2Foauth2%2Fauthorize"),
        "{login}"
    );
    let back = through_github(&s, &b, &login).await;
    assert!(back.starts_with("/oauth2/authorize?"), "{back}");
    let consent = get_text(&b, s.url(&back)).await;
    assert!(consent.contains("action=\"/oauth2/consent\""), "{consent}");
    assert!(
        consent.contains("octo@example.com"),
        "the consent names the account"
    );
}

#[tokio::test]
async fn a_device_approval_continues_after_github() {
    let fake = GithubFake::start(&GithubUser::verified("tv@example.com"), Failure::None).await;
    let s = fake.server(vec![]).await;
    let c = crate::device::device_client(&s).await;
    let d = crate::device::start(&s, &c).await;
    let complete = d["verification_uri_complete"]
        .as_str()
        .unwrap()
        .strip_prefix(&s.base)
        .unwrap()
        .to_string();
    let b = s.new_browser();
    let res = b.get(s.url(&complete)).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let login = res.headers()["location"].to_str().unwrap().to_string();
    let back = through_github(&s, &b, &login).await;
    assert_eq!(back, complete, "back to the approval screen");
    let page = get_text(&b, s.url(&back)).await;
    assert!(
        page.contains("action=\"/device\"") && page.contains("value=\"allow\""),
        "{page}"
    );
}

#[tokio::test]
async fn one_upstream_sign_in_is_used_once_under_parallel_callbacks() {
    let fake = GithubFake::start(&GithubUser::verified("race@example.com"), Failure::None).await;
    let s = fake.server(vec![]).await;
    let b = s.new_browser();
    let html = get_text(&b, s.url("/login")).await;
    let res = b.get(s.url(&github_button(&html))).send().await.unwrap();
    let to = Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    let state = param(&to, "state").unwrap();
    let calls = (0..200).map(|_| {
        let (b, url) = (b.clone(), crate::github_fake::callback_url(&s, "github"));
        let state = state.clone();
        tokio::spawn(async move {
            let res = b
                .get(url)
                .query(&[("code", CODE), ("state", state.as_str())])
                .send()
                .await
                .unwrap();
            res.status().as_u16()
        })
    });
    let statuses: Vec<u16> = futures_util::future::join_all(calls)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        statuses.iter().filter(|&&c| c == 303).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&c| c == 400).count(),
        199,
        "{statuses:?}"
    );
    assert_eq!(
        fake.requests_to("/login/oauth/access_token").await.len(),
        1,
        "one code redemption"
    );
}

#[tokio::test]
async fn a_callback_from_another_browser_does_not_spoil_the_sign_in() {
    let fake = GithubFake::start(&GithubUser::verified("mine@example.com"), Failure::None).await;
    let s = fake.server(vec![]).await;
    let b = s.new_browser();
    let html = get_text(&b, s.url("/login")).await;
    let res = b.get(s.url(&github_button(&html))).send().await.unwrap();
    let to = Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    let state = param(&to, "state").unwrap();
    let other = s.new_browser();
    let res = callback(&s, &other, &[("code", CODE), ("state", &state)]).await;
    assert_eq!(res.status(), 400, "another browser is refused");
    let res = callback(&s, &b, &[("code", CODE), ("state", &state)]).await;
    assert_eq!(
        res.status(),
        303,
        "the browser that started it still finishes"
    );
}

#[tokio::test]
async fn the_providers_list_names_each_enabled_provider_and_its_callback() {
    let fake = GithubFake::start(&GithubUser::verified("list@example.com"), Failure::None).await;
    let s = fake.server(vec![]).await;
    let list: serde_json::Value =
        crate::harness::get_json(&s.http, s.url("/.auth/api/v1/auth/providers")).await;
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["github", "passkey"], "{list}");
    assert_eq!(
        list[0]["callbackUrl"],
        crate::github_fake::callback_url(&s, "github")
    );
    assert_eq!(list[0]["name"], "GitHub");
}

#[tokio::test]
async fn a_sign_in_started_from_another_site_stops_at_a_page_of_ours() {
    let fake = GithubFake::start(&GithubUser::verified("csrf@example.com"), Failure::None).await;
    let s = fake.server(vec![]).await;
    let b = s.new_browser();
    let start = s.url("/.auth/api/v1/auth/sign-in/github?callbackURL=%2Fwelcome");
    let res = b
        .get(&start)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "no redirect to the provider");
    let page = res.text().await.unwrap();
    let doc = scraper::Html::parse_document(&page);
    let sel = scraper::Selector::parse("a.button").unwrap();
    let href = doc
        .select(&sel)
        .next()
        .unwrap()
        .value()
        .attr("href")
        .unwrap()
        .to_string();
    assert_eq!(
        href,
        "/.auth/api/v1/auth/sign-in/github?callbackURL=%2Fwelcome"
    );
    let res = b
        .get(s.url(&href))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "a click on our page goes on");
    let typed = b
        .get(&start)
        .header("sec-fetch-site", "none")
        .send()
        .await
        .unwrap();
    assert_eq!(typed.status(), 303, "a typed address goes on");
}
