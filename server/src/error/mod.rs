//! One error type per layer. [`Error`] is internal (database, crypto, bugs) and
//! never reaches a client as text; the wire types are [`ApiError`] (first-party
//! JSON), [`OAuthError`] (RFC 6749 JSON) and [`PageError`] (HTML). `http::errors`
//! maps each to a response, once.

pub mod api;
pub mod oauth;
pub mod page;

pub use api::ApiError;
pub use oauth::{OAuthError, OAuthErrorCode};
pub use page::PageError;

/// Something went wrong on our side. Logged with detail, answered as a bare 500
/// (`server_error` at OAuth endpoints).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn internal(what: impl Into<String>) -> Self {
        Error::Internal(what.into())
    }
}

impl From<sea_orm::TransactionError<Error>> for Error {
    fn from(e: sea_orm::TransactionError<Error>) -> Self {
        match e {
            sea_orm::TransactionError::Connection(db) => Error::Db(db),
            sea_orm::TransactionError::Transaction(e) => e,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
