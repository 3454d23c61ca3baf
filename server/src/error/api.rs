//! First-party API errors: `{"code":"…","message":"…"}` with a fitting status
//! (CONTRACT §4). Codes follow Better Auth's SCREAMING_SNAKE names (seed 000).

use serde::Serialize;

use super::Error;

#[derive(Debug, Clone, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    pub status: u16,
    /// Set when rate limited: sent as `Retry-After`.
    #[serde(skip)]
    pub retry_after: Option<u64>,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }
    pub fn unauthorized() -> Self {
        Self::new(401, "UNAUTHORIZED", "Sign in first.")
    }
    /// The one answer for an unknown email and a wrong password alike.
    pub fn invalid_credentials() -> Self {
        Self::new(
            401,
            "INVALID_EMAIL_OR_PASSWORD",
            "Invalid email or password.",
        )
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(403, code, message)
    }
    pub fn rate_limited(retry: crate::ratelimit::RetryAfter) -> Self {
        ApiError {
            retry_after: Some(retry.0),
            ..Self::new(
                429,
                "TOO_MANY_REQUESTS",
                "Too many attempts. Try again later.",
            )
        }
    }
    pub fn internal() -> Self {
        Self::new(
            500,
            "INTERNAL_SERVER_ERROR",
            "Something went wrong on our side.",
        )
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        tracing::error!(error = %e, "internal error");
        ApiError::internal()
    }
}

impl From<crate::ratelimit::RetryAfter> for ApiError {
    fn from(r: crate::ratelimit::RetryAfter) -> Self {
        ApiError::rate_limited(r)
    }
}
