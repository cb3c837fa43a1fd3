//! The storefront function: the public, read-only API a shop's frontend calls. The tenant
//! comes from the Host header or `X-Tenant-ID`; no staff token is needed. Product reads are
//! answered from the Valkey response cache when they can be, with HTTP caching headers.

pub mod shop;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use http::HeaderMap;
use kassa_domain::storefront;
use kassa_http::cache::Cached;
use kassa_http::{ApiError, AppState, CurrentTenant, FunctionRoutes, Json, Path, Query};
use serde::Serialize;

use crate::shop::{ShopRequest, respond};

/// The function's routes, also read by the test that checks `template.yaml`.
pub fn routes() -> FunctionRoutes {
    FunctionRoutes::new("storefront")
        .get("/storefront/tenant", tenant_profile)
        .get("/storefront/products", list_products)
        .get("/storefront/products/{handle}", product)
}

pub fn router(state: AppState) -> Router {
    routes().into_router(state)
}

/// What a shop shows the public about itself.
#[derive(Debug, Serialize)]
pub struct TenantProfile {
    pub id: String,
    pub handle: String,
    pub name: String,
    pub default_locale: String,
    pub locales: Vec<String>,
    pub default_currency: String,
}

pub async fn tenant_profile(CurrentTenant(tenant): CurrentTenant) -> Json<TenantProfile> {
    Json(TenantProfile {
        id: tenant.id.to_string(),
        handle: tenant.handle.clone(),
        name: tenant.name.clone(),
        default_locale: tenant.default_locale.clone(),
        locales: tenant.locales.clone(),
        default_currency: tenant.default_currency.clone(),
    })
}

const LIST_PARAMS: &[&str] = &["limit", "cursor", "sort", "price_min", "price_max", "q", "facets"];

/// `GET /storefront/products`: a page of active products, with facets on request.
pub async fn list_products(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let request = ShopRequest::parse(&tenant, &headers, params, LIST_PARAMS, true)?;
    let (cached, lookup) = state
        .cache
        .fetch(tenant.id, &request.cache_key("products"), || async {
            let audience = request.audience(&state.db, &tenant).await?;
            let query = request.list_query(&audience)?;
            let page = storefront::list(&state.db, &tenant, &audience, &query).await?;
            Cached::json(&page, &audience.locale)
        })
        .await?;
    Ok(respond(&tenant, &headers, cached, lookup))
}

/// `GET /storefront/products/{handle}`: a product page with its variants.
pub async fn product(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(handle): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let request = ShopRequest::parse(&tenant, &headers, params, &[], false)?;
    let (cached, lookup) = state
        .cache
        .fetch(tenant.id, &request.cache_key(&format!("products/{handle}")), || async {
            let audience = request.audience(&state.db, &tenant).await?;
            let product = storefront::product(&state.db, &tenant, &audience, &handle).await?;
            Cached::json(&product, &audience.locale)
        })
        .await?;
    Ok(respond(&tenant, &headers, cached, lookup))
}
