//! `GET /storefront/openapi.json`: the OpenAPI 3.1 description of the storefront, generated
//! from the same route table as the router.

use std::sync::OnceLock;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use utoipa::openapi::OpenApi;

const DESCRIPTION: &str = "The public API of a Kassa shop, for its storefront. No token is needed to read: \
the shop is named by `X-Tenant-ID` (its id or handle) or by calling the API on one of the shop's domains. \
Shoppers sign up and sign in under `/storefront/customers`; with their access token \
(`Authorization: Bearer …`) product reads are priced and filtered for their customer groups and answered \
`Cache-Control: private`. \
Carts live under `/storefront/carts`: an anonymous cart is opened by the `Cart-Token` its creation answered \
with, a customer's by their access token; prices and taxes are computed by the server on every answer. \
Product reads carry a strong `ETag` (send it as `If-None-Match` for a `304`), `Cache-Control`, `Content-Language` \
(the locale chosen from `?locale=` or `Accept-Language`) and `X-Cache: hit|miss|bypass`. \
Errors are RFC 9457 problem documents with a stable `code`.";

/// The storefront's OpenAPI document.
pub fn document() -> OpenApi {
    kassa_http::openapi::document(
        &[
            crate::routes(),
            kassa_customers::routes().filter(|r| r.gate == kassa_http::Gate::Tenant),
            kassa_checkout::routes().filter(|r| r.gate == kassa_http::Gate::Tenant),
            kassa_carts::routes(),
        ],
        "Kassa storefront API",
        DESCRIPTION,
    )
}

/// `GET /storefront/openapi.json`: the document, built once per process.
pub async fn openapi_json() -> Response {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let json = DOCUMENT.get_or_init(|| document().to_json().unwrap_or_default());
    let mut response = json.clone().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
