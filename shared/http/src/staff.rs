//! The gate of every management route: authenticate the caller (401), resolve the tenant
//! (400/404), then authorise the caller in that tenant (403) — all before the handler runs.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::request::Parts;
use kassa_domain::access::{Action, Role, actions_of};
use kassa_domain::tenant::Tenant;

use crate::auth::CurrentUser;
use crate::problem::ApiError;
use crate::state::AppState;
use crate::tenancy::{TenantsForRequests, attach_tenant};
use kassa_domain::ErrorCode;

/// What a staff route requires of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Any Kassa role in the tenant's organisation.
    Member,
    /// A role in the tenant's organisation that permits this action.
    Allowed(Action),
}

/// A staff member acting on a tenant, handed to management handlers.
#[derive(Debug, Clone)]
pub struct Staff {
    pub user: Arc<CurrentUser>,
    pub tenant: Arc<Tenant>,
    /// The user's roles in this tenant's organisation.
    pub roles: BTreeSet<Role>,
    /// Everything those roles permit here.
    pub actions: BTreeSet<Action>,
}

/// Decides whether `user` may act on `tenant` as `access` requires. Only roles granted in
/// the tenant's own organisation count — wherever the user's home organisation is.
pub fn authorize(user: CurrentUser, tenant: Arc<Tenant>, access: Access) -> Result<Staff, ApiError> {
    let mut roles = tenant.zitadel_org_id.as_deref().map(|org| user.roles_in(org)).unwrap_or_default();
    // Operating the platform is no role in a shop.
    roles.remove(&Role::PlatformAdmin);
    if roles.is_empty() {
        return Err(ApiError::new(
            ErrorCode::TenantAccessDenied,
            format!("you hold no role in shop '{}'", tenant.handle),
        ));
    }
    let actions = actions_of(&roles);
    if let Access::Allowed(action) = access
        && !actions.contains(&action)
    {
        return Err(ApiError::new(
            ErrorCode::InsufficientRole,
            format!(
                "this needs permission '{action}', which your roles in shop '{}' do not grant",
                tenant.handle
            ),
        ));
    }
    Ok(Staff { user: Arc::new(user), tenant, roles, actions })
}

/// Middleware for staff routes (see the module docs for the order of checks). Writes that
/// change what the storefront shows bump the catalog version themselves, where they happen.
pub async fn staff_gate(
    State((state, access)): State<(AppState, Access)>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let user = state.auth.authenticate(request.headers()).await?;
    tracing::Span::current().record("user_id", user.user_id.as_str());
    let tenant = state.tenants.for_request(&state.db, request.headers()).await?;
    attach_tenant(&mut request, tenant.clone());
    let staff = authorize(user, tenant.clone(), access)?;
    request.extensions_mut().insert(staff);
    Ok(next.run(request).await)
}

impl<S: Send + Sync> FromRequestParts<S> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts.extensions.get::<Staff>().cloned().ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!("Staff used on a route without the staff gate"))
        })
    }
}
