//! Cross-origin requests from browsers. The storefront is a public API that a shop's own
//! site calls from its own domain: any origin may read it (no cookies are involved; a
//! shopper's token travels in `Authorization`). `/management` answers only the admin's
//! origins (`ADMIN_ORIGINS`), so a page elsewhere cannot drive it with a token it got hold of.
//! Preflights are answered here, before any route's own checks.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method, header, request::Parts};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::Config;

/// Request headers a browser may send cross-origin.
const ALLOWED_HEADERS: [HeaderName; 8] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    header::IF_MATCH,
    header::IF_NONE_MATCH,
    header::ACCEPT_LANGUAGE,
    HeaderName::from_static("idempotency-key"),
    HeaderName::from_static("x-tenant-id"),
    HeaderName::from_static("cart-token"),
];

/// Response headers a page may read.
const EXPOSED_HEADERS: [HeaderName; 4] =
    [header::ETAG, header::LOCATION, header::RETRY_AFTER, HeaderName::from_static("x-request-id")];

/// The CORS layer of every function's router.
pub fn layer(config: &Config) -> CorsLayer {
    let admin: Vec<HeaderValue> =
        config.admin_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin: &HeaderValue, request: &Parts| {
            allowed(&admin, origin, request.uri.path())
        }))
        .allow_methods([Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers(ALLOWED_HEADERS)
        .expose_headers(EXPOSED_HEADERS)
        .max_age(Duration::from_secs(600))
        .vary([header::ORIGIN, header::ACCESS_CONTROL_REQUEST_METHOD, header::ACCESS_CONTROL_REQUEST_HEADERS])
}

/// Whether `origin` may call `path`: the storefront from anywhere, everything else from the
/// admin's origins only.
fn allowed(admin: &[HeaderValue], origin: &HeaderValue, path: &str) -> bool {
    path == "/storefront" || path.starts_with("/storefront/") || admin.contains(origin)
}
