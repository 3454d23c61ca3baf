//! What a signed-in person owns: organisations (and later API keys, profile,
//! linked accounts).

pub mod organisations;
