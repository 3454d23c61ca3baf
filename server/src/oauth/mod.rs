//! OAuth 2.0 / OpenID Connect protocol logic, free of the web framework: one
//! file per endpoint or concept.

pub mod access_token;
pub mod authorize;
pub mod client;
pub mod client_auth;
pub mod client_metadata;
pub mod device;
pub mod discovery;
pub mod display_text;
pub mod end_session;
pub mod grant_scope;
pub mod introspection;
pub mod pkce;
pub mod protected_resource;
pub mod redirect;
pub mod registration;
pub mod resource;
pub mod revocation;
pub mod scope;
pub mod token;
pub mod userinfo;
