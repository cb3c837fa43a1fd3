//! The outermost middleware of every app: request id, the request span, one log line per
//! request, and the guarantee that every error response is problem+json carrying the
//! request id and instance.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, header};
use tracing::Instrument;
use tracing::field::Empty;
use uuid::Uuid;

use crate::problem::{PROBLEM_JSON, Problem};

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// A caller's request id is kept when it is short and printable, so ids can be followed
/// across services; otherwise a new one is made.
fn request_id(request: &Request) -> String {
    request
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| Uuid::now_v7().to_string(), str::to_owned)
}

pub async fn request_context(request: Request, next: Next) -> Response {
    let id = request_id(&request);
    let route =
        request.extensions().get::<MatchedPath>().map_or("<unmatched>", MatchedPath::as_str).to_owned();
    let instance = request.uri().path().to_owned();
    let span = tracing::info_span!(
        "request",
        function = Empty,
        method = %request.method(),
        route = %route,
        request_id = %id,
        tenant_id = Empty,
        user_id = Empty,
        status = Empty,
    );
    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let mut response = finish_problem(response, &id, instance);
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    span.record("status", response.status().as_u16());
    span.in_scope(|| {
        let latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        tracing::info!(latency_us, "request finished");
    });
    response
}

/// Fills request id and instance into a problem, and turns any other error response that
/// a layer made without a problem body (405, 413, …) into one.
fn finish_problem(response: Response, request_id: &str, instance: String) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let mut problem = match parts.extensions.remove::<Problem>() {
        Some(problem) => problem,
        None if parts.headers.get(header::CONTENT_TYPE).is_some_and(|v| v == PROBLEM_JSON) => {
            return Response::from_parts(parts, body);
        }
        None => Problem::for_status(status),
    };
    problem.request_id = Some(request_id.to_owned());
    problem.instance = Some(instance);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = Bytes::from(serde_json::to_vec(&problem).unwrap_or_default());
    Response::from_parts(parts, axum::body::Body::from(body)).into_response()
}
