//! Extractors whose rejections are problems: `Json` (with JSON Pointers to the offending
//! field), `Path` and `Query`.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::request::Parts;
use http::{StatusCode, header};
use kassa_domain::Violation;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::problem::ApiError;
use kassa_domain::ErrorCode;

/// The request body limit of every route.
pub const BODY_LIMIT_BYTES: usize = 1024 * 1024;

/// A JSON body in, or a JSON body out.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        if !content_type.is_some_and(is_json) {
            return Err(ApiError::new(ErrorCode::UnsupportedMediaType, "send the body as application/json"));
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(ErrorCode::PayloadTooLarge, "the request body exceeds the 1 MiB limit")
            } else {
                ApiError::new(ErrorCode::UnreadableBody, "the request body could not be read")
            }
        })?;
        parse_json(&bytes).map(Json)
    }
}

/// Parses a JSON document into `T`: malformed JSON is a 400, JSON of the wrong shape a 422
/// whose error points at the field (`/variants/0/price`).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|err| {
        ApiError::new(
            ErrorCode::MalformedJson,
            format!("the body is not valid JSON (line {}, column {})", err.line(), err.column()),
        )
    })?;
    if let Some(pointer) = nul_at(&value, String::new()) {
        // Postgres stores no NUL character in text or JSON, and no client means one.
        return Err(ApiError::new(ErrorCode::InvalidBody, "text must not contain NUL (\\u0000)")
            .with_errors(vec![Violation {
                pointer,
                code: "invalid_character",
                message: "text must not contain NUL (\\u0000)".to_owned(),
            }]));
    }
    from_value(value)
}

/// The pointer of the first string (or key) holding a NUL character.
fn nul_at(value: &serde_json::Value, pointer: String) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(s) if s.contains('\0') => Some(pointer),
        Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, v)| nul_at(v, format!("{pointer}/{i}")))
        }
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let at = format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1"));
            if k.contains('\0') { Some(at) } else { nul_at(v, at) }
        }),
        _ => None,
    }
}

/// Reads a JSON value (e.g. a merged patch) into `T`, with the same 422 as [`parse_json`].
pub fn from_value<T: DeserializeOwned>(mut value: serde_json::Value) -> Result<T, ApiError> {
    integral_numbers_as_integers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|err| {
        let pointer = json_pointer(err.path());
        shape_error(pointer, err.inner())
    })
}

/// The largest magnitude up to which every integer is exactly a JSON (IEEE 754 double) number.
const EXACT_INTEGERS: f64 = 9_007_199_254_740_992.0;

/// Writes integral numbers sent with a fraction (`3.0`, `1e3`) as integers: JSON Schema, and
/// so the OpenAPI documents, call them integers, serde's integer fields would refuse them.
/// Only exactly representable ones (|x| ≤ 2^53); a number field reads them the same either way.
fn integral_numbers_as_integers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(x) = n.as_f64().filter(|x| x.fract() == 0.0 && x.abs() <= EXACT_INTEGERS) {
                // In range and integral (checked above), so the conversion is exact.
                #[allow(clippy::cast_possible_truncation)]
                let integer = x as i64;
                *n = serde_json::Number::from(integer);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers_as_integers),
        Value::Object(map) => map.values_mut().for_each(integral_numbers_as_integers),
        _ => {}
    }
}

/// A 422 for JSON of the wrong shape, pointing at the field (an unknown field's own path).
fn shape_error(pointer: String, err: &serde_json::Error) -> ApiError {
    let full = err.to_string();
    let message = full.split(" at line ").next().unwrap_or_default().to_owned();
    let code = if message.starts_with("unknown field") {
        "unknown_field"
    } else if message.starts_with("missing field") {
        "required"
    } else {
        "invalid_value"
    };
    ApiError::new(ErrorCode::InvalidBody, format!("the body does not fit: {message}"))
        .with_errors(vec![Violation { pointer, code, message }])
}

/// RFC 6901: `/a/0/b`, with `~` and `/` inside names escaped.
fn json_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|segment| match segment {
            Segment::Seq { index } => Some(index.to_string()),
            Segment::Map { key } => Some(key.replace('~', "~0").replace('/', "~1")),
            Segment::Enum { variant } => Some(variant.clone()),
            Segment::Unknown => None,
        })
        .fold(String::new(), |pointer, part| pointer + "/" + &part)
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Path parameters; a value of the wrong type is a 400 problem.
#[derive(Debug, Clone)]
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if parts.uri.path().contains("%00") {
            return Err(ApiError::new(ErrorCode::InvalidPathParameter, "the path holds a NUL character"));
        }
        axum::extract::Path::<T>::from_request_parts(parts, state).await.map(|p| Path(p.0)).map_err(
            |rejection: PathRejection| {
                if rejection.status().is_server_error() {
                    ApiError::internal(rejection)
                } else {
                    ApiError::new(ErrorCode::InvalidPathParameter, rejection.body_text())
                }
            },
        )
    }
}

/// The query string; unknown or ill-typed parameters are a 400 problem.
#[derive(Debug, Clone)]
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if parts.uri.query().is_some_and(|q| q.contains("%00")) {
            return Err(ApiError::new(ErrorCode::InvalidQuery, "the query holds a NUL character"));
        }
        axum::extract::Query::<T>::from_request_parts(parts, state).await.map(|q| Query(q.0)).map_err(
            |rejection: QueryRejection| ApiError::new(ErrorCode::InvalidQuery, rejection.body_text()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        name: String,
        tags: Vec<u32>,
    }

    #[test]
    fn wrong_types_point_at_the_field() {
        let err = parse_json::<Item>(br#"{"name":"a","tags":[1,"x"]}"#).unwrap_err();
        assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let response = err.into_response();
        let problem = response.extensions().get::<crate::problem::Problem>().unwrap();
        assert_eq!(problem.errors[0].pointer, "/tags/1");
    }

    #[test]
    fn nul_characters_are_refused_where_they_are() {
        let err = parse_json::<Item>(br#"{"name":"a\u0000b","tags":[]}"#).unwrap_err();
        assert_eq!(err.code(), "invalid_body");
        let response = err.into_response();
        let problem = response.extensions().get::<crate::problem::Problem>().unwrap();
        assert_eq!(problem.errors[0].pointer, "/name");
    }

    #[test]
    fn integers_written_with_a_fraction_are_integers_as_json_schema_says() {
        let item = parse_json::<Item>(br#"{"name":"a","tags":[3.0, 1e3, 0]}"#).unwrap();
        assert_eq!(item.tags, [3, 1000, 0]);
        let err = parse_json::<Item>(br#"{"name":"a","tags":[2.5]}"#).unwrap_err();
        assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let huge = parse_json::<serde_json::Value>(br#"[1e300, -0.0, 2.0]"#).unwrap();
        assert_eq!(huge, serde_json::json!([1e300, 0, 2]), "beyond 2^53 a number stays as sent");
    }

    #[test]
    fn trailing_garbage_is_malformed_json() {
        let err = parse_json::<Item>(br#"{"name":"a","tags":[]} x"#).unwrap_err();
        assert_eq!(err.code(), "malformed_json");
    }

    #[test]
    fn content_types_with_json_suffix_count_as_json() {
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
    }
}

/// The `Idempotency-Key` header of a write that may be retried: 1–255 visible ASCII
/// characters, or absent (`None`). Anything else is `400 invalid_idempotency_key`. Routes
/// that require one say so with [`IdempotencyKey::required`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(pub Option<String>);

impl IdempotencyKey {
    /// The key, or `400 invalid_idempotency_key` when the route requires one and it is absent.
    pub fn required(self) -> Result<String, ApiError> {
        self.0.ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidIdempotencyKey, "this route requires an Idempotency-Key header")
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get("idempotency-key") else { return Ok(IdempotencyKey(None)) };
        value
            .to_str()
            .ok()
            .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
            .map(|k| IdempotencyKey(Some(k.to_owned())))
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidIdempotencyKey,
                    "Idempotency-Key is 1–255 visible ASCII characters",
                )
            })
    }
}
