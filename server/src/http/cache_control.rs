//! `Cache-Control` on answers that carry tokens, secrets or sessions.

use actix_web::HttpResponseBuilder;
use actix_web::http::header;

/// Marks an answer as not to be cached (tokens, secrets, sessions).
pub(crate) fn no_store(res: &mut HttpResponseBuilder) -> &mut HttpResponseBuilder {
    res.insert_header((header::CACHE_CONTROL, "no-store"))
}

/// `no-store`, plus `Pragma: no-cache` for HTTP/1.0 caches (the OAuth
/// endpoints' answers, RFC 6749 §5.1, RFC 7591 §3.2.1).
pub(crate) fn uncached(res: &mut HttpResponseBuilder) -> &mut HttpResponseBuilder {
    no_store(res).insert_header((header::PRAGMA, "no-cache"))
}
