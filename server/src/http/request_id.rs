//! The request id (DESIGN §6: internal errors are logged with it): the one the
//! caller (usually a proxy in front) sent as `X-Request-Id` when it is short
//! and plain, else a new one. Every answer carries it back, and every log
//! line written while the request runs carries it in the `request` span. It
//! correlates lines, it proves nothing: any client may send an id that looks
//! like another request's.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest incoming id taken as it is.
const MAX_LEN: usize = 64;

/// Whether an incoming id may be used as it is: it goes into log lines and
/// back into a header, so only short runs of `[A-Za-z0-9._-]`.
fn acceptable(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A fresh id: a random per-process prefix and a counter, so ids are unique
/// without asking the system for randomness on every request.
fn fresh() -> HeaderValue {
    static PREFIX: OnceLock<u32> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| uuid::Uuid::new_v4().as_u128() as u32);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let id = format!("{prefix:08x}-{n:x}");
    HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("-"))
}

/// The id of the request with these headers.
pub fn of(headers: &HeaderMap) -> HeaderValue {
    match headers.get(&HEADER) {
        Some(v) if acceptable(v.as_bytes()) => v.clone(),
        _ => fresh(),
    }
}

/// The id as a log field (it is always ASCII).
pub fn text(id: &HeaderValue) -> &str {
    id.to_str().unwrap_or("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(id: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(HEADER, HeaderValue::from_str(id).unwrap());
        h
    }

    #[test]
    fn a_plain_short_id_is_kept_and_anything_else_replaced() {
        assert_eq!(of(&with("abc-123_x.y")), "abc-123_x.y");
        for bad in ["", "a b", "a/b", "é", &"a".repeat(65), "a\tb"] {
            let Ok(v) = HeaderValue::from_str(bad) else {
                continue;
            };
            let mut h = HeaderMap::new();
            h.insert(HEADER, v);
            let id = of(&h);
            assert_ne!(id.as_bytes(), bad.as_bytes(), "{bad:?}");
            assert!(acceptable(id.as_bytes()));
        }
    }

    #[test]
    fn fresh_ids_differ() {
        let (a, b) = (of(&HeaderMap::new()), of(&HeaderMap::new()));
        assert_ne!(a, b);
        assert!(acceptable(a.as_bytes()));
    }
}
