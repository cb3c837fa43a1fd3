//! The two OpenAPI documents, generated from the route tables of the functions they describe
//! and committed as `functions/management/openapi.json` and
//! `functions/storefront/openapi.json`. Those functions serve the files as built into them,
//! so neither links the other functions (their handlers, schemas and SDKs) just to describe
//! them. `tests/openapi_documents.rs` fails when a committed file is stale;
//! `KASSA_WRITE_OPENAPI=1 cargo test -p kassa-cli --test openapi_documents` rewrites them.

use kassa_http::openapi::document;
use kassa_http::{FunctionRoutes, Gate};
use utoipa::openapi::OpenApi;

/// Where each document is committed, from the workspace root.
pub const MANAGEMENT_FILE: &str = "functions/management/openapi.json";
pub const STOREFRONT_FILE: &str = "functions/storefront/openapi.json";

const MANAGEMENT_DESCRIPTION: &str = "The staff API of Kassa, a multi-tenant headless commerce platform. \
Every operation needs a Zitadel access token (`Authorization: Bearer …`) of a user holding a role in the shop's \
Zitadel organisation, and names the shop by `X-Tenant-ID` (its id or handle) or by calling it on one of its domains. \
Writes return the resource's version as a strong `ETag`; send it back as `If-Match` to update only that version. \
Errors are RFC 9457 problem documents with a stable `code`.";

const STOREFRONT_DESCRIPTION: &str = "The public API of a Kassa shop, for its storefront. No token is needed to read: \
the shop is named by `X-Tenant-ID` (its id or handle) or by calling the API on one of the shop's domains. \
Shoppers sign up and sign in under `/storefront/customers`; with their access token \
(`Authorization: Bearer …`) product reads are priced and filtered for their customer groups and answered \
`Cache-Control: private`. \
Carts live under `/storefront/carts`: an anonymous cart is opened by the `Cart-Token` its creation answered \
with, a customer's by their access token; prices and taxes are computed by the server on every answer. \
Product reads carry a strong `ETag` (send it as `If-None-Match` for a `304`), `Cache-Control`, `Content-Language` \
(the locale chosen from `?locale=` or `Accept-Language`) and `X-Cache: hit|miss|bypass`. \
Errors are RFC 9457 problem documents with a stable `code`.";

fn staff_only(routes: FunctionRoutes) -> FunctionRoutes {
    routes.filter(|r| matches!(r.gate, Gate::Staff(_)))
}

fn public_only(routes: FunctionRoutes) -> FunctionRoutes {
    routes.filter(|r| r.gate == Gate::Tenant)
}

/// Every function with routes in the management API, its staff routes only.
pub fn management_functions() -> Vec<FunctionRoutes> {
    vec![
        kassa_products::routes(),
        kassa_pricing::routes(),
        kassa_workflows::routes(),
        staff_only(kassa_customers::routes()),
        staff_only(kassa_checkout::routes()),
        kassa_pages::routes(),
        kassa_management::routes(),
    ]
}

/// Every function with routes in the storefront API, its public (tenant) routes only.
pub fn storefront_functions() -> Vec<FunctionRoutes> {
    vec![
        kassa_storefront::routes(),
        public_only(kassa_customers::routes()),
        public_only(kassa_checkout::routes()),
        kassa_carts::routes(),
    ]
}

pub fn management() -> OpenApi {
    document(&management_functions(), "Kassa management API", MANAGEMENT_DESCRIPTION)
}

pub fn storefront() -> OpenApi {
    document(&storefront_functions(), "Kassa storefront API", STOREFRONT_DESCRIPTION)
}

/// (committed file, its content as generated now) for both documents.
pub fn files() -> Result<[(&'static str, String); 2], serde_json::Error> {
    let pretty = |doc: OpenApi| doc.to_pretty_json().map(|json| json + "\n");
    Ok([(MANAGEMENT_FILE, pretty(management())?), (STOREFRONT_FILE, pretty(storefront())?)])
}
