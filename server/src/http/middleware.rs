//! Middleware: security headers and the request id on every response;
//! request timing, metrics and one log line per request (path only: query
//! strings carry secrets). The request runs inside a `request` span that
//! names its id, so whatever it logs (an internal error mapped to a 500
//! among them) can be matched to the answer's `X-Request-Id`.

use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, web};

use tracing::Instrument;

use super::{form_action, request_id};
use crate::state::AppState;

/// Same-origin requests carry their origin; other sites learn nothing.
pub const REFERRER_POLICY: &str = "same-origin";

/// Two years, the preload lists' minimum. Not `includeSubDomains`: the issuer
/// may share a parent domain with sites this server does not control.
pub const HSTS: &str = "max-age=63072000";

/// `frame-ancestors 'none'` (CONTRACT §5) and friends, on every answer. Pages
/// get the policy their scripts and styles need (unless the page set its own,
/// a wider `form-action`: see [`form_action`]), plus `X-Frame-Options` for
/// browsers that predate `frame-ancestors`; everything else (JSON, redirects,
/// static files) gets OWASP's policy for APIs, which forbids loading anything
/// at all and is a fifth of the bytes on the hottest answers (JWKS,
/// discovery, tokens). With an `https` issuer every answer also carries
/// `Strict-Transport-Security`, so a browser never again tries plain http
/// (where a network attacker could strip TLS before the first redirect).
pub fn secure(h: &mut HeaderMap, https: bool) {
    let page = h
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if page {
        if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
            set(h, header::CONTENT_SECURITY_POLICY, form_action::PAGE_CSP);
        }
        set(h, header::X_FRAME_OPTIONS, "DENY");
    } else {
        set(
            h,
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        );
    }
    if https {
        set(h, header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    // Codes and tokens travel in URLs; never leak them to other sites. Not
    // `no-referrer`: under it browsers send `Origin: null` with our own form
    // POSTs, and the origin check would refuse every sign-in.
    set(h, header::REFERRER_POLICY, REFERRER_POLICY);
}

/// Sets a header to a fixed value.
pub fn set(h: &mut HeaderMap, name: HeaderName, value: &'static str) {
    h.insert(name, HeaderValue::from_static(value));
}

/// The one middleware (each `from_fn` layer costs a boxed future per
/// request): request id, security headers, timing, metrics and the log line.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let id = request_id::of(req.headers());
    let span = span(&id);
    // Copied only when the line will be written (the hot path runs at `warn`).
    let logged = logging().then(|| (req.method().clone(), req.path().to_string()));
    // In the span both while the App starts on the request (routing, and
    // extractors that check without waiting) and while it runs.
    let running = span.in_scope(|| next.call(req));
    let mut res = running.instrument(span.clone()).await?;
    let https = state.as_ref().is_some_and(|s| s.settings.issuer_is_https());
    secure(res.headers_mut(), https);
    res.headers_mut().insert(request_id::HEADER, id);
    if let Some(state) = state {
        let line = logged.as_ref().map(|(m, p)| (m, p.as_str()));
        span.in_scope(|| record(&state, res.status().as_u16(), started.elapsed(), line));
    }
    Ok(res)
}

/// The span a request runs in. At `error` level, so that it is on whenever
/// an internal error would be logged, whatever the filter.
pub fn span(id: &HeaderValue) -> tracing::Span {
    tracing::error_span!("request", id = %request_id::text(id))
}

/// Whether [`record`] would write its line. Asked here, so that a per-module
/// log filter (`RUST_LOG=portcullis::http::middleware=info`) sees one target
/// whichever layer answered.
pub fn logging() -> bool {
    tracing::enabled!(tracing::Level::INFO)
}

/// What every answer leaves behind, whichever layer produced it: its status
/// and time in the metrics, and one log line (`method` and path) when `info`
/// is on.
pub fn record(state: &AppState, status: u16, took: Duration, line: Option<(&Method, &str)>) {
    let micros = took.as_micros() as u64;
    state.metrics.observe(status, micros);
    if let Some((method, path)) = line {
        tracing::info!(%method, %path, status, micros, "request");
    }
}
