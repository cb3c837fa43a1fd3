//! The one HTTP error type. Every error leaves Kassa as RFC 9457 `application/problem+json`
//! with a stable snake_case `code`; the request id and instance are filled in by the
//! request-context middleware, which also turns any bare error status into a problem.

use std::borrow::Cow;

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use kassa_domain::{DomainError, ErrorCode, Violation};
use serde::Serialize;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// The body of a problem response. `type` is `urn:kassa:problem:<code>`; the README lists
/// the codes.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[schema(value_type = String)]
    pub code: Cow<'static, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<Violation>,
    /// Extension members specific to one problem (e.g. the checks of `/ready`).
    #[serde(flatten, skip_serializing_if = "serde_json::Map::is_empty")]
    #[schema(value_type = Object)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

impl Problem {
    /// A problem with the code's status and title (the status's reason phrase).
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        let status = status_of(code);
        Self {
            type_uri: format!("urn:kassa:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            instance: None,
            code: Cow::Borrowed(code.as_str()),
            request_id: None,
            errors: Vec::new(),
            extensions: serde_json::Map::new(),
        }
    }

    /// A problem for a status some layer produced without a body (405 from the router,
    /// 413 from a body limit, …).
    pub fn for_status(status: StatusCode) -> Self {
        let (code, detail) = match status {
            StatusCode::NOT_FOUND => (ErrorCode::RouteNotFound, "no route matches this path"),
            StatusCode::METHOD_NOT_ALLOWED => {
                (ErrorCode::MethodNotAllowed, "this route does not accept this method; see the Allow header")
            }
            StatusCode::PAYLOAD_TOO_LARGE => {
                (ErrorCode::PayloadTooLarge, "the request body exceeds the 1 MiB limit")
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                (ErrorCode::UnsupportedMediaType, "send the body as application/json")
            }
            s if s.is_server_error() => {
                (ErrorCode::InternalError, "something went wrong on our side; quote the request_id")
            }
            _ => (ErrorCode::BadRequest, "the request was refused"),
        };
        let mut problem = Self::new(code, detail);
        // The layer's own status stays (a 503 stays a 503, a 408 answered as bad_request).
        problem.status = status.as_u16();
        problem.title = status.canonical_reason().unwrap_or("Error").to_owned();
        problem
    }

    pub fn into_response_with(self, status: StatusCode) -> Response {
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response.extensions_mut().insert(self);
        response
    }
}

/// An error a handler or extractor returns. 5xx errors keep their cause for the log and
/// show the client only a generic detail.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    problem: Box<Problem>,
    headers: HeaderMap,
    cause: Option<anyhow::Error>,
}

/// The HTTP status of a catalogue code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl ApiError {
    /// A problem with the code's status (from the catalogue) and this detail.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            status: status_of(code),
            problem: Box::new(Problem::new(code, detail)),
            headers: HeaderMap::new(),
            cause: None,
        }
    }

    /// A server-side failure: the cause is logged once with its chain, never sent.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        let status = StatusCode::INTERNAL_SERVER_ERROR;
        Self {
            status,
            problem: Box::new(Problem::for_status(status)),
            headers: HeaderMap::new(),
            cause: Some(cause.into()),
        }
    }

    pub fn with_errors(mut self, errors: Vec<Violation>) -> Self {
        self.problem.errors = errors;
        self
    }

    /// A header to send with the problem (`WWW-Authenticate`, `Retry-After`, …).
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    pub fn with_extension(mut self, key: &str, value: serde_json::Value) -> Self {
        self.problem.extensions.insert(key.to_owned(), value);
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &str {
        &self.problem.code
    }
}

impl From<kassa_runtime::cache::CacheError> for ApiError {
    fn from(err: kassa_runtime::cache::CacheError) -> Self {
        ApiError::internal(err)
    }
}

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        match err {
            DomainError::NotFound { resource } => {
                ApiError::new(ErrorCode::NotFound, format!("{resource} not found"))
            }
            DomainError::Validation(violations) => {
                ApiError::new(ErrorCode::ValidationFailed, "the input is invalid; see errors")
                    .with_errors(violations.as_slice().to_vec())
            }
            DomainError::Conflict { code, message } | DomainError::InvalidState { code, message } => {
                ApiError::new(code, message)
            }
            DomainError::Stale { resource, current } => ApiError::new(
                ErrorCode::VersionConflict,
                format!(
                    "the {resource} was changed meanwhile (now version {current}); fetch it and try again"
                ),
            )
            .with_extension("current_version", current.into()),
            DomainError::Database(db) => ApiError::internal(db),
            DomainError::Unexpected(what) => ApiError::internal(anyhow::anyhow!(what)),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(cause) = &self.cause {
            // `{:#}` prints the whole chain: "database error: pool timed out: …".
            tracing::error!(code = %self.problem.code, error = format!("{cause:#}"), "request failed");
        }
        let mut response = (*self.problem).into_response_with(self.status);
        response.headers_mut().extend(self.headers);
        response
    }
}
