//! Resource indicators (RFC 8707): which audiences a token may carry. The
//! rules live in [`Resources`]; these list-shaped wrappers remain for the
//! callers not yet converted to it.

use crate::config::Settings;

pub use crate::domain::resource::{Resources, same};

/// [`Resources::resolve`] against the deployment's resources, as a list;
/// `registered` are the client's own (its metadata's `resources`).
pub fn resolve(
    requested: &[String],
    settings: &Settings,
    registered: &[String],
) -> Result<Vec<String>, String> {
    Resources::resolve(requested, &settings.resources(), registered).map(Vec::from)
}

/// [`Resources::within`], as a list.
pub fn narrow(requested: &[String], granted: &[String]) -> Result<Vec<String>, String> {
    Resources::within(requested, &Resources::parse(&granted.join(" "))).map(Vec::from)
}
