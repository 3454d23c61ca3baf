//! Each wire error type becomes HTTP here, and only here.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType, HeaderValue};
use actix_web::{HttpResponse, ResponseError};

use crate::error::{ApiError, OAuthError, OAuthErrorCode, PageError};
use crate::http::pages;

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CACHE_CONTROL, "no-store"));
        if let Some(secs) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        res.json(self)
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?}: {}",
            self.error,
            self.error_description.as_deref().unwrap_or("")
        )
    }
}

impl ResponseError for OAuthError {
    /// RFC 6749 §5.2: 400, except 401 for failed client authentication;
    /// RFC 6750 §3.1 for bearer-token errors.
    fn status_code(&self) -> StatusCode {
        if self.retry_after.is_some() {
            return StatusCode::TOO_MANY_REQUESTS;
        }
        match self.error {
            OAuthErrorCode::InvalidClient | OAuthErrorCode::InvalidToken => {
                StatusCode::UNAUTHORIZED
            }
            OAuthErrorCode::InsufficientScope | OAuthErrorCode::AccessDenied => {
                StatusCode::FORBIDDEN
            }
            OAuthErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            OAuthErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"));
        if let Some(secs) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        match self.error {
            OAuthErrorCode::InvalidClient => {
                res.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"portcullis\""),
                ));
            }
            OAuthErrorCode::InvalidToken | OAuthErrorCode::InsufficientScope => {
                let code = serde_json::to_value(self.error).ok();
                let code = code
                    .as_ref()
                    .and_then(|v| v.as_str())
                    .unwrap_or("invalid_token");
                res.insert_header((header::WWW_AUTHENTICATE, format!("Bearer error=\"{code}\"")));
            }
            _ => {}
        }
        res.json(self)
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.title, self.message)
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .content_type(ContentType::html())
            .body(pages::error_page(
                &self.title,
                &self.message,
                self.back.as_deref(),
            ))
    }
}
