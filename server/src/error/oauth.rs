//! OAuth 2.0 protocol errors (RFC 6749 §5.2 and the RFCs that extend it). The
//! wire form of each variant is its RFC code; `http::errors` gives the status
//! and headers.

use serde::Serialize;

use super::Error;

/// The error codes we send. Each doc line is the RFC's sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OAuthErrorCode {
    /// The request is missing a required parameter, includes an unsupported
    /// parameter value, repeats a parameter, or is otherwise malformed (RFC 6749 §5.2).
    InvalidRequest,
    /// Client authentication failed (RFC 6749 §5.2).
    InvalidClient,
    /// The provided authorization grant or refresh token is invalid, expired,
    /// revoked, or was issued to another client (RFC 6749 §5.2).
    InvalidGrant,
    /// The authenticated client is not authorized to use this grant type (RFC 6749 §5.2).
    UnauthorizedClient,
    /// The authorization grant type is not supported (RFC 6749 §5.2).
    UnsupportedGrantType,
    /// The requested scope is invalid, unknown, malformed, or exceeds the scope
    /// granted (RFC 6749 §5.2).
    InvalidScope,
    /// The server does not support obtaining a code using this method (RFC 6749 §4.1.2.1).
    UnsupportedResponseType,
    /// The resource owner or authorization server denied the request (RFC 6749 §4.1.2.1).
    AccessDenied,
    /// The server encountered an unexpected condition (RFC 6749 §4.1.2.1).
    ServerError,
    /// The server is temporarily unable to handle the request (RFC 6749 §4.1.2.1).
    TemporarilyUnavailable,
    /// The requested resource is invalid or not allowed for this client (RFC 8707 §2).
    InvalidTarget,
    /// The server requires end-user authentication (OIDC Core §3.1.2.6).
    LoginRequired,
    /// The server requires end-user consent (OIDC Core §3.1.2.6).
    ConsentRequired,
    /// The user must interact (here: give a second factor) (OIDC Core §3.1.2.6).
    InteractionRequired,
    /// The access token is expired, revoked, malformed or invalid (RFC 6750 §3.1).
    InvalidToken,
    /// The request requires higher privileges than the access token provides (RFC 6750 §3.1).
    InsufficientScope,
    /// A redirect URI in client metadata is invalid (RFC 7591 §3.2.2).
    InvalidRedirectUri,
    /// A field of client metadata is invalid (RFC 7591 §3.2.2).
    InvalidClientMetadata,
    /// The authorization request is still pending (RFC 8628 §3.5).
    AuthorizationPending,
    /// Polling too fast; add 5 seconds to the interval (RFC 8628 §3.5).
    SlowDown,
    /// The device_code has expired (RFC 8628 §3.5).
    ExpiredToken,
}

/// An RFC 6749 error response body.
#[derive(Debug, Clone, Serialize)]
pub struct OAuthError {
    pub error: OAuthErrorCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    /// Set when rate limited: answered as 429 with `Retry-After`.
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl OAuthError {
    pub fn new(error: OAuthErrorCode, description: impl Into<String>) -> Self {
        OAuthError {
            error,
            error_description: Some(description.into()),
            retry_after: None,
        }
    }
    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new(OAuthErrorCode::InvalidRequest, d)
    }
    pub fn invalid_client(d: impl Into<String>) -> Self {
        Self::new(OAuthErrorCode::InvalidClient, d)
    }
    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new(OAuthErrorCode::InvalidGrant, d)
    }
    pub fn invalid_scope(d: impl Into<String>) -> Self {
        Self::new(OAuthErrorCode::InvalidScope, d)
    }
    /// Too many attempts from this client or address.
    pub fn rate_limited(retry: crate::ratelimit::RetryAfter) -> Self {
        OAuthError {
            retry_after: Some(retry.0),
            ..Self::new(
                OAuthErrorCode::TemporarilyUnavailable,
                "too many requests; retry later",
            )
        }
    }
    pub fn server_error() -> Self {
        Self::new(OAuthErrorCode::ServerError, "internal error")
    }
}

impl From<Error> for OAuthError {
    fn from(e: Error) -> Self {
        tracing::error!(error = %e, "internal error");
        OAuthError::server_error()
    }
}

impl From<crate::ratelimit::RetryAfter> for OAuthError {
    fn from(r: crate::ratelimit::RetryAfter) -> Self {
        OAuthError::rate_limited(r)
    }
}
