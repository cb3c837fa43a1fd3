//! The one extractor of every list route's query: `limit` and `cursor` (bounded, the cursor
//! decoded later for the list's ordering), the route's own filters as a serde-typed struct
//! `F` (documented in OpenAPI from the same type through utoipa's `IntoParams`), and
//! `attr[name]=value` filters for the routes that take them.
//!
//! Rules, the same on every list: an unknown parameter, or one given twice (but `attr[…]`
//! and the filters a route declares repeatable, whose values add up), is `400
//! invalid_query`; a value that does not parse is a 400 whose code names the parameter
//! (`invalid_limit`, `invalid_sort`, `invalid_order`, `invalid_status`, …). Enums are
//! parsed by serde (`rename_all = "snake_case"`), the one way to read an enum from text.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::FromRequestParts;
use http::request::Parts;
use kassa_domain::ErrorCode;
use kassa_domain::pagination::{self, Cursor, KeyKind};
use kassa_domain::tenant::Tenant;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterIn};

use crate::problem::ApiError;
use crate::rest::query_error;

/// The longest attribute name or value in an `attr[…]` filter.
pub const MAX_ATTRIBUTE_TEXT: usize = 100;

/// What a list route declares about its own query parameters.
pub trait ListFilters: DeserializeOwned + IntoParams {
    /// Whether the route takes `attr[name]=value` filters.
    const ATTRIBUTES: bool = false;
    /// Parameters that may be given more than once; their values are joined with commas.
    const REPEATABLE: &'static [&'static str] = &[];

    /// The problem code for a value of `parameter` that does not parse.
    fn code_for(parameter: &str) -> ErrorCode {
        match parameter {
            "sort" => ErrorCode::InvalidSort,
            "order" => ErrorCode::InvalidOrder,
            "status" => ErrorCode::InvalidStatus,
            "workflow_id" => ErrorCode::InvalidWorkflowId,
            _ => ErrorCode::InvalidQuery,
        }
    }
}

/// A list without filters of its own (`limit` and `cursor` only).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NoFilters {}

impl ListFilters for NoFilters {}

/// `limit` and `cursor`, documented once for every list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size, 1–100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The OpenAPI parameters of a list with filters `F`: `limit`, `cursor`, then `F`'s.
pub fn params<F: ListFilters>() -> Vec<Parameter> {
    let mut all = PageParams::into_params(|| Some(ParameterIn::Query));
    all.extend(F::into_params(|| Some(ParameterIn::Query)));
    all
}

/// A list request: page size, the raw cursor, the route's filters and `attr[…]` filters.
#[derive(Debug)]
pub struct ListQuery<F> {
    pub limit: i64,
    cursor: Option<String>,
    pub filters: F,
    /// Attribute → any of these values (empty filters dropped).
    pub attributes: BTreeMap<String, BTreeSet<String>>,
}

impl<F> ListQuery<F> {
    /// The cursor, which must be one `tenant`'s list handed out for `ordering`, with a sort
    /// key of `kind`.
    pub fn cursor(&self, tenant: &Tenant, ordering: &str, kind: KeyKind) -> Result<Option<Cursor>, ApiError> {
        self.cursor
            .as_deref()
            .map(|raw| Cursor::decode(raw, ordering, tenant.id, kind))
            .transpose()
            .map_err(query_error)
    }
}

fn invalid(code: ErrorCode, message: String) -> ApiError {
    ApiError::new(code, message)
}

/// Parses a decoded query string (`key`, `value` pairs) by the rules above.
pub fn parse<F: ListFilters>(pairs: Vec<(String, String)>) -> Result<ListQuery<F>, ApiError> {
    let mut single: BTreeMap<String, String> = BTreeMap::new();
    let mut repeated: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut attributes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (key, value) in pairs {
        if let Some(name) = key.strip_prefix("attr[").and_then(|k| k.strip_suffix(']')) {
            if !F::ATTRIBUTES || name.is_empty() {
                return Err(invalid(ErrorCode::InvalidQuery, format!("unknown query parameter '{key}'")));
            }
            if name.chars().count() > MAX_ATTRIBUTE_TEXT {
                return Err(invalid(
                    ErrorCode::InvalidQuery,
                    format!("attribute names are at most {MAX_ATTRIBUTE_TEXT} characters"),
                ));
            }
            let values = attributes.entry(name.to_owned()).or_default();
            for value in value.split(',').filter(|v| !v.is_empty()) {
                if value.chars().count() > MAX_ATTRIBUTE_TEXT {
                    return Err(invalid(
                        ErrorCode::InvalidQuery,
                        format!("{key}: attribute values are at most {MAX_ATTRIBUTE_TEXT} characters"),
                    ));
                }
                values.insert(value.to_owned());
            }
        } else if F::REPEATABLE.contains(&key.as_str()) {
            repeated.entry(key).or_default().push(value);
        } else if single.insert(key.clone(), value).is_some() {
            return Err(invalid(
                ErrorCode::InvalidQuery,
                format!("the query parameter '{key}' is given twice"),
            ));
        }
    }
    attributes.retain(|_, values| !values.is_empty());
    let limit = match single.remove("limit") {
        None => None,
        Some(raw) => Some(raw.parse::<i64>().map_err(|_| {
            invalid(ErrorCode::InvalidLimit, format!("limit must be between 1 and {}", pagination::MAX_LIMIT))
        })?),
    };
    let limit = pagination::limit(limit).map_err(query_error)?;
    let cursor = single.remove("cursor");
    for (key, values) in repeated {
        single.insert(key, values.join(","));
    }
    let encoded = serde_urlencoded::to_string(&single)
        .map_err(|err| ApiError::internal(anyhow::anyhow!("re-encoding a query: {err}")))?;
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
    let filters: F = serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let parameter = err.path().to_string();
        let inner = err.into_inner().to_string();
        if let Some(unknown) = inner.strip_prefix("unknown field `").and_then(|r| r.split('`').next()) {
            return invalid(ErrorCode::InvalidQuery, format!("unknown query parameter '{unknown}'"));
        }
        invalid(F::code_for(&parameter), format!("{parameter}: {inner}"))
    })?;
    Ok(ListQuery { limit, cursor, filters, attributes })
}

impl<S: Send + Sync, F: ListFilters> FromRequestParts<S> for ListQuery<F> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        if query.contains("%00") {
            // Postgres stores no NUL character, and no client means one.
            return Err(invalid(ErrorCode::InvalidQuery, "the query must not contain NUL (%00)".to_owned()));
        }
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        parse(pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, IntoParams, PartialEq)]
    #[serde(deny_unknown_fields)]
    #[into_params(parameter_in = Query)]
    struct Filters {
        status: Option<Status>,
        q: Option<String>,
        facets: Option<String>,
    }

    #[derive(Debug, Deserialize, PartialEq, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    enum Status {
        Draft,
        Active,
    }

    impl ListFilters for Filters {
        const ATTRIBUTES: bool = true;
        const REPEATABLE: &'static [&'static str] = &["facets"];
    }

    fn pairs(raw: &[(&str, &str)]) -> Vec<(String, String)> {
        raw.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn code(raw: &[(&str, &str)]) -> String {
        parse::<Filters>(pairs(raw)).unwrap_err().code().to_owned()
    }

    #[test]
    fn a_list_query_is_typed_bounded_and_refuses_what_it_does_not_know() {
        let list = parse::<Filters>(pairs(&[
            ("limit", "5"),
            ("status", "active"),
            ("attr[color]", "red,blue"),
            ("attr[color]", "red"),
            ("facets", "a"),
            ("facets", "b"),
        ]))
        .unwrap();
        assert_eq!(list.limit, 5);
        assert_eq!(
            list.filters,
            Filters { status: Some(Status::Active), q: None, facets: Some("a,b".into()) }
        );
        assert_eq!(list.attributes["color"], BTreeSet::from(["blue".to_owned(), "red".to_owned()]));
        assert_eq!(parse::<Filters>(vec![]).unwrap().limit, pagination::DEFAULT_LIMIT);

        assert_eq!(code(&[("limit", "0")]), "invalid_limit");
        assert_eq!(code(&[("limit", "x")]), "invalid_limit");
        assert_eq!(code(&[("limit", "99999999999999999999")]), "invalid_limit");
        assert_eq!(code(&[("status", "gone")]), "invalid_status");
        assert_eq!(code(&[("nope", "1")]), "invalid_query");
        assert_eq!(code(&[("q", "a"), ("q", "b")]), "invalid_query");
        assert_eq!(code(&[("attr[]", "x")]), "invalid_query");
        assert!(parse::<NoFilters>(pairs(&[("attr[color]", "red")])).is_err());
        assert!(parse::<NoFilters>(pairs(&[("limit", "3"), ("cursor", "abc")])).is_ok());
    }
}
