//! The public documents, answered in front of the App: the JWKS and the
//! discovery metadata (both paths).
//!
//! Every relying party and resource server fetches them, anonymously and
//! often, and each answer is bytes prepared once. Through the App an answer
//! would also pay for the middleware's boxed future and clock reads, a walk
//! of the route table, extractors and a `ServiceResponse`: a sixth of what
//! it costs (tests/perf/RESULTS.md, design notes).
//!
//! This layer answers a `GET` or `HEAD` of one of these paths itself, with the
//! headers, metrics and log line the App would give, and passes every other
//! request to the App untouched. The App keeps its own routes for them, which
//! answer what this layer leaves: the JWKS when the key set is due for its
//! reload from the database (this layer does not wait for one), and a path
//! spelled with percent-escapes that only the App's router decodes.

use std::time::Duration;

use actix_http::{HttpMessage, Request};
use actix_service::{IntoServiceFactory, Service, ServiceFactory};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{AppConfig, Response, ServiceResponse};
use actix_web::http::header::{self, HeaderMap};
use actix_web::http::{Method, StatusCode};
use actix_web::web;
use bytes::Bytes;
use futures_util::future::{self, Either, LocalBoxFuture, MapOk, Ready, TryFutureExt};

use super::{middleware, request_id};
use crate::state::AppState;

pub const JWKS_PATH: &str = "/oauth2/jwks";
pub const OIDC_METADATA_PATH: &str = "/.well-known/openid-configuration";
pub const OAUTH_METADATA_PATH: &str = "/.well-known/oauth-authorization-server";

/// How long caches may keep metadata, and the key set (shorter: a rotation
/// must reach relying parties soon).
pub const METADATA_CACHE: &str = "public, max-age=300";
pub const KEYS_CACHE: &str = "public, max-age=60";

/// Public, cacheable JSON any origin may read (browser-based clients fetch
/// metadata and keys cross-origin).
pub fn public_json(h: &mut HeaderMap, cache_control: &'static str) {
    middleware::set(h, header::ACCESS_CONTROL_ALLOW_ORIGIN, "*");
    middleware::set(h, header::CACHE_CONTROL, cache_control);
    middleware::set(h, header::CONTENT_TYPE, "application/json");
}

/// Wraps the App's service factory (see the module doc).
pub struct Documents<F> {
    app: F,
    state: web::Data<AppState>,
}

impl<F: ServiceFactory<Request>> Documents<F> {
    pub fn new<I: IntoServiceFactory<F, Request>>(state: web::Data<AppState>, app: I) -> Self {
        Documents {
            app: app.into_factory(),
            state,
        }
    }
}

/// What both layers answer with: the App's bodies on the left, ours on the right.
type Answer<B> = Response<EitherBody<B, Bytes>>;

impl<F, B> ServiceFactory<Request> for Documents<F>
where
    F: ServiceFactory<
            Request,
            Config = AppConfig,
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    F::Future: 'static,
    B: MessageBody,
{
    type Response = Answer<B>;
    type Error = actix_web::Error;
    type Config = AppConfig;
    type Service = DocumentsService<F::Service>;
    type InitError = F::InitError;
    // Once per worker, so boxing costs nothing that matters.
    type Future = LocalBoxFuture<'static, Result<Self::Service, Self::InitError>>;

    fn new_service(&self, config: AppConfig) -> Self::Future {
        let app = self.app.new_service(config);
        let state = self.state.clone();
        Box::pin(async move {
            Ok(DocumentsService {
                app: app.await?,
                state,
            })
        })
    }
}

pub struct DocumentsService<S> {
    app: S,
    state: web::Data<AppState>,
}

impl<S, B> Service<Request> for DocumentsService<S>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    type Response = Answer<B>;
    type Error = actix_web::Error;
    // No box per request on either branch.
    type Future = Either<
        Ready<Result<Answer<B>, actix_web::Error>>,
        MapOk<S::Future, fn(ServiceResponse<B>) -> Answer<B>>,
    >;

    actix_service::forward_ready!(app);

    fn call(&self, req: Request) -> Self::Future {
        match self.answer(&req) {
            Some(res) => Either::Left(future::ok(res.map_body(|_, b| EitherBody::right(b)))),
            None => Either::Right(self.app.call(req).map_ok(from_app::<B> as fn(_) -> _)),
        }
    }
}

fn from_app<B>(res: ServiceResponse<B>) -> Answer<B> {
    Response::from(res).map_body(|_, b| EitherBody::left(b))
}

impl<S> DocumentsService<S> {
    /// The answer to `req` if it is a `GET` or `HEAD` of a public document this layer
    /// can give without waiting; `None` sends it to the App.
    fn answer(&self, req: &Request) -> Option<Response<Bytes>> {
        // HEAD too (RFC 9110 §9.3.2): actix-http drops the body and keeps
        // its length.
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return None;
        }
        let state = &self.state;
        let (body, cache) = match req.path() {
            JWKS_PATH => (state.keys.fresh(state.now())?.jwks.clone(), KEYS_CACHE),
            OIDC_METADATA_PATH | OAUTH_METADATA_PATH => {
                (state.discovery.document.clone(), METADATA_CACHE)
            }
            _ => return None,
        };
        let mut res = Response::with_body(StatusCode::OK, body);
        public_json(res.headers_mut(), cache);
        middleware::secure(res.headers_mut(), state.settings.issuer_is_https());
        let id = request_id::of(req.headers());
        // Built in well under a microsecond: the metrics' sum of whole
        // microseconds gains nothing from two clock reads. Nothing but the
        // line is logged here, so the span exists only when it is written.
        if middleware::logging() {
            let line = Some((req.method(), req.path()));
            middleware::span(&id).in_scope(|| middleware::record(state, 200, Duration::ZERO, line));
        } else {
            middleware::record(state, 200, Duration::ZERO, None);
        }
        res.headers_mut().insert(request_id::HEADER, id);
        Some(res)
    }
}
