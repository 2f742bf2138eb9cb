//! [`UiError`]: a failed request as an HTTP status and a message, rendered
//! as an HTML page ([`PageError`]) or a JSON document ([`ApiError`]).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use taskpool::store::{Error, ErrorKind};

use crate::layout;

/// A failed request: the status to answer with and a message naming the
/// problem (secrets already scrubbed).
#[derive(Debug, Clone)]
pub(crate) struct UiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl UiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> UiError {
        UiError {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> UiError {
        UiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> UiError {
        UiError::new(StatusCode::NOT_FOUND, message)
    }

    /// A store error, mapped by kind (never by message): bad input → 400,
    /// missing → 404, conflicts → 409, an unreachable store → 503.
    pub(crate) fn from_store(error: &Error, scrub: impl Fn(&str) -> String) -> UiError {
        let status = match error.kind() {
            ErrorKind::InvalidQuery | ErrorKind::InvalidInput | ErrorKind::Config => {
                StatusCode::BAD_REQUEST
            }
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::AlreadyExists | ErrorKind::LeaseLost => StatusCode::CONFLICT,
            ErrorKind::Unsupported => StatusCode::NOT_IMPLEMENTED,
            ErrorKind::Unavailable | ErrorKind::Backend => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::warn!(kind = %error.kind().as_str(), "store request failed: {}", scrub(&error.to_string()));
        }
        UiError::new(status, scrub(&error.to_string()))
    }
}

/// A [`UiError`] answered as an HTML page.
#[derive(Debug)]
pub(crate) struct PageError(pub(crate) UiError);

impl From<UiError> for PageError {
    fn from(e: UiError) -> PageError {
        PageError(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let UiError { status, message } = self.0;
        (status, layout::error_page(status, &message)).into_response()
    }
}

/// A [`UiError`] answered as JSON: `{"error": {"status", "message"}}`.
#[derive(Debug)]
pub(crate) struct ApiError(pub(crate) UiError);

impl From<UiError> for ApiError {
    fn from(e: UiError) -> ApiError {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let UiError { status, message } = self.0;
        let body = json!({"error": {"status": status.as_u16(), "message": message}});
        (status, Json(body)).into_response()
    }
}
