//! OAuth 2.0 / OpenID Connect protocol logic, free of the web framework: one
//! file per endpoint or concept.

pub mod client;
pub mod discovery;
pub mod redirect;
pub mod registration;
pub mod scope;
