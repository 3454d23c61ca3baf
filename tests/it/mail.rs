//! Mail-backed flows through the outbox and through a real SMTP conversation
//! with a sink on loopback; each followed by using the link over HTTP.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::accounts::{API, sign_in, sign_up};
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
fn outbox(s: &TestServer, to: &str) -> Vec<String> {
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
fn link(mail: &str, prefix: &str) -> String {
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

#[tokio::test]
async fn sign_up_mails_a_verification_link_that_works_once() {
    let s = TestServer::start().await;
    sign_up(&s, &s.http, "vera@example.com", flow::PASSWORD).await;
    let mail = nth_mail(&s, "vera@example.com", 1).await;
    assert!(mail.contains("Subject: Confirm your email address"));
    assert!(mail.contains("Portcullis"));
    let verify = link(&mail, &s.url(&format!("{API}/verify-email?token=")));
    let res = s.http.get(&verify).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let session: Value = s
        .http
        .get(s.url(&format!("{API}/get-session")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(session["user"]["emailVerified"], true);
    let again = s.http.get(&verify).send().await.unwrap();
    assert_eq!(again.status(), 400);
    assert_eq!(
        again.json::<Value>().await.unwrap()["code"],
        "INVALID_TOKEN"
    );
}

#[tokio::test]
async fn verification_links_expire_and_only_the_newest_works() {
    let s = TestServer::start().await;
    sign_up(&s, &s.http, "wim@example.com", flow::PASSWORD).await;
    let first = mailed_link(
        &s,
        "wim@example.com",
        1,
        &format!("{API}/verify-email?token="),
    )
    .await;
    let resend = |email: &'static str| {
        let (http, url) = (
            reqwest::Client::new(),
            s.url(&format!("{API}/send-verification-email")),
        );
        async move {
            http.post(url)
                .json(&json!({ "email": email }))
                .send()
                .await
                .unwrap()
        }
    };
    let known = resend("wim@example.com").await;
    let unknown = resend("nobody@example.com").await;
    assert_eq!(
        (known.status(), unknown.status()),
        (reqwest::StatusCode::OK, reqwest::StatusCode::OK)
    );
    assert_eq!(
        known.text().await.unwrap(),
        unknown.text().await.unwrap(),
        "no enumeration"
    );
    let second = mailed_link(
        &s,
        "wim@example.com",
        2,
        &format!("{API}/verify-email?token="),
    )
    .await;
    assert_eq!(
        s.http.get(&first).send().await.unwrap().status(),
        400,
        "a newer link replaces the older"
    );
    s.clock.advance(24 * 3600 + 1);
    assert_eq!(
        s.http.get(&second).send().await.unwrap().status(),
        400,
        "expired after 24 hours"
    );
}

async fn forget(s: &TestServer, email: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(s.url(&format!("{API}/forget-password")))
        .json(&json!({ "email": email }))
        .send()
        .await
        .unwrap()
}

async fn reset(s: &TestServer, token: &str, password: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(s.url(&format!("{API}/reset-password")))
        .json(&json!({ "token": token, "password": password }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn password_reset_is_single_use_and_signs_out_everywhere() {
    let s = TestServer::start().await;
    let c = flow::confidential_client(&s).await;
    let t = flow::tokens(&s, &c, "rita@example.com", "openid offline_access").await;
    let other_browser = s.new_browser();
    assert_eq!(
        sign_in(&s, &other_browser, "rita@example.com", flow::PASSWORD)
            .await
            .status(),
        200
    );

    let known = forget(&s, "rita@example.com").await;
    let unknown = forget(&s, "ghost@example.com").await;
    assert_eq!(known.status(), 200);
    assert_eq!(
        known.text().await.unwrap(),
        unknown.text().await.unwrap(),
        "no enumeration"
    );
    let mail = nth_mail(&s, "rita@example.com", 2).await; // the first was the verification mail
    assert!(mail.contains("Subject: Reset your password"));
    let token = token_of(&link(&mail, &s.url("/reset-password?token=")));
    assert!(outbox(&s, "ghost@example.com").is_empty());

    // The policy is checked before the link is used up.
    let weak = reset(&s, &token, "short").await;
    assert_eq!(weak.status(), 400);
    assert_eq!(
        weak.json::<Value>().await.unwrap()["code"],
        "PASSWORD_TOO_SHORT"
    );
    assert_eq!(
        reset(&s, &token, "a brand new passphrase").await.status(),
        200
    );
    assert_eq!(
        reset(&s, &token, "yet another passphrase").await.status(),
        400,
        "single use"
    );

    assert_eq!(
        sign_in(&s, &s.new_browser(), "rita@example.com", flow::PASSWORD)
            .await
            .status(),
        401
    );
    assert_eq!(
        sign_in(
            &s,
            &s.new_browser(),
            "rita@example.com",
            "a brand new passphrase"
        )
        .await
        .status(),
        200
    );
    let gone: Value = other_browser
        .get(s.url(&format!("{API}/get-session")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(gone, Value::Null, "other sessions ended");
    let refresh = flow::token(
        &s,
        &c,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(
        refresh.json::<Value>().await.unwrap()["error"],
        "invalid_grant",
        "refresh tokens revoked"
    );
    assert_eq!(
        flow::introspect(&s, &c, t["access_token"].as_str().unwrap()).await["active"],
        false
    );
}

#[tokio::test]
async fn reset_links_expire_after_an_hour() {
    let s = TestServer::start().await;
    sign_up(&s, &s.http, "hour@example.com", flow::PASSWORD).await;
    forget(&s, "hour@example.com").await;
    let token = token_of(&mailed_link(&s, "hour@example.com", 2, "/reset-password?token=").await);
    s.clock.advance(3601);
    assert_eq!(
        reset(&s, &token, "a brand new passphrase").await.status(),
        400
    );
}

#[tokio::test]
async fn the_reset_screen_works_without_javascript() {
    let s = TestServer::start().await;
    sign_up(&s, &s.new_browser(), "scr@example.com", flow::PASSWORD).await;
    forget(&s, "scr@example.com").await;
    let url = mailed_link(&s, "scr@example.com", 2, "/reset-password?token=").await;
    let html = s.http.get(&url).send().await.unwrap().text().await.unwrap();
    let f = crate::html::form(&html, "/reset-password");
    let res = s
        .http
        .post(s.url("/reset-password"))
        .form(&f.fill(&[("password", "screens all the way")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Password changed"));
    assert_eq!(
        sign_in(
            &s,
            &s.new_browser(),
            "scr@example.com",
            "screens all the way"
        )
        .await
        .status(),
        200
    );
}

#[tokio::test]
async fn mail_requests_are_rate_limited() {
    let s = TestServer::start().await;
    let mut last = None;
    for _ in 0..11 {
        last = Some(forget(&s, "anyone@example.com").await);
    }
    let res = last.unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
}

/// An SMTP server that accepts every mail and hands each message back.
async fn smtp_sink() -> (u16, tokio::sync::mpsc::Receiver<String>) {
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

async fn magic(s: &TestServer, email: &str, callback: Option<&str>) -> reqwest::Response {
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

#[tokio::test]
async fn a_magic_link_signs_in_inside_an_authorization_request() {
    let s = TestServer::start().await;
    let c = flow::public_client(&s).await;
    sign_up(&s, &s.new_browser(), "mags@example.com", flow::PASSWORD).await;
    // Not signed in: the authorization request sends the browser to /login.
    let b = s.new_browser();
    let res = b
        .get(flow::authorize_url(
            &s,
            &c,
            &[("state", "via-mail")],
            Some(flow::VERIFIER),
        ))
        .send()
        .await
        .unwrap();
    let login = res.headers()["location"].to_str().unwrap().to_string();
    let html = b
        .get(s.url(&login))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("href=\"/login/magic?return_to="),
        "the sign-in screen offers a magic link"
    );
    let magic_page = html
        .split("href=\"")
        .find(|p| p.starts_with("/login/magic"))
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let page = b
        .get(s.url(&magic_page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let f = crate::html::form(&page, "/login/magic");
    assert!(
        f.get("return_to")
            .unwrap()
            .starts_with("/oauth2/authorize?")
    );
    let sent = b
        .post(s.url("/login/magic"))
        .form(&f.fill(&[("email", "mags@example.com")]))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    assert!(sent.text().await.unwrap().contains("Check your email"));

    let mail = nth_mail(&s, "mags@example.com", 2).await;
    assert!(mail.contains("Subject: Your sign-in link"));
    let link = link(&mail, &s.url(&format!("{API}/magic-link/verify?token=")));
    let back = b.get(&link).send().await.unwrap();
    assert_eq!(back.status(), 303);
    let to = back.headers()["location"].to_str().unwrap().to_string();
    assert!(
        to.starts_with("/oauth2/authorize?"),
        "the return_to survived the mailbox: {to}"
    );
    let done = flow::follow(&s, &b, &s.url(&to), "", "allow").await;
    assert_eq!(flow::param(&done, "state").as_deref(), Some("via-mail"));
    let code = flow::param(&done, "code").unwrap();
    let t: Value = flow::exchange(&s, &c, &code).await.json().await.unwrap();
    assert_eq!(
        flow::claims(t["id_token"].as_str().unwrap())["amr"],
        json!(["otp"])
    );

    // Single use.
    assert_eq!(
        s.new_browser().get(&link).send().await.unwrap().status(),
        400
    );
}

#[tokio::test]
async fn magic_links_expire_after_fifteen_minutes() {
    let s = TestServer::start().await;
    magic(&s, "late@example.com", None).await;
    let link = mailed_link(
        &s,
        "late@example.com",
        1,
        &format!("{API}/magic-link/verify?token="),
    )
    .await;
    s.clock.advance(15 * 60 + 1);
    assert_eq!(
        s.new_browser().get(&link).send().await.unwrap().status(),
        400
    );
}

#[tokio::test]
async fn magic_links_create_accounts_only_when_allowed() {
    let s = TestServer::start().await;
    assert_eq!(
        magic(&s, "fresh@example.com", Some("https://evil.example/"))
            .await
            .status(),
        200
    );
    let mail = nth_mail(&s, "fresh@example.com", 1).await;
    assert!(
        !mail.contains("evil.example"),
        "callbackURL must be a same-origin path"
    );
    let b = s.new_browser();
    let res = b
        .get(link(
            &mail,
            &s.url(&format!("{API}/magic-link/verify?token=")),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/");
    let session: Value = b
        .get(s.url(&format!("{API}/get-session")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(session["user"]["email"], "fresh@example.com");
    assert_eq!(
        session["user"]["emailVerified"], true,
        "the click proves the address"
    );

    let closed =
        TestServer::start_with(vec![("PORTCULLIS_MAGIC_LINK__ALLOW_SIGN_UP", "false")]).await;
    let unknown = magic(&closed, "stranger@example.com", None).await;
    sign_up(
        &closed,
        &closed.new_browser(),
        "member@example.com",
        flow::PASSWORD,
    )
    .await;
    let known = magic(&closed, "member@example.com", None).await;
    assert_eq!(unknown.status(), known.status());
    assert_eq!(
        unknown.text().await.unwrap(),
        known.text().await.unwrap(),
        "no enumeration"
    );
    nth_mail(&closed, "member@example.com", 2).await;
    assert!(outbox(&closed, "stranger@example.com").is_empty());
}

#[tokio::test]
async fn the_sixth_magic_link_request_in_a_minute_is_refused() {
    let s = TestServer::start().await;
    for i in 0..5 {
        assert_eq!(
            magic(&s, "six@example.com", None).await.status(),
            200,
            "request {}",
            i + 1
        );
    }
    let sixth = magic(&s, "six@example.com", None).await;
    assert_eq!(sixth.status(), 429);
    assert!(
        sixth.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_eq!(
        sixth.json::<Value>().await.unwrap()["code"],
        "TOO_MANY_REQUESTS"
    );
}

pub fn code_in(mail: &str) -> String {
    let at = mail.find("code is ").expect("a code") + "code is ".len();
    mail[at..at + 6].to_string()
}

async fn post_json(
    b: &reqwest::Client,
    s: &TestServer,
    path: &str,
    body: Value,
) -> reqwest::Response {
    b.post(s.url(&format!("{API}/{path}")))
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn six_digit_codes_verify_once_and_newer_codes_replace_older() {
    let s = TestServer::start().await;
    sign_up(&s, &s.http, "otp@example.com", flow::PASSWORD).await;
    assert_eq!(
        post_json(&s.http, &s, "email-otp/send-verification-otp", json!({}))
            .await
            .status(),
        200
    );
    let first = code_in(&nth_mail(&s, "otp@example.com", 2).await);
    assert_eq!(
        post_json(&s.http, &s, "email-otp/send-verification-otp", json!({}))
            .await
            .status(),
        200
    );
    let second = code_in(&nth_mail(&s, "otp@example.com", 3).await);
    if first != second {
        let old = post_json(
            &s.http,
            &s,
            "email-otp/verify-email",
            json!({ "otp": first }),
        )
        .await;
        assert_eq!(old.status(), 400, "a new code invalidates the older one");
    }
    let ok = post_json(
        &s.http,
        &s,
        "email-otp/verify-email",
        json!({ "otp": second }),
    )
    .await;
    assert_eq!(ok.status(), 200);
    let session: Value = s
        .http
        .get(s.url(&format!("{API}/get-session")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(session["user"]["emailVerified"], true);
    assert_eq!(
        post_json(
            &s.http,
            &s,
            "email-otp/verify-email",
            json!({ "otp": second })
        )
        .await
        .status(),
        400,
        "single use"
    );
    // Signed out: no codes.
    assert_eq!(
        post_json(
            &s.new_browser(),
            &s,
            "email-otp/verify-email",
            json!({ "otp": "123456" })
        )
        .await
        .status(),
        401
    );
}

#[tokio::test]
async fn code_guesses_are_capped_and_codes_expire() {
    let s = TestServer::start().await;
    sign_up(&s, &s.http, "guess@example.com", flow::PASSWORD).await;
    post_json(&s.http, &s, "email-otp/send-verification-otp", json!({})).await;
    let code = code_in(&nth_mail(&s, "guess@example.com", 2).await);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        assert_eq!(
            post_json(
                &s.http,
                &s,
                "email-otp/verify-email",
                json!({ "otp": wrong })
            )
            .await
            .status(),
            400
        );
    }
    let capped = post_json(
        &s.http,
        &s,
        "email-otp/verify-email",
        json!({ "otp": code }),
    )
    .await;
    assert_eq!(
        capped.json::<Value>().await.unwrap()["code"],
        "TOO_MANY_ATTEMPTS",
        "even the right code is refused now"
    );

    post_json(&s.http, &s, "email-otp/send-verification-otp", json!({})).await;
    let fresh = code_in(&nth_mail(&s, "guess@example.com", 3).await);
    s.clock.advance(601);
    assert_eq!(
        post_json(
            &s.http,
            &s,
            "email-otp/verify-email",
            json!({ "otp": fresh })
        )
        .await
        .status(),
        400,
        "expired"
    );
}

#[tokio::test]
async fn the_address_can_change_only_while_unverified() {
    let s = TestServer::start().await;
    sign_up(&s, &s.http, "typo@exmaple.com", flow::PASSWORD).await;
    let old_link = mailed_link(
        &s,
        "typo@exmaple.com",
        1,
        &format!("{API}/verify-email?token="),
    )
    .await;
    let res = post_json(
        &s.http,
        &s,
        "change-email",
        json!({ "newEmail": "right@example.com" }),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        s.http.get(&old_link).send().await.unwrap().status(),
        400,
        "the old address's link is dead"
    );
    let new_link = mailed_link(
        &s,
        "right@example.com",
        1,
        &format!("{API}/verify-email?token="),
    )
    .await;
    assert_eq!(s.http.get(&new_link).send().await.unwrap().status(), 200);
    let session: Value = s
        .http
        .get(s.url(&format!("{API}/get-session")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(session["user"]["email"], "right@example.com");
    assert_eq!(session["user"]["emailVerified"], true);
    let refused = post_json(
        &s.http,
        &s,
        "change-email",
        json!({ "newEmail": "again@example.com" }),
    )
    .await;
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["code"],
        "EMAIL_ALREADY_VERIFIED"
    );
}

#[tokio::test]
async fn a_person_clicking_the_verification_link_gets_a_page() {
    let s = TestServer::start().await;
    sign_up(&s, &s.http, "click@example.com", flow::PASSWORD).await;
    let verify = mailed_link(
        &s,
        "click@example.com",
        1,
        &format!("{API}/verify-email?token="),
    )
    .await;
    let accept = "text/html,application/xhtml+xml,*/*;q=0.8";
    let res = s
        .new_browser()
        .get(&verify)
        .header("Accept", accept)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Email verified"));
    let again = s
        .new_browser()
        .get(&verify)
        .header("Accept", accept)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);
    assert!(
        again.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

#[tokio::test]
async fn a_magic_link_takes_an_unverified_account_back_from_whoever_created_it() {
    let s = TestServer::start().await;
    // Someone registers the victim's address with a password of their own.
    let squatter = s.new_browser();
    sign_up(&s, &squatter, "owner@example.com", "squatters password").await;
    // The owner signs in by magic link, proving the address.
    magic(&s, "owner@example.com", None).await;
    let link = mailed_link(
        &s,
        "owner@example.com",
        2,
        &format!("{API}/magic-link/verify?token="),
    )
    .await;
    assert_eq!(
        s.new_browser().get(&link).send().await.unwrap().status(),
        303
    );
    assert_eq!(
        sign_in(
            &s,
            &s.new_browser(),
            "owner@example.com",
            "squatters password"
        )
        .await
        .status(),
        401,
        "the squatter's password is gone"
    );
    let session: Value = squatter
        .get(s.url(&format!("{API}/get-session")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(session, Value::Null, "and so is the squatter's session");
}
