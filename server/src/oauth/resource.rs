//! Resource indicators (RFC 8707): which audiences a token may carry. The
//! rules live in [`Resources`]; these list-shaped wrappers remain for the
//! callers not yet converted to it.

use crate::oauth::client::Client;

pub use crate::domain::resource::{Resources, same};

/// [`Resources::resolve`] against the resources `client` registered.
pub fn resolve(
    requested: &[String],
    deployment: &[String],
    client: &Client,
) -> Result<Vec<String>, String> {
    Resources::resolve(requested, deployment, &client.metadata.resources).map(Vec::from)
}

/// [`Resources::within`], as a list.
pub fn narrow(requested: &[String], granted: &[String]) -> Result<Vec<String>, String> {
    Resources::within(requested, &Resources::parse(&granted.join(" "))).map(Vec::from)
}
