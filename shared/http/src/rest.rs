//! The shape every management resource shares: `ETag`/`If-Match` on versions, JSON merge
//! patch (RFC 7396), `201 Created` with `Location`, and keyset page parameters.

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::extract::{Json, from_value};
use crate::problem::ApiError;
use kassa_domain::ErrorCode;

/// The version a client based its change on, from `If-Match: "<version>"`; `None` when the
/// header is absent or `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IfMatch(pub Option<i64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else { return Ok(IfMatch(None)) };
        let value = value.to_str().unwrap_or_default().trim();
        if value == "*" {
            return Ok(IfMatch(None));
        }
        value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .and_then(|v| v.parse::<i64>().ok())
            .map(|v| IfMatch(Some(v)))
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidIfMatch,
                    "If-Match must be the ETag of the resource, e.g. \"3\"",
                )
            })
    }
}

impl IfMatch {
    /// Refuses the change when the client based it on another version than `current`.
    fn check(self, resource: &str, current: i64) -> Result<(), ApiError> {
        match self.0 {
            Some(expected) if expected != current => Err(ApiError::new(
                ErrorCode::VersionConflict,
                format!("the {resource} is at version {current}, not {expected}; fetch it and try again"),
            )
            .with_extension("current_version", current.into())),
            _ => Ok(()),
        }
    }
}

fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

/// A resource at a version: JSON body with its `ETag`.
pub fn versioned<T: Serialize>(status: StatusCode, body: &T, version: i64) -> Response {
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(header::ETAG, etag(version));
    response
}

/// `201 Created` with `Location: <collection>/<id>` and the `ETag`.
pub fn created<T: Serialize>(location: String, body: &T, version: i64) -> Response {
    let mut response = versioned(StatusCode::CREATED, body, version);
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// RFC 7396: members of `patch` replace those of `target`, `null` removes, objects merge.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(target) = target {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// The draft a `PATCH` asks for: checks `If-Match` against the resource's current version,
/// then applies the merge patch to the resource's writable fields.
pub fn patched<D: Serialize + DeserializeOwned>(
    if_match: IfMatch,
    resource: &str,
    version: i64,
    current: &D,
    patch: &Value,
) -> Result<D, ApiError> {
    if_match.check(resource, version)?;
    apply_patch(current, patch)
}

/// Applies a merge patch to the writable view of a resource and reads the result back as a
/// draft, so a patch is validated exactly like a create.
fn apply_patch<D: Serialize + DeserializeOwned>(current: &D, patch: &Value) -> Result<D, ApiError> {
    if !patch.is_object() {
        return Err(ApiError::new(
            ErrorCode::InvalidPatch,
            "a merge patch for this resource is a JSON object",
        ));
    }
    let mut merged = serde_json::to_value(current).map_err(ApiError::internal)?;
    merge_patch(&mut merged, patch);
    from_value(merged)
}

/// A refused query parameter: 400 with the reason.
pub fn query_error(violation: kassa_domain::Violation) -> ApiError {
    // Parameter parsers report violations named like the catalogue's 400 codes
    // (`invalid_cursor`, `invalid_limit`, …); any other is an `invalid_query`.
    let code = ErrorCode::parse(violation.code)
        .filter(|code| code.status() == 400)
        .unwrap_or(ErrorCode::InvalidQuery);
    ApiError::new(code, violation.message)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::merge_patch;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        // The examples of RFC 7396, appendix A.
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "b"}), json!({"b": "c"}), json!({"a": "b", "b": "c"})),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (json!({"a": "b", "b": "c"}), json!({"a": null}), json!({"b": "c"})),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (json!({"a": {"b": "c"}}), json!({"a": {"b": "d", "c": null}}), json!({"a": {"b": "d"}})),
            (json!({"a": [{"b": "c"}]}), json!({"a": [1]}), json!({"a": [1]})),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a": "b"}), json!(["c"]), json!(["c"])),
            (json!({"a": "foo"}), json!(null), json!(null)),
            (json!({"e": null}), json!({"a": 1}), json!({"e": null, "a": 1})),
            (json!([1, 2]), json!({"a": "b", "c": null}), json!({"a": "b"})),
            (json!({}), json!({"a": {"bb": {"ccc": null}}}), json!({"a": {"bb": {}}})),
        ];
        for (mut target, patch, expected) in cases {
            merge_patch(&mut target, &patch);
            assert_eq!(target, expected, "patch {patch}");
        }
    }
}
