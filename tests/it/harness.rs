//! Starts the real server in-process on an ephemeral port, on a fresh database
//! (a temp SQLite file, or a fresh PostgreSQL database when
//! `PORTCULLIS_TEST_POSTGRES_URL` is set), with a controllable clock.

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Once};

use portcullis::{AppState, Settings, TestClock};
use sea_orm::{ConnectionTrait, Database};

pub struct TestServer {
    pub base: String,
    pub addr: SocketAddr,
    pub state: AppState,
    pub clock: Arc<TestClock>,
    /// Cookie jar on, redirects off.
    pub http: reqwest::Client,
    pub database_url: String,
    pub dir: tempfile::TempDir,
    handle: actix_web::dev::ServerHandle,
    pg: Option<(String, String)>,
}

static TLS: Once = Once::new();

pub fn install_tls() {
    TLS.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A client like a browser's: cookies kept, redirects not followed, and
/// `localhost` pinned to the test server's address.
pub fn browser(addr: SocketAddr) -> reqwest::Client {
    install_tls();
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .resolve("localhost", addr)
        .build()
        .expect("http client")
}

/// A fresh database URL: SQLite in `dir`, or a new PostgreSQL database.
pub async fn fresh_database(dir: &std::path::Path) -> (String, Option<(String, String)>) {
    match std::env::var("PORTCULLIS_TEST_POSTGRES_URL") {
        Ok(admin) if !admin.is_empty() => {
            let name = format!("pt_{}", uuid_like());
            let conn = Database::connect(admin.as_str())
                .await
                .expect("postgres admin connection");
            conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create database");
            // A test database is thrown away: commits need not wait for the
            // disk (what each transaction sees is unchanged).
            conn.execute_unprepared(&format!(
                "ALTER DATABASE {name} SET synchronous_commit TO off"
            ))
            .await
            .expect("alter database");
            conn.close().await.ok();
            let mut url = url::Url::parse(&admin).expect("postgres url");
            url.set_path(&format!("/{name}"));
            (url.to_string(), Some((admin, name)))
        }
        _ => (
            format!("sqlite://{}/portcullis.db?mode=rwc", dir.display()),
            None,
        ),
    }
}

/// The secrets key file of a test's database: where the server puts it beside
/// a SQLite file anyway, and for PostgreSQL the same place, so the in-process
/// server and the binary the test runs share it.
pub fn key_file(dir: &std::path::Path) -> std::path::PathBuf {
    dir.join("portcullis.key")
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(Vec::new()).await
    }

    /// Starts with extra configuration variables (`("PORTCULLIS_X", "v")`).
    pub async fn start_with(extra: Vec<(&str, &str)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        Self::start_on(listener, extra).await
    }

    /// As [`TestServer::start_with`], on a listener bound beforehand: for a
    /// test that must know the server's address (its issuer) before it
    /// starts, e.g. to register it as a client elsewhere.
    pub async fn start_on(listener: TcpListener, extra: Vec<(&str, &str)>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (database_url, pg) = fresh_database(dir.path()).await;
        let addr = listener.local_addr().expect("addr");
        let base = format!("http://localhost:{}", addr.port());
        let mut env: Vec<(String, String)> = vec![
            ("PORTCULLIS_ISSUER".into(), base.clone()),
            ("PORTCULLIS_BIND".into(), addr.to_string()),
            ("PORTCULLIS_DATABASE_URL".into(), database_url.clone()),
            (
                "PORTCULLIS_MAIL__OUTBOX_DIR".into(),
                dir.path().join("outbox").display().to_string(),
            ),
            (
                "PORTCULLIS_SECRETS__KEY_FILE".into(),
                key_file(dir.path()).display().to_string(),
            ),
        ];
        for (k, v) in extra {
            env.retain(|(n, _)| n != k);
            env.push((k.into(), v.into()));
        }
        let settings = Settings::load_from(env).expect("test settings");
        let clock = Arc::new(TestClock::default());
        let state = AppState::build(settings, clock.clone())
            .await
            .expect("app state");
        let server = portcullis::http::server(state.clone(), listener, Some(1)).expect("server");
        let handle = server.handle();
        tokio::spawn(server);
        TestServer {
            http: browser(addr),
            base,
            addr,
            state,
            clock,
            database_url,
            dir,
            handle,
            pg,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Stops serving: connections are refused from now on (an upstream
    /// going down under a test).
    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }

    /// A second browser with its own cookie jar.
    pub fn new_browser(&self) -> reqwest::Client {
        browser(self.addr)
    }

    /// Runs the real `portcullis` binary against this server's database.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .args(args)
            .env_clear()
            .env("PORTCULLIS_DATABASE_URL", &self.database_url)
            .env("PORTCULLIS_ISSUER", &self.base)
            .env("PORTCULLIS_SECRETS__KEY_FILE", key_file(self.dir.path()))
            .current_dir(self.dir.path())
            .output()
            .expect("run portcullis")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Ask the server to stop; the test's runtime drops it soon anyway.
        let stopping = self.handle.stop(false);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(stopping);
        }
        if let Some((admin, name)) = self.pg.take() {
            drop_database(admin, name);
        }
    }
}

/// A server the tests speak HTTP to: in-process ([`TestServer`]) or the real
/// binary in a child process ([`crate::binary::BinaryServer`]).
pub trait Served {
    /// `path` on the server's base URL.
    fn url(&self, path: &str) -> String;
}

impl Served for TestServer {
    fn url(&self, path: &str) -> String {
        TestServer::url(self, path)
    }
}

/// Drops a database made by [`fresh_database`].
pub fn drop_database(admin: String, name: String) {
    // The test's runtime is going away; finish on a thread of our own.
    let _ = std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async move {
            if let Ok(conn) = Database::connect(admin.as_str()).await {
                let _ = conn
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
                conn.close().await.ok();
            }
        });
    })
    .join();
}

/// GETs `url` with `b` and reads the answer as JSON, whatever its status.
pub async fn get_json<T: serde::de::DeserializeOwned>(
    b: &reqwest::Client,
    url: impl reqwest::IntoUrl,
) -> T {
    b.get(url).send().await.unwrap().json().await.unwrap()
}

/// GETs `url` with `b` and reads the answer as text, whatever its status.
pub async fn get_text(b: &reqwest::Client, url: impl reqwest::IntoUrl) -> String {
    b.get(url).send().await.unwrap().text().await.unwrap()
}

/// The `error` member of a JSON error answer (RFC 6749 §5.2).
pub async fn error_of(res: reqwest::Response) -> serde_json::Value {
    res.json::<serde_json::Value>().await.unwrap()["error"].clone()
}

/// The `code` member of a first-party API error answer.
pub async fn code_of(res: reqwest::Response) -> serde_json::Value {
    res.json::<serde_json::Value>().await.unwrap()["code"].clone()
}
