//! Signing keys, JWTs and opaque secrets.

pub mod jws;
pub mod keys;
pub mod opaque;
