//! `GET /storefront/openapi.json`: the OpenAPI 3.1 description of the storefront (this
//! function's routes and the public routes of customers, carts and checkout), generated from
//! their route tables by `kassa_cli::openapi` into `openapi.json` (a test keeps the file
//! current), so this function links none of the others.

use axum::response::Response;

pub async fn openapi_json() -> Response {
    kassa_http::openapi::serve_document(include_str!("../openapi.json"))
}
