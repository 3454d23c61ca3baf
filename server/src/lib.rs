//! Portcullis: an OAuth 2.0 / OpenID Connect authorisation server.
//!
//! A request flows one way: an actix handler in [`http`] parses it, a domain
//! function in [`oauth`], [`login`] or [`account`] validates and acts, [`store`]
//! runs the SQL, and the result comes back as one of the error types in
//! [`error`], turned into HTTP once, at the edge.

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
