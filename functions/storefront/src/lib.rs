//! The storefront function: the public, read-only API a shop's frontend calls. The tenant
//! comes from the Host header or `X-Tenant-ID`; no staff token is needed.

use axum::Router;
use kassa_http::{AppState, CurrentTenant, FunctionRoutes, Json};
use serde::Serialize;

/// The function's routes, also read by the test that checks `template.yaml`.
pub fn routes() -> FunctionRoutes {
    FunctionRoutes::new("storefront").get("/storefront/tenant", tenant_profile)
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
