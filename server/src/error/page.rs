//! Errors shown as a readable HTML page (screens, and authorization requests
//! that must not redirect: RFC 6749 §4.1.2.1).

use super::Error;

#[derive(Debug, Clone)]
pub struct PageError {
    pub status: u16,
    pub title: String,
    pub message: String,
    /// A same-origin path the page offers as the way on (default `/`).
    pub back: Option<String>,
}

impl PageError {
    pub fn new(status: u16, title: impl Into<String>, message: impl Into<String>) -> Self {
        PageError {
            status,
            title: title.into(),
            message: message.into(),
            back: None,
        }
    }
    /// The page links to `path` instead of `/`.
    pub fn with_back(mut self, path: impl Into<String>) -> Self {
        self.back = Some(path.into());
        self
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "This request cannot be completed", message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "Not allowed", message)
    }
    /// A refusal of the login layer (which answers the API's way), shown as
    /// a page with the same status and message.
    pub fn from_api(e: super::ApiError) -> Self {
        Self::new(e.status, "This request cannot be completed", e.message)
    }
}

impl From<Error> for PageError {
    fn from(e: Error) -> Self {
        tracing::error!(error = %e, "internal error");
        PageError::new(500, "Something went wrong", "Please try again in a moment.")
    }
}

impl From<crate::ratelimit::RetryAfter> for PageError {
    fn from(r: crate::ratelimit::RetryAfter) -> Self {
        PageError::new(
            429,
            "Too many attempts",
            format!("Wait {} seconds, then try again.", r.0),
        )
    }
}
