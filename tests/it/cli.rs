use entities::clients;
use sea_orm::EntityTrait;
use serde_json::Value;

use crate::harness::TestServer;

fn run(env: &[(&str, &str)], args: &[&str], dir: &std::path::Path) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"));
    cmd.args(args).env_clear().current_dir(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn bad_configuration_stops_with_one_line_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/x.db?mode=rwc", dir.path().display());
    for (var, value) in [
        ("PORTCULLIS_ISSUER", "not a url"),
        ("PORTCULLIS_ISSUER", "ftp://example.com"),
        ("PORTCULLIS_BIND", "localhost"),
        ("PORTCULLIS_REGISTRATION__OPEN", "maybe"),
        ("PORTCULLIS_MAIL__TRANSPORT", "pigeon"),
        ("PORTCULLIS_TOKENS__ACCESS_TOKEN_TTL", "-5"),
        ("PORTCULLIS_TOKENS__DEVICE_CODE_TTL", "86401"),
        ("PORTCULLIS_DATABASE_URL", "mysql://x"),
        (
            "PORTCULLIS_DATABASE_URL",
            "postgres://nobody@127.0.0.1:1/none",
        ),
        ("PORTCULLIS_RESOURCES", "not-a-uri"),
    ] {
        let mut env = vec![("PORTCULLIS_DATABASE_URL", db.as_str())];
        env.retain(|(k, _)| *k != var);
        env.push((var, value));
        let out = run(&env, &["serve"], dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{var}={value} must fail");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{var}={value}: {stderr}");
        assert!(lines[0].contains(var), "{var}={value}: {stderr}");
    }
}

#[test]
fn help_is_available_for_every_command() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["client", "create", "--help"],
        vec!["client", "list", "--help"],
        vec!["client", "delete", "--help"],
        vec!["user", "create", "--help"],
        vec!["keys", "rotate", "--help"],
        vec!["keys", "list", "--help"],
        vec!["secrets", "rotate-kek", "--help"],
    ] {
        let out = run(&[], &args, dir.path());
        assert!(out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{args:?}"
        );
    }
}

#[tokio::test]
async fn client_create_json_prints_the_rfc7591_shape_and_stores_only_a_hash() {
    let s = TestServer::start().await;
    let out = s.cli(&[
        "client",
        "create",
        "--name",
        "Acme CLI",
        "--redirect-uri",
        "https://app.example/cb",
        "--grant",
        "authorization_code",
        "--grant",
        "refresh_token",
        "--grant",
        "client_credentials",
        "--scope",
        "openid profile",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let id = v["client_id"].as_str().unwrap();
    let secret = v["client_secret"].as_str().unwrap();
    assert!(secret.len() >= 43, "≥256-bit secret");
    assert_eq!(v["client_secret_expires_at"], 0);
    assert!(v["client_id_issued_at"].as_i64().unwrap() > 1_700_000_000);
    assert_eq!(v["client_name"], "Acme CLI");
    assert_eq!(
        v["redirect_uris"],
        serde_json::json!(["https://app.example/cb"])
    );
    assert_eq!(
        v["grant_types"],
        serde_json::json!(["authorization_code", "refresh_token", "client_credentials"])
    );
    assert_eq!(v["response_types"], serde_json::json!(["code"]));
    assert_eq!(v["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(v["scope"], "openid profile");

    let row = clients::Entity::find_by_id(id.to_string())
        .one(&s.state.db)
        .await
        .unwrap()
        .unwrap();
    let stored = row.secret_hash.unwrap();
    assert_ne!(stored, secret);
    assert_eq!(stored, portcullis::tokens::opaque::hash_secret(secret));

    let public = s.cli(&[
        "client",
        "create",
        "--name",
        "Tool",
        "--public",
        "--redirect-uri",
        "http://127.0.0.1/cb",
        "--json",
    ]);
    let p: Value = serde_json::from_slice(&public.stdout).unwrap();
    assert!(p.get("client_secret").is_none());
    assert_eq!(p["token_endpoint_auth_method"], "none");

    let list = s.cli(&["client", "list", "--json"]);
    let listed: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(
        !String::from_utf8_lossy(&list.stdout).contains(secret),
        "list never shows secrets"
    );

    assert!(s.cli(&["client", "delete", id]).status.success());
    let again = s.cli(&["client", "delete", id]);
    assert!(!again.status.success());
    assert_eq!(String::from_utf8_lossy(&again.stderr).lines().count(), 1);
}

#[tokio::test]
async fn client_create_refuses_bad_input_in_one_line() {
    let s = TestServer::start().await;
    for args in [
        vec![
            "client",
            "create",
            "--name",
            "X",
            "--redirect-uri",
            "javascript:alert(1)",
        ],
        vec![
            "client",
            "create",
            "--name",
            "X",
            "--redirect-uri",
            "https://a.example/cb#frag",
        ],
        vec!["client", "create", "--name", "X"],
        vec![
            "client",
            "create",
            "--name",
            "X",
            "--public",
            "--grant",
            "client_credentials",
        ],
        vec!["client", "create", "--name", "X", "--grant", "password"],
    ] {
        let out = s.cli(&args);
        assert!(!out.status.success(), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).lines().count(),
            1,
            "{args:?}"
        );
    }
}

#[tokio::test]
async fn user_create_then_sign_in() {
    let s = TestServer::start().await;
    let out = s.cli(&[
        "user",
        "create",
        "--email",
        "hal@example.com",
        "--password",
        "open the pod bay",
        "--name",
        "Hal",
        "--verified",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["organization_id"].is_string());
    let res = crate::api::sign_in(&s, &s.http, "hal@example.com", "open the pod bay").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["emailVerified"], true);
    let dup = s.cli(&[
        "user",
        "create",
        "--email",
        "hal@example.com",
        "--password",
        "open the pod bay",
    ]);
    assert!(!dup.status.success());
}
