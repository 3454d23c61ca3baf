//! Resource indicators (RFC 8707): which audiences a token may carry. The
//! rules live in [`Resources`]; this list-shaped wrapper serves the callers
//! that hold resources as lists (a client's metadata, a new grant).

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
