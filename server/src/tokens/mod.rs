//! Signing keys, JWTs and opaque secrets.

pub mod jws;
pub mod jwt;
pub mod keys;
pub mod opaque;
pub mod seal;
pub mod signing_key;
pub mod user_codes;
pub mod verified;
