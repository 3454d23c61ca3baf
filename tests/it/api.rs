//! The first-party JSON API under `/.auth/api/v1/auth`, as the tests speak
//! it again and again: signing up and in, reading the session, posting JSON.

use serde_json::{Value, json};

use crate::harness::TestServer;

pub const API: &str = "/.auth/api/v1/auth";

/// The URL of `path` under the API.
pub fn url(s: &TestServer, path: &str) -> String {
    s.url(&format!("{API}/{path}"))
}

/// POSTs JSON to `path` under the API: the response.
pub async fn post_json(
    s: &TestServer,
    b: &reqwest::Client,
    path: &str,
    body: Value,
) -> reqwest::Response {
    b.post(url(s, path)).json(&body).send().await.unwrap()
}

/// POSTs JSON to the first-party API: the status and the JSON answer (or null).
pub async fn post(s: &TestServer, b: &reqwest::Client, path: &str, body: Value) -> (u16, Value) {
    let res = post_json(s, b, path, body).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

pub async fn sign_up(
    s: &TestServer,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> reqwest::Response {
    post_json(
        s,
        client,
        "sign-up/email",
        json!({ "email": email, "password": password, "name": "Ada Lovelace" }),
    )
    .await
}

pub async fn sign_in(
    s: &TestServer,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> reqwest::Response {
    post_json(
        s,
        client,
        "sign-in/email",
        json!({ "email": email, "password": password }),
    )
    .await
}

/// `GET get-session`: the session and user, or null when signed out.
pub async fn get_session(s: &TestServer, client: &reqwest::Client) -> Value {
    let res = client.get(url(s, "get-session")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}
