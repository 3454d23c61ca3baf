//! Passwords: Argon2id with OWASP's parameters (19 MiB, t=2, p=1), run on a
//! few dedicated threads at the lowest CPU priority, so a login storm queues
//! instead of exhausting memory, and token requests sharing the cores keep
//! their latency: Linux's `SCHED_IDLE` policy runs a hasher only when nothing
//! else wants the CPU. (A nice level alone still let a sign-in storm slow
//! the token requests sharing the core; figures in tests/perf/RESULTS.md,
//! "Design notes".)
//!
//! Each hasher thread keeps its 19 MiB working memory for its whole life.
//! Allocating it per hash let glibc keep every freed buffer, so a login storm
//! left the process's resident memory high for good.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use std::cell::RefCell;

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use tokio::sync::oneshot;

use crate::error::{ApiError, Error};

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 128;

type Job = Box<dyn FnOnce() + Send>;

/// The bounded Argon2id pool.
pub struct PasswordHasher {
    jobs: mpsc::Sender<Job>,
    /// A hash of a random password: unknown emails are verified against it so
    /// they cost exactly what a wrong password costs.
    dummy_hash: String,
    in_flight: Arc<AtomicUsize>,
}

/// Lowest priority for the calling thread: `SCHED_IDLE` where the system
/// allows it, nice 19 otherwise (on Linux both apply to this thread alone).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::unix::{
            NormalThreadSchedulePolicy, ThreadSchedulePolicy, set_thread_priority_and_policy,
            thread_native_id,
        };
        let idle = set_thread_priority_and_policy(
            thread_native_id(),
            thread_priority::ThreadPriority::Min,
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
        );
        if let Err(e) = idle {
            tracing::warn!(error = ?e, "no SCHED_IDLE for the password hashers; nice 19 instead");
            if let Err(e) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 19)
            {
                tracing::warn!(error = %e, "could not lower the password hashers' priority");
            }
        }
    }
}

impl PasswordHasher {
    pub async fn new(threads: usize) -> Result<Self, Error> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return, // the pool was dropped
                        }
                    }
                })
                .map_err(|e| Error::internal(format!("password thread: {e}")))?;
        }
        let mut hasher = PasswordHasher {
            jobs,
            dummy_hash: String::new(),
            in_flight: Arc::new(AtomicUsize::new(0)),
        };
        hasher.dummy_hash = hasher.hash(crate::tokens::opaque::new_secret()).await?;
        Ok(hasher)
    }

    /// Hashes a new password (PHC string).
    pub async fn hash(&self, password: String) -> Result<String, Error> {
        self.run(move || hash_phc(password.as_bytes())).await?
    }

    /// Checks a password against a stored hash; with no hash (unknown account)
    /// does the same work against the dummy and answers false.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, Error> {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy_hash.clone());
        let matched = self
            .run(move || verify_phc(password.as_bytes(), &hash))
            .await?;
        Ok(known && matched)
    }

    /// Hashes currently running or queued.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        let _count = DecrementOnDrop(self.in_flight.clone());
        let (done, result) = oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = done.send(f());
            }))
            .map_err(|_| Error::internal("password pool closed"))?;
        result
            .await
            .map_err(|_| Error::internal("password task failed"))
    }
}

thread_local! {
    /// The hasher thread's Argon2 working memory, reused hash after hash.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Argon2 with `params` into `out`, in this thread's reusable memory.
fn argon2_into(
    params: Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    let needed = params.block_count();
    BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        if blocks.len() != needed {
            *blocks = vec![Block::default(); needed];
        }
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params).hash_password_into_with_memory(
            password,
            salt,
            out,
            blocks.as_mut_slice(),
        )
    })
}

/// A new Argon2id hash with OWASP's parameters, as a PHC string.
fn hash_phc(password: &[u8]) -> Result<String, Error> {
    let fail = |e: &dyn std::fmt::Display| Error::internal(format!("argon2: {e}"));
    let params = Params::default();
    let salt: [u8; 16] = crate::tokens::opaque::random_bytes();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2_into(params.clone(), password, &salt, &mut out).map_err(|e| fail(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| fail(&e))?,
        salt: Some(Salt::new(&salt).map_err(|e| fail(&e))?),
        hash: Some(Output::new(&out).map_err(|e| fail(&e))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches a stored Argon2id PHC string (with the
/// parameters it was made with). Compared in constant time.
fn verify_phc(password: &[u8], stored: &str) -> bool {
    let Ok(phc) = PasswordHash::new(stored) else {
        return false;
    };
    if phc.algorithm != Algorithm::Argon2id.ident() {
        return false;
    }
    let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
        return false;
    };
    let Ok(params) = Params::try_from(&phc) else {
        return false;
    };
    let expected = expected.as_ref();
    let mut out = vec![0u8; expected.len()];
    if argon2_into(params, password, salt, &mut out).is_err() {
        return false;
    }
    out.iter()
        .zip(expected)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

struct DecrementOnDrop(Arc<AtomicUsize>);

impl Drop for DecrementOnDrop {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Shipped with the binary; see the file's header.
const COMMON: &str = include_str!("common_passwords.txt");

/// Whether a password is on the common-passwords list (case-insensitive).
pub fn is_common(password: &str) -> bool {
    let p = password.trim().to_lowercase();
    COMMON
        .lines()
        .filter(|l| !l.starts_with('#'))
        .any(|l| l.trim() == p)
}

/// The password policy for new passwords: 8–128 characters, not the email,
/// not a common password.
pub fn check_policy(password: &str, email: &str) -> Result<(), ApiError> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err(ApiError::bad_request(
            "PASSWORD_TOO_SHORT",
            format!("Use at least {MIN_LEN} characters."),
        ));
    }
    if len > MAX_LEN {
        return Err(ApiError::bad_request(
            "PASSWORD_TOO_LONG",
            format!("Use at most {MAX_LEN} characters."),
        ));
    }
    if is_common(password) {
        return Err(ApiError::bad_request(
            "PASSWORD_TOO_COMMON",
            "This password is one of the most common ones. Choose another.",
        ));
    }
    if password.trim().eq_ignore_ascii_case(email) {
        return Err(ApiError::bad_request(
            "PASSWORD_IS_EMAIL",
            "Your password cannot be your email address.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {

    #[test]
    fn reusable_memory_hashes_are_standard_argon2id() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let ours = hash_phc(b"correct horse battery").unwrap();
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );
        let theirs = Argon2::default()
            .hash_password(b"another one here")
            .unwrap()
            .to_string();
        assert!(verify_phc(b"another one here", &theirs));
        assert!(!verify_phc(b"another one herE", &theirs));
        assert!(!verify_phc(b"x", "not a hash"));
    }

    use super::*;

    /// The hashers run under `SCHED_IDLE` (policy 5 in field 41 of
    /// `/proc/<pid>/task/<tid>/stat`; the name in field 2 may hold spaces).
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashers_run_under_sched_idle() {
        let h = PasswordHasher::new(2).await.expect("hasher");
        h.hash("correct horse".into()).await.expect("hash");
        let mut policies = vec![];
        for task in std::fs::read_dir("/proc/self/task").expect("tasks") {
            let dir = task.expect("task").path();
            let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
            if !comm.starts_with("argon2-") {
                continue;
            }
            let stat = std::fs::read_to_string(dir.join("stat")).expect("stat");
            let after_name = stat.rsplit_once(") ").expect("stat format").1;
            // Fields from 3 on; policy is field 41.
            let policy: u32 = after_name
                .split(' ')
                .nth(41 - 3)
                .expect("policy")
                .parse()
                .expect("number");
            policies.push(policy);
        }
        assert!(policies.len() >= 2, "hasher threads found: {policies:?}");
        assert!(
            policies.iter().all(|p| *p == 5),
            "SCHED_IDLE is 5: {policies:?}"
        );
    }

    #[tokio::test]
    async fn hash_then_verify() {
        let h = PasswordHasher::new(2).await.expect("hasher");
        let stored = h.hash("correct horse".into()).await.expect("hash");
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            h.verify("correct horse".into(), Some(stored.clone()))
                .await
                .expect("verify")
        );
        assert!(
            !h.verify("wrong horse".into(), Some(stored))
                .await
                .expect("verify")
        );
        assert!(
            !h.verify("correct horse".into(), None)
                .await
                .expect("verify")
        );
    }

    #[test]
    fn policy() {
        assert!(check_policy("short", "a@b.io").is_err());
        assert!(check_policy(&"x".repeat(129), "a@b.io").is_err());
        assert!(check_policy("a@b.io.xx", "a@b.io.xx").is_err());
        assert!(check_policy("long enough", "a@b.io").is_ok());
        assert!(check_policy("Password123", "a@b.io").is_err());
        assert!(check_policy("qwertyuiop", "a@b.io").is_err());
    }
}
