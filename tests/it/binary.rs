//! The real `portcullis` binary as a child process: `portcullis serve` on an
//! ephemeral port and a fresh database, with a cleared environment, so that
//! nothing the test process sets up (a rustls provider, environment
//! variables) can make the tests pass where the shipped binary fails.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{Served, browser, drop_database, fresh_database};

/// The binary to run: `PORTCULLIS_TEST_BINARY` (CI points it at the release
/// build), else the one cargo built for these tests.
pub fn binary() -> String {
    std::env::var("PORTCULLIS_TEST_BINARY")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_portcullis").to_string())
}

pub struct BinaryServer {
    pub base: String,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    child: Child,
    pg: Option<(String, String)>,
}

impl BinaryServer {
    /// Starts `portcullis serve` with only the base settings and `extra`
    /// (`("PORTCULLIS_X", "v")`, or any other variable such as `HTTPS_PROXY`)
    /// in its environment, and waits until `/readyz` answers.
    pub async fn start_with(extra: Vec<(&str, &str)>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (database_url, pg) = fresh_database(dir.path()).await;
        // Free when chosen; the kernel does not hand the same ephemeral port
        // out again before the child binds it a moment later.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port");
        let base = format!("http://localhost:{}", addr.port());
        let log = std::fs::File::create(dir.path().join("server.log")).expect("log file");
        let mut command = Command::new(binary());
        command
            .arg("serve")
            .env_clear()
            .env("PORTCULLIS_ISSUER", &base)
            .env("PORTCULLIS_BIND", addr.to_string())
            .env("PORTCULLIS_DATABASE_URL", &database_url)
            .env(
                "PORTCULLIS_MAIL__OUTBOX_DIR",
                dir.path().join("outbox").display().to_string(),
            )
            .env("RUST_LOG", "info")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log);
        for (k, v) in extra {
            command.env(k, v);
        }
        let child = command.spawn().expect("run portcullis serve");
        // The test process's own clients need a provider; the child gets none.
        crate::harness::install_tls();
        let mut server = BinaryServer {
            base,
            addr,
            dir,
            child,
            pg,
        };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&mut self) {
        let probe = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("portcullis serve exited ({status}):\n{}", self.log());
            }
            if let Ok(res) = probe.get(self.url("/readyz")).send().await
                && res.status() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("portcullis serve never became ready:\n{}", self.log());
    }

    /// What the server wrote to stdout and stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Whether the process is still running (a panic in a worker does not
    /// end it, so callers also look at [`log`](Self::log)).
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// A second browser with its own cookie jar.
    pub fn new_browser(&self) -> reqwest::Client {
        browser(self.addr)
    }
}

impl Served for BinaryServer {
    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

impl Drop for BinaryServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some((admin, name)) = self.pg.take() {
            drop_database(admin, name);
        }
    }
}
