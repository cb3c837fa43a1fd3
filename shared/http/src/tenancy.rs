//! Which tenant a request is for: `X-Tenant-ID` (id or handle) or the `Host` header through
//! the tenants' domains, cached in-process for a short time.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::request::Parts;
use http::{HeaderMap, header};
use kassa_domain::tenant::{Hostname, Tenant, TenantKey};
use sqlx::PgPool;

use crate::problem::ApiError;
use crate::state::AppState;
use kassa_domain::ErrorCode;

pub const TENANT_HEADER: &str = "x-tenant-id";

pub use kassa_runtime::tenants::{TenantResolver, UNKNOWN_CAPACITY};

/// The request's tenant, from its headers, or why there is none.
pub trait TenantsForRequests {
    /// Finds the request's tenant from its headers, or says why there is none.
    fn for_request(
        &self,
        pool: &PgPool,
        headers: &HeaderMap,
    ) -> impl Future<Output = Result<Arc<Tenant>, ApiError>> + Send;
}

impl TenantsForRequests for TenantResolver {
    async fn for_request(&self, pool: &PgPool, headers: &HeaderMap) -> Result<Arc<Tenant>, ApiError> {
        let by_header = match headers.get(TENANT_HEADER) {
            None => None,
            Some(value) => {
                let value =
                    value.to_str().ok().map(str::trim).filter(|v| !v.is_empty()).ok_or_else(|| {
                        ApiError::new(
                            ErrorCode::InvalidTenantHeader,
                            "X-Tenant-ID must be a tenant id or handle",
                        )
                    })?;
                let tenant = self.resolve(pool, &TenantKey::from_header(value)).await?.ok_or_else(|| {
                    ApiError::new(ErrorCode::TenantNotFound, format!("no tenant '{value}' exists"))
                })?;
                Some(tenant)
            }
        };
        // A Host that is no shop's domain (the API's own hostname, localhost) names no tenant.
        let host =
            headers.get(header::HOST).and_then(|v| v.to_str().ok()).and_then(Hostname::from_host_header);
        let by_host = match host {
            Some(host) => self.resolve(pool, &TenantKey::Hostname(host)).await?,
            None => None,
        };
        match (by_header, by_host) {
            (Some(header), Some(host)) if header.id != host.id => Err(ApiError::new(
                ErrorCode::TenantMismatch,
                format!(
                    "X-Tenant-ID names tenant '{}' but the Host belongs to another tenant",
                    header.handle
                ),
            )),
            (Some(tenant), _) | (None, Some(tenant)) => Ok(tenant),
            (None, None) => Err(ApiError::new(
                ErrorCode::TenantRequired,
                "name the shop with an X-Tenant-ID header (id or handle) or call it on one of its domains",
            )),
        }
    }
}

/// Middleware for tenant routes: resolves the tenant, records it on the request span and
/// hands it to handlers through [`CurrentTenant`].
pub async fn resolve_tenant(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let tenant = state.tenants.for_request(&state.db, request.headers()).await?;
    attach_tenant(&mut request, tenant);
    Ok(next.run(request).await)
}

/// Hands the request's tenant to handlers and records it on the request span.
pub fn attach_tenant(request: &mut Request, tenant: Arc<Tenant>) {
    tracing::Span::current().record("tenant_id", tracing::field::display(tenant.id));
    request.extensions_mut().insert(CurrentTenant(tenant));
}

/// The tenant of the request, resolved by [`resolve_tenant`].
#[derive(Debug, Clone)]
pub struct CurrentTenant(pub Arc<Tenant>);

impl<S: Send + Sync> FromRequestParts<S> for CurrentTenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts.extensions.get::<CurrentTenant>().cloned().ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!("CurrentTenant used on a route without tenant resolution"))
        })
    }
}
