//! Resource indicators (RFC 8707): which audiences a token may carry. The
//! rules live in [`Resources`]; these list-shaped wrappers remain for the
//! callers not yet converted to it.

pub use crate::domain::resource::{Resources, same};

/// [`Resources::resolve`], as a list; `registered` are the client's own
/// (its metadata's `resources`).
pub fn resolve(
    requested: &[String],
    deployment: &[String],
    registered: &[String],
) -> Result<Vec<String>, String> {
    Resources::resolve(requested, deployment, registered).map(Vec::from)
}

/// [`Resources::within`], as a list.
pub fn narrow(requested: &[String], granted: &[String]) -> Result<Vec<String>, String> {
    Resources::within(requested, &Resources::parse(&granted.join(" "))).map(Vec::from)
}
