//! The only module that knows actix-web: routes, extractors, middleware, and
//! the one mapping of each error type to HTTP.

pub mod api_json;
pub mod body;
pub mod cache_control;
pub mod client_addr;
pub mod cookies;
pub mod documents;
pub mod errors;
pub mod extract;
pub mod fields;
pub mod form_action;
pub mod middleware;
pub mod pages;
pub mod request_id;
pub mod routes;

use std::net::TcpListener;

use actix_web::{App, HttpServer, web};

use crate::state::AppState;

/// Builds the server on an already bound listener. `workers` defaults to one
/// per core. actix handles SIGTERM/SIGINT with a graceful shutdown that lets
/// in-flight requests finish.
pub fn server(
    state: AppState,
    listener: TcpListener,
    workers: Option<usize>,
) -> std::io::Result<actix_web::dev::Server> {
    let data = web::Data::new(state);
    let mut server = HttpServer::new(move || {
        let app = App::new()
            .app_data(data.clone())
            .app_data(web::FormConfig::default().limit(body::SCREEN_FORM))
            .app_data(body::api_json(body::API_JSON))
            // What a `web::Bytes` or `String` extractor may read where no
            // endpoint names a cap of its own.
            .app_data(web::PayloadConfig::new(body::SCREEN_FORM))
            .wrap(actix_web::middleware::from_fn(middleware::observe))
            .configure(routes::configure);
        documents::Documents::new(data.clone(), app)
    })
    .shutdown_timeout(10);
    if let Some(n) = workers {
        server = server.workers(n);
    }
    Ok(server.listen(listener)?.run())
}
