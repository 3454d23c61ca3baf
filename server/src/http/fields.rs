//! Bounds on the fields people and clients type, checked before anything
//! costly sees them: a password before Argon2, an address before it becomes a
//! rate-limit key (each key is kept in memory), a code before it is hashed and
//! looked up.

use crate::error::{ApiError, PageError};

/// What a field holds; each kind has its bound and its error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// RFC 5321 §4.5.3.1.3: a path is at most 256 octets, an address 254.
    Email,
    /// New passwords are at most 128 characters (`login::password`); a
    /// sign-in may carry an older, longer one, but not an unbounded one.
    Password,
    /// A display name.
    Name,
    /// A TOTP, backup or email code.
    Code,
    /// A mailed token, a ceremony handle, a passkey ID.
    Token,
}

impl Field {
    /// The most bytes the field may hold.
    pub const fn max_bytes(self) -> usize {
        match self {
            Field::Email => 254,
            Field::Password => 1024,
            Field::Name => 800,
            Field::Code => 64,
            Field::Token => 1024,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Field::Email => "INVALID_EMAIL",
            Field::Password => "PASSWORD_TOO_LONG",
            Field::Name => "INVALID_NAME",
            Field::Code => "INVALID_CODE",
            Field::Token => "INVALID_TOKEN",
        }
    }

    fn message(self) -> &'static str {
        match self {
            Field::Email => "Enter a valid email address.",
            Field::Password => "This password is too long.",
            Field::Name => "This name is too long.",
            Field::Code => "This code is too long.",
            Field::Token => "This token is too long.",
        }
    }
}

/// A field over its bound.
#[derive(Debug, Clone, Copy)]
pub struct TooLong(pub Field);

/// Checks each `(kind, value)`; the first one over its bound is the error.
pub fn check(fields: &[(Field, &str)]) -> Result<(), TooLong> {
    match fields.iter().find(|(f, v)| v.len() > f.max_bytes()) {
        Some((f, _)) => Err(TooLong(*f)),
        None => Ok(()),
    }
}

/// A body whose fields have bounds: checked by the extractor that reads it
/// ([`crate::http::extract::ApiJson`], [`crate::http::extract::CsrfForm`]).
pub trait Bounded {
    /// The fields to check, in the order their errors take precedence.
    fn fields(&self) -> Vec<(Field, &str)> {
        Vec::new()
    }
}

/// `bounded!(Body { field: Kind, … })`: `Body`'s `String` fields checked
/// against `Field::Kind`'s bound, in this order.
macro_rules! bounded {
    ($body:ty { $($field:ident: $kind:ident),* $(,)? }) => {
        impl $crate::http::fields::Bounded for $body {
            fn fields(&self) -> Vec<($crate::http::fields::Field, &str)> {
                vec![$(($crate::http::fields::Field::$kind, self.$field.as_str())),*]
            }
        }
    };
}
pub(crate) use bounded;

impl From<TooLong> for ApiError {
    fn from(TooLong(f): TooLong) -> Self {
        ApiError::bad_request(f.code(), f.message())
    }
}

impl From<TooLong> for PageError {
    fn from(TooLong(f): TooLong) -> Self {
        PageError::bad_request(format!("{} Go back and try again.", f.message()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_field_over_its_bound_is_named() {
        let long = "a".repeat(300);
        assert!(check(&[(Field::Email, "a@b.example"), (Field::Code, "123456")]).is_ok());
        let err = check(&[(Field::Code, "1"), (Field::Email, &long)]).unwrap_err();
        assert_eq!(err.0, Field::Email);
    }
}
