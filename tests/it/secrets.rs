//! Secrets at rest: what a copy of the database (or of its files) gives away,
//! and how the server starts when its key is wrong or missing.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use entities::{server_secrets, signing_keys, two_factors, users};
use portcullis::secrets::Slot;
use portcullis::tokens::keys::{Alg, SigningKey, generate_pkcs8};
use portcullis::{AppState, Clock, Settings, TestClock};
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};

use crate::harness::{TestServer, fresh_database, key_file};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test]
async fn a_copy_of_the_database_alone_reveals_no_secret() {
    let s = TestServer::start().await;
    let b = crate::flow::signed_in_verified(&s, "tess@example.com").await;
    // Enrolling confirms a code computed from the secret shown: TOTP works
    // end to end through the sealed row.
    let (secret, _) = crate::two_factor::enable(&s, &b).await;

    for key in signing_keys::Entity::find().all(&s.state.db).await.unwrap() {
        assert!(
            key.private_key.starts_with(b"pcs1:"),
            "{} {} is stored sealed",
            key.alg,
            key.kid
        );
        let alg = Alg::parse(&key.alg).unwrap();
        assert!(
            SigningKey::from_pkcs8(alg, &key.private_key).is_err(),
            "the stored bytes are no private key"
        );
    }
    for row in server_secrets::Entity::find()
        .all(&s.state.db)
        .await
        .unwrap()
    {
        assert!(row.secret.starts_with("pcs1:"), "{} is sealed", row.name);
    }
    let factors = two_factors::Entity::find().all(&s.state.db).await.unwrap();
    assert_eq!(factors.len(), 1);
    assert!(factors[0].secret.starts_with("pcs1:"));
    assert!(!factors[0].secret.contains(&secret));
    assert_eq!(mode(&key_file(s.dir.path())), 0o600, "the key file");
}

/// Rows as a release before sealing left them: plaintext PKCS#8, user-code key
/// and TOTP secret. The next start seals them and keeps using them.
#[tokio::test]
async fn plaintext_secrets_of_an_older_release_are_sealed_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let (url, pg) = fresh_database(dir.path()).await;
    let db = portcullis::db::connect(&url).await.unwrap();
    portcullis::db::migrate(&db).await.unwrap();
    let now = TestClock::default().now();
    let der = generate_pkcs8(Alg::Es256).unwrap();
    let kid = SigningKey::from_pkcs8(Alg::Es256, &der).unwrap().kid;
    signing_keys::Entity::insert(signing_keys::ActiveModel {
        kid: Set(kid.clone()),
        alg: Set("ES256".into()),
        status: Set("active".into()),
        private_key: Set(der.clone()),
        public_jwk: Set("{}".into()),
        created_at: Set(now),
        activates_at: Set(Some(now)),
        retired_at: Set(None),
        not_after: Set(None),
    })
    .exec_without_returning(&db)
    .await
    .unwrap();
    let user_code_key = portcullis::tokens::user_codes::UserCodes::new_secret();
    server_secrets::Entity::insert(server_secrets::ActiveModel {
        name: Set(portcullis::tokens::user_codes::SECRET_NAME.into()),
        secret: Set(user_code_key.clone()),
        created_at: Set(now),
    })
    .exec_without_returning(&db)
    .await
    .unwrap();
    users::Entity::insert(users::ActiveModel {
        id: Set("u1".into()),
        email: Set("old@example.com".into()),
        name: Set(String::new()),
        email_verified: Set(true),
        image: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(&db)
    .await
    .unwrap();
    two_factors::Entity::insert(two_factors::ActiveModel {
        user_id: Set("u1".into()),
        secret: Set("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP".into()),
        enabled: Set(true),
        backup_codes: Set("[]".into()),
        last_used_step: Set(0),
        failures: Set(0),
        locked_until: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(&db)
    .await
    .unwrap();

    let settings = Settings::load_from(vec![
        ("PORTCULLIS_DATABASE_URL".into(), url.clone()),
        (
            "PORTCULLIS_SECRETS__KEY_FILE".into(),
            key_file(dir.path()).display().to_string(),
        ),
        (
            "PORTCULLIS_MAIL__OUTBOX_DIR".into(),
            dir.path().join("outbox").display().to_string(),
        ),
    ])
    .unwrap();
    let state = AppState::build(settings, Arc::new(TestClock::default()))
        .await
        .unwrap();

    let key = signing_keys::Entity::find_by_id(kid.clone())
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert!(key.private_key.starts_with(b"pcs1:"));
    let keys = state.keys.get(state.now()).await.unwrap();
    assert_eq!(keys.active(Alg::Es256).unwrap().kid, kid, "still signs");
    let secret = server_secrets::Entity::find_by_id(portcullis::tokens::user_codes::SECRET_NAME)
        .one(&db)
        .await
        .unwrap()
        .unwrap()
        .secret;
    assert!(secret.starts_with("pcs1:"));
    let opened = state
        .secrets
        .open_text(
            Slot::ServerSecret(portcullis::tokens::user_codes::SECRET_NAME),
            &secret,
        )
        .unwrap();
    assert_eq!(opened.as_str(), user_code_key, "the same user-code key");
    let totp = two_factors::Entity::find_by_id("u1")
        .one(&db)
        .await
        .unwrap()
        .unwrap()
        .secret;
    assert!(totp.starts_with("pcs1:") && !totp.contains("JBSWY3DP"));
    assert_eq!(
        state
            .secrets
            .open_text(Slot::TotpSecret("u1"), &totp)
            .unwrap()
            .as_str(),
        "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    );
    // Moved to another user's row, a sealed secret does not open.
    assert!(
        state
            .secrets
            .open_text(Slot::TotpSecret("u2"), &totp)
            .is_err()
    );
    drop(state);
    drop_database(db, pg).await;
}

async fn drop_database(db: sea_orm::DatabaseConnection, pg: Option<(String, String)>) {
    db.close().await.ok();
    if let Some((admin, name)) = pg {
        let conn = sea_orm::Database::connect(admin.as_str()).await.unwrap();
        conn.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .ok();
    }
}

/// The binary, with nothing but `env` set, in `dir`.
fn portcullis(dir: &Path, env: &[(&str, &str)]) -> Command {
    with_env(Command::new(env!("CARGO_BIN_EXE_portcullis")), dir, env)
}

/// [`portcullis`] under the usual umask (022) whatever the test runner's is:
/// under 077 every file would be private anyway and a mode test could not
/// fail.
fn portcullis_under_umask_022(dir: &Path, env: &[(&str, &str)]) -> Command {
    let mut sh = Command::new("/bin/sh");
    sh.args([
        "-c",
        "umask 022; exec \"$0\" \"$@\"",
        env!("CARGO_BIN_EXE_portcullis"),
    ]);
    with_env(sh, dir, env)
}

fn with_env(mut cmd: Command, dir: &Path, env: &[(&str, &str)]) -> Command {
    cmd.env_clear().current_dir(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn one_line_error(out: &Output) -> String {
    assert!(!out.status.success(), "must fail");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    // `serve` logs its start (migrations) before it fails: the error is the
    // one line the process ends with.
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("portcullis: error:"))
        .collect();
    assert_eq!(errors.len(), 1, "one error line: {stderr}");
    assert_eq!(stderr.lines().last(), Some(errors[0]), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    errors[0].to_string()
}

/// File modes are set as the process starts: this runs the real binary.
#[tokio::test]
async fn the_binary_keeps_the_database_its_wal_the_key_and_the_outbox_to_its_owner() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://localhost:{port}");
    let db = dir.path().join("portcullis.db");
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let outbox = dir.path().join("outbox");
    let mut child = portcullis_under_umask_022(
        dir.path(),
        &[
            ("PORTCULLIS_DATABASE_URL", &url),
            ("PORTCULLIS_BIND", &format!("127.0.0.1:{port}")),
            ("PORTCULLIS_ISSUER", &base),
            ("PORTCULLIS_MAIL__OUTBOX_DIR", &outbox.display().to_string()),
        ],
    )
    .arg("serve")
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    crate::harness::install_tls();
    let http = reqwest::Client::new();
    let started = Instant::now();
    while http
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .is_err()
    {
        assert!(started.elapsed() < Duration::from_secs(30), "serve started");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A sign-up mails a verification link into the outbox.
    let res = http
        .post(format!("http://127.0.0.1:{port}/.auth/api/v1/auth/sign-up/email"))
        .header("origin", &base)
        .json(&serde_json::json!({ "email": "mode@example.com", "password": crate::flow::PASSWORD, "name": "M" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mail = loop {
        let found = std::fs::read_dir(&outbox)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "eml"));
        if let Some(p) = found {
            break p;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "a mail");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let modes = [
        (db.clone(), 0o600),
        (dir.path().join("portcullis.db-wal"), 0o600),
        (dir.path().join("portcullis.db-shm"), 0o600),
        (dir.path().join("portcullis.key"), 0o600),
        (outbox.clone(), 0o700),
        (mail, 0o600),
    ];
    let seen: Vec<(String, u32)> = modes
        .iter()
        .map(|(p, _)| (p.display().to_string(), mode(p)))
        .collect();
    child.kill().ok();
    child.wait().ok();
    for ((path, want), (_, got)) in modes.iter().zip(&seen) {
        assert_eq!(*got, *want, "{}: {got:o}", path.display());
    }
}

#[tokio::test]
async fn a_wrong_or_missing_key_stops_the_start_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let (url, pg) = fresh_database(dir.path()).await;
    let env = [
        ("PORTCULLIS_DATABASE_URL", url.as_str()),
        ("PORTCULLIS_BIND", "127.0.0.1:0"),
    ];
    // The first start creates the key file and seals the new keys.
    let out = portcullis(dir.path(), &env)
        .args(["keys", "list"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = dir.path().join("portcullis.key");
    assert_eq!(mode(&key), 0o600);

    let other = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let wrong = [env.as_slice(), &[("PORTCULLIS_SECRETS__KEY", other)]].concat();
    let out = portcullis(dir.path(), &wrong)
        .arg("serve")
        .output()
        .unwrap();
    let line = one_line_error(&out);
    assert!(
        line.contains("does not open this database's secrets"),
        "{line}"
    );

    let saved = std::fs::read(&key).unwrap();
    std::fs::remove_file(&key).unwrap();
    let out = portcullis(dir.path(), &env).arg("serve").output().unwrap();
    let line = one_line_error(&out);
    assert!(line.contains("is missing"), "{line}");
    assert!(!key.exists(), "no new key replaces the lost one");

    // Put back through a link, or open to the group, it is refused; as a
    // file of its own, mode 0600, it opens the database again.
    let elsewhere = dir.path().join("kept.key");
    std::fs::write(&elsewhere, &saved).unwrap();
    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &key).unwrap();
    let out = portcullis(dir.path(), &env).arg("serve").output().unwrap();
    let line = one_line_error(&out);
    assert!(line.contains("is a symbolic link"), "{line}");
    std::fs::remove_file(&key).unwrap();
    std::fs::write(&key, &saved).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = portcullis(dir.path(), &env).arg("serve").output().unwrap();
    let line = one_line_error(&out);
    assert!(line.contains("chmod 600"), "{line}");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = portcullis(dir.path(), &env)
        .args(["keys", "list"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let db = sea_orm::Database::connect(url.as_str()).await.unwrap();
    drop_database(db, pg).await;
}

/// `OLD_KEYS` opens what the old key sealed; `secrets rotate-kek` re-seals it
/// all under the new key, after which the old key is not needed.
#[tokio::test]
async fn the_secrets_key_rotates_with_old_keys_and_rotate_kek() {
    let dir = tempfile::tempdir().unwrap();
    let (url, pg) = fresh_database(dir.path()).await;
    let old = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let new = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
    let with = |key: &'static str| {
        vec![
            ("PORTCULLIS_DATABASE_URL", url.clone()),
            ("PORTCULLIS_SECRETS__KEY", key.to_string()),
        ]
    };
    let run = |env: Vec<(&str, String)>, args: &[&str]| {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        portcullis(dir.path(), &env).args(args).output().unwrap()
    };
    let out = run(with(old), &["keys", "list"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    one_line_error(&run(with(new), &["keys", "list"]));

    let mut rotating = with(new);
    rotating.push(("PORTCULLIS_SECRETS__OLD_KEYS", old.to_string()));
    let out = run(rotating, &["secrets", "rotate-kek"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("sealed"));

    let out = run(with(new), &["keys", "list"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    one_line_error(&run(with(old), &["keys", "list"]));

    let db = sea_orm::Database::connect(url.as_str()).await.unwrap();
    drop_database(db, pg).await;
}

/// Two instances started together on one database with different keys (as
/// two PostgreSQL nodes that each made their own key file would be): one
/// seals, the other refuses to start instead of sealing under a second key.
#[tokio::test]
async fn instances_with_different_keys_cannot_both_start_on_one_database() {
    let dir = tempfile::tempdir().unwrap();
    let (url, pg) = fresh_database(dir.path()).await;
    let keys = [
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=",
    ];
    // Migrated once, as a first instance would (migrations racing each other
    // are another matter).
    let migrated = portcullis(dir.path(), &[("PORTCULLIS_DATABASE_URL", url.as_str())])
        .arg("migrate")
        .output()
        .unwrap();
    assert!(migrated.status.success());
    let children: Vec<_> = keys
        .iter()
        .map(|key| {
            portcullis(
                dir.path(),
                &[
                    ("PORTCULLIS_DATABASE_URL", url.as_str()),
                    ("PORTCULLIS_SECRETS__KEY", key),
                ],
            )
            .args(["keys", "list"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    let outs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let started = outs.iter().filter(|o| o.status.success()).count();
    assert_eq!(started, 1, "exactly one instance seals the database");
    let refused = outs.iter().find(|o| !o.status.success()).unwrap();
    let line = one_line_error(refused);
    assert!(
        line.contains("does not open this database's secrets"),
        "{line}"
    );

    let db = sea_orm::Database::connect(url.as_str()).await.unwrap();
    drop_database(db, pg).await;
}
