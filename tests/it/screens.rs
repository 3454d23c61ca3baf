use crate::api::sign_up;
use crate::harness::{TestServer, get_text};
use crate::html::form;

#[tokio::test]
async fn login_screen_signs_in_and_returns_to_a_same_origin_path() {
    let s = TestServer::start().await;
    sign_up(
        &s,
        &s.new_browser(),
        "ivy@example.com",
        "correct horse battery",
    )
    .await;

    let page = s
        .http
        .get(s.url("/login?return_to=/somewhere%3Fx%3D1"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("frame-ancestors 'none'"));
    assert!(
        csp.contains("script-src 'self'"),
        "pages get the page policy"
    );
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let html = page.text().await.unwrap();
    let f = form(&html, "/login");
    assert_eq!(f.method, "post");
    assert_eq!(f.get("return_to"), Some("/somewhere?x=1"));
    assert!(f.get("csrf_token").unwrap().len() >= 32);

    // Without the CSRF token: refused.
    let res = s
        .http
        .post(s.url("/login"))
        .form(&[
            ("email", "ivy@example.com"),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // Wrong password: the form again, with an error, no session.
    let res = s
        .http
        .post(s.url("/login"))
        .form(&f.fill(&[("email", "ivy@example.com"), ("password", "nope nope nope")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Invalid email or password")
    );

    let res = s
        .http
        .post(s.url("/login"))
        .form(&f.fill(&[
            ("email", "ivy@example.com"),
            ("password", "correct horse battery"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/somewhere?x=1");

    let home = get_text(&s.http, s.url("/")).await;
    assert!(home.contains("ivy@example.com"));
}

#[tokio::test]
async fn return_to_never_leaves_the_origin() {
    let s = TestServer::start().await;
    sign_up(
        &s,
        &s.new_browser(),
        "jo@example.com",
        "correct horse battery",
    )
    .await;
    for evil in [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
    ] {
        let browser = s.new_browser();
        let html = browser
            .get(s.url("/login"))
            .query(&[("return_to", evil)])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let f = form(&html, "/login");
        assert_eq!(f.get("return_to"), Some(""), "{evil}");
        // Even if posted directly, the target is ignored.
        let mut fields = f.fill(&[
            ("email", "jo@example.com"),
            ("password", "correct horse battery"),
        ]);
        fields.retain(|(k, _)| k != "return_to");
        fields.push(("return_to".into(), evil.into()));
        let res = browser
            .post(s.url("/login"))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        assert_eq!(res.headers()["location"], "/", "{evil}");
    }
}

#[tokio::test]
async fn signup_screen_creates_an_account_and_refuses_cross_site_posts() {
    let s = TestServer::start().await;
    let html = get_text(&s.http, s.url("/signup?return_to=/next")).await;
    let f = form(&html, "/signup");
    let fields = f.fill(&[
        ("name", "Kim"),
        ("email", "kim@example.com"),
        ("password", "correct horse battery"),
    ]);

    let cross = s
        .http
        .post(s.url("/signup"))
        .header("Origin", "https://evil.example")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);

    let res = s
        .http
        .post(s.url("/signup"))
        .header("Origin", s.base.clone())
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/next");

    // A second sign-up with the same email answers as the first did (no
    // enumeration: the address's owner is told by mail) and creates nothing.
    let other = s.new_browser();
    let html = get_text(&other, s.url("/signup")).await;
    let f = form(&html, "/signup");
    let res = other
        .post(s.url("/signup"))
        .form(&f.fill(&[
            ("name", "Kim"),
            ("email", "kim@example.com"),
            ("password", "another password"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/");
    let res =
        crate::api::sign_in(&s, &s.new_browser(), "kim@example.com", "another password").await;
    assert_eq!(res.status(), 401, "no second account, no new password");
}

#[tokio::test]
async fn logout_screen_ends_the_session() {
    let s = TestServer::start().await;
    sign_up(&s, &s.http, "lee@example.com", "correct horse battery").await;
    let html = get_text(&s.http, s.url("/")).await;
    let f = form(&html, "/logout");
    let res = s
        .http
        .post(s.url("/logout"))
        .form(&f.fields)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let res = s.http.get(s.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/login");
}
