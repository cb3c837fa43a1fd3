//! The local platform: every function's router merged into one app, plus the operator
//! commands behind the `kassa` binary.

pub mod bench_relay;
pub mod bench_seed;
pub mod bench_workflows;
pub mod catalog_seed;
pub mod media_seed;
pub mod openapi;
pub mod seed;

use axum::Router;
use kassa_http::{AppState, FunctionRoutes};

/// Every deployed function. `kassa serve` merges them; the template test checks each one's
/// routes against `template.yaml`.
pub fn functions() -> Vec<FunctionRoutes> {
    vec![
        kassa_storefront::routes(),
        kassa_management::routes(),
        kassa_products::routes(),
        kassa_pricing::routes(),
        kassa_workflows::routes(),
        kassa_carts::routes(),
        kassa_customers::routes(),
        kassa_mollie_webhook::routes(),
        kassa_checkout::routes(),
        kassa_pages::routes(),
    ]
}

/// The whole platform's routes: `/health`, `/ready` and every function's. `kassa serve`
/// wraps them in the same stack ([`kassa_http::app`]) the functions have in Lambda.
pub fn local_routes(state: AppState) -> Router {
    functions().into_iter().fold(kassa_http::ops::router(state.clone()), |router, function| {
        router.merge(function.into_router(state.clone()))
    })
}
