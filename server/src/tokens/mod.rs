//! Signing keys, JWTs and opaque secrets.

pub mod jws;
pub mod jwt;
pub mod keys;
pub mod opaque;
pub mod seal;
pub mod user_codes;
