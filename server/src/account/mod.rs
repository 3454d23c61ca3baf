//! What a signed-in person owns: organisations, the profile the API shows
//! (and later API keys, linked accounts).

pub mod organisations;
pub mod profile;
