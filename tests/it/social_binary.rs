//! Upstream sign-in in the shipped binary (`portcullis serve` as a child
//! process with a cleared environment): the upstream HTTP client is built,
//! and speaks TLS, without anything the test process installs.

use url::Url;

use crate::api::API;
use crate::binary::BinaryServer;
use crate::flow::param;
use crate::github_fake::{CODE, Failure, GithubFake, GithubUser};
use crate::harness::Served;
use crate::outgoing::{first_bytes_listener, is_client_hello};

/// Starts a GitHub sign-in on the binary; GitHub's authorize URL it sent
/// the browser to.
async fn start(s: &BinaryServer, b: &reqwest::Client) -> Url {
    let res = b
        .get(s.url(&format!("{API}/sign-in/github?callbackURL=/welcome")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303, "{}", s.log());
    let location = res.headers()["location"].to_str().unwrap().to_string();
    Url::parse(&location).unwrap()
}

#[tokio::test]
async fn the_shipped_binary_signs_a_person_in_with_github() {
    let fake = GithubFake::start(&GithubUser::verified("octo@example.com"), Failure::None).await;
    let env = fake.env();
    let s =
        BinaryServer::start_with(env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()).await;
    let b = s.new_browser();
    let to = start(&s, &b).await;
    let state = param(&to, "state").unwrap();
    let res = b
        .get(s.url(&format!("{API}/callback/github?code={CODE}&state={state}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303, "{}", s.log());
    assert_eq!(res.headers()["location"], "/welcome");
    let session: serde_json::Value = b
        .get(s.url(&format!("{API}/get-session")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(session["user"]["email"], "octo@example.com", "{session}");
    assert_eq!(session["user"]["emailVerified"], true);
    assert!(!s.log().contains("panicked"), "{}", s.log());
}

#[tokio::test]
async fn the_shipped_binary_speaks_tls_to_an_https_upstream() {
    // No certificate here: the handshake cannot finish, but the binary must
    // get as far as a ClientHello, and answer with a page, not a crash.
    let (port, mut first_bytes) = first_bytes_listener().await;
    let https = format!("https://127.0.0.1:{port}");
    let mut s = BinaryServer::start_with(vec![
        ("GITHUB_CLIENT_ID", "id"),
        ("GITHUB_CLIENT_SECRET", "secret"),
        (
            "PORTCULLIS_GITHUB__TOKEN_URL",
            &format!("{https}/login/oauth/access_token"),
        ),
        ("PORTCULLIS_GITHUB__API_URL", &https),
    ])
    .await;
    let b = s.new_browser();
    let to = start(&s, &b).await;
    assert_eq!(
        to.host_str(),
        Some("github.com"),
        "the default authorize URL"
    );
    let state = param(&to, "state").unwrap();
    let res = b
        .get(s.url(&format!("{API}/callback/github?code=x&state={state}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 502, "{}", s.log());
    let page = res.text().await.unwrap();
    assert!(page.contains("GitHub did not answer"), "{page}");
    let hello = first_bytes
        .try_recv()
        .expect("a connection to the token endpoint");
    assert!(is_client_hello(&hello), "not a ClientHello: {hello:?}");
    assert!(s.running() && !s.log().contains("panicked"), "{}", s.log());
}
