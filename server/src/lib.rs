//! Portcullis: an OAuth 2.0 / OpenID Connect authorisation server.
//!
//! A request flows one way: an actix handler in [`http`] parses it, a domain
//! function in [`oauth`], [`login`] or [`account`] validates and acts, [`store`]
//! runs the SQL, and the result comes back as one of the error types in
//! [`error`], turned into HTTP once, at the edge.
//!
//! The modules stand in floors, each importing only from the floors below
//! it, so that no two files import each other through any chain:
//!
//! ```text
//! main, cli
//! http                      actix-web: routes, extractors, pages, middleware
//! housekeeping
//! oauth                     protocol steps, one file (or folder) per endpoint
//! login, account            people, sessions, factors, organisations
//! state                     AppState: db, settings, clock, keys, named services
//! mail, secrets
//! tokens                    signing keys, JWTs, opaque secrets, user codes
//! store                     every sea-orm query; single-use redemption
//! error, ratelimit, db
//! config
//! domain                    typed values: ids, scopes, resources, amr, grant types
//! clock, metrics, tls       (and the `entities` crate below them all)
//! ```
//!
//! `tests/it/structure.rs` holds the code to it: no import circle among the
//! files of `server/src`, no file over 500 lines, no function over 80.

pub mod account;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod housekeeping;
pub mod http;
pub mod login;
pub mod mail;
pub mod metrics;
pub mod oauth;
pub mod ratelimit;
pub mod secrets;
pub mod state;
pub mod store;
pub mod tls;
pub mod tokens;

pub use clock::{Clock, SystemClock, TestClock};
pub use config::Settings;
pub use state::AppState;
