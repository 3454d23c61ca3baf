//! Reading mail: the outbox the tests' servers write to, the links and codes
//! in it, and an SMTP sink on loopback (with the test that mail really goes
//! through an SMTP conversation). The flows a mail starts have their own
//! files: verification.rs, password_reset.rs, magic_link.rs.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::api::{API, sign_in, sign_up};
use crate::flow;
use crate::harness::TestServer;

/// Decodes quoted-printable soft breaks and escapes, enough for links.
fn unquote(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let mut out = String::new();
    let mut chars = joined.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '=' {
            let hex: String = chars.clone().take(2).collect();
            if let Ok(b) = u8::from_str_radix(&hex, 16) {
                out.push(b as char);
                chars.next();
                chars.next();
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// The mails in the outbox addressed to `to`, oldest first, decoded.
pub fn outbox(s: &TestServer, to: &str) -> Vec<String> {
    let dir = s.dir.path().join("outbox");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .map(|p| unquote(&std::fs::read_to_string(p).unwrap()))
        .filter(|m| m.contains(&format!("To: {to}")))
        .collect()
}

/// Waits for the `n`th mail to `to` (the queue is asynchronous).
pub async fn nth_mail(s: &TestServer, to: &str, n: usize) -> String {
    for _ in 0..200 {
        let mails = outbox(s, to);
        if mails.len() >= n {
            return mails[n - 1].clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no mail #{n} to {to}");
}

/// The first link in a mail that starts with `prefix`.
pub fn link(mail: &str, prefix: &str) -> String {
    let start = mail
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} link in {mail}"));
    mail[start..]
        .split(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .next()
        .unwrap()
        .to_string()
}

/// The link starting with `<base>` + `path` in the `n`th mail to `to`.
pub async fn mailed_link(s: &TestServer, to: &str, n: usize, path: &str) -> String {
    link(&nth_mail(s, to, n).await, &s.url(path))
}

pub fn token_of(link: &str) -> String {
    url::Url::parse(link)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "token")
        .unwrap()
        .1
        .into_owned()
}

/// Opens a mailed link in `b`: it leads (303) to a confirm page, which
/// changes nothing yet. The page's path and HTML.
pub async fn confirm_page(s: &TestServer, b: &reqwest::Client, link: &str) -> (String, String) {
    let res = b.get(link).send().await.unwrap();
    assert_eq!(res.status(), 303, "a mail link leads to its confirm page");
    let to = res.headers()["location"].to_str().unwrap().to_string();
    let page = b.get(s.url(&to)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let path = to.split('?').next().unwrap().to_string();
    (path, page.text().await.unwrap())
}

/// Opens a mailed link and presses its confirm page's button: the answer to
/// the page's POST.
pub async fn confirm_link(s: &TestServer, b: &reqwest::Client, link: &str) -> reqwest::Response {
    let (path, html) = confirm_page(s, b, link).await;
    let f = crate::html::form(&html, &path);
    assert_eq!(f.method, "post");
    b.post(s.url(&path)).form(&f.fields).send().await.unwrap()
}

pub async fn forget(s: &TestServer, email: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(s.url(&format!("{API}/forget-password")))
        .json(&json!({ "email": email }))
        .send()
        .await
        .unwrap()
}

pub async fn reset(s: &TestServer, token: &str, password: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(s.url(&format!("{API}/reset-password")))
        .json(&json!({ "token": token, "password": password }))
        .send()
        .await
        .unwrap()
}

pub async fn magic(s: &TestServer, email: &str, callback: Option<&str>) -> reqwest::Response {
    let mut body = json!({ "email": email });
    if let Some(cb) = callback {
        body["callbackURL"] = json!(cb);
    }
    reqwest::Client::new()
        .post(s.url(&format!("{API}/sign-in/magic-link")))
        .json(&body)
        .send()
        .await
        .unwrap()
}

pub fn code_in(mail: &str) -> String {
    let at = mail.find("code is ").expect("a code") + "code is ".len();
    mail[at..at + 6].to_string()
}

/// An SMTP server that accepts every mail and hands each message back.
pub async fn smtp_sink() -> (u16, tokio::sync::mpsc::Receiver<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            let _ = tx.send(data.take().unwrap()).await;
                            w.write_all(b"250 OK queued\r\n").await.unwrap();
                        } else {
                            body.push_str(&line);
                            body.push_str("\r\n");
                        }
                        continue;
                    }
                    let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250-sink\r\n250 8BITMIME\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            w.write_all(b"221 bye\r\n").await.unwrap();
                            break;
                        }
                        _ => b"250 OK\r\n",
                    };
                    w.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, rx)
}

#[tokio::test]
async fn mail_goes_through_a_real_smtp_server() {
    let (port, mut received) = smtp_sink().await;
    let port = port.to_string();
    let s = TestServer::start_with(vec![
        ("PORTCULLIS_MAIL__TRANSPORT", "smtp"),
        ("SMTP_HOST", "127.0.0.1"),
        ("SMTP_PORT", port.as_str()),
        ("SMTP_TLS", "none"),
        ("SMTP_FROM", "Portcullis <auth@portcullis.test>"),
    ])
    .await;
    sign_up(&s, &s.new_browser(), "smtp@example.com", flow::PASSWORD).await;
    let verification = tokio::time::timeout(Duration::from_secs(10), received.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(verification.contains("To: smtp@example.com"));
    assert!(verification.contains("From: Portcullis <auth@portcullis.test>"));
    forget(&s, "smtp@example.com").await;
    let mail = unquote(
        &tokio::time::timeout(Duration::from_secs(10), received.recv())
            .await
            .unwrap()
            .unwrap(),
    );
    let token = token_of(&link(&mail, &s.url("/reset-password?token=")));
    assert_eq!(reset(&s, &token, "delivered by smtp").await.status(), 200);
    assert_eq!(
        sign_in(
            &s,
            &s.new_browser(),
            "smtp@example.com",
            "delivered by smtp"
        )
        .await
        .status(),
        200
    );
}
