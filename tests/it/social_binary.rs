//! Upstream sign-in in the shipped binary (`portcullis serve` as a child
//! process with a cleared environment): the upstream HTTP client is built,
//! and speaks TLS, without anything the test process installs.

use tokio::io::AsyncReadExt;
use url::Url;

use crate::api::API;
use crate::binary::BinaryServer;
use crate::flow::param;
use crate::github_fake::{CODE, Failure, GithubFake, GithubUser};
use crate::harness::Served;

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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, mut first_bytes) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = vec![0u8; 4096];
            let n = sock.read(&mut buf).await.unwrap_or(0);
            let _ = tx.send(buf[..n].to_vec());
        }
    });
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
    assert!(
        hello.len() > 5 && hello[0] == 22 && hello[5] == 1,
        "not a ClientHello: {hello:?}"
    );
    assert!(s.running() && !s.log().contains("panicked"), "{}", s.log());
}
