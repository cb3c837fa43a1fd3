//! The management function: what the signed-in staff member may do in a shop. The admin UI
//! asks it first; every other management function follows the same gate.

use std::collections::BTreeSet;

use axum::Router;
use kassa_domain::access::{Action, Role};
use kassa_http::{Access, AppState, FunctionRoutes, Json, Staff};
use serde::Serialize;

/// The function's routes, also read by the test that checks `template.yaml`.
pub fn routes() -> FunctionRoutes {
    FunctionRoutes::new("management").staff_get("/management/me", Access::Member, me)
}

pub fn router(state: AppState) -> Router {
    routes().into_router(state)
}

#[derive(Debug, Serialize)]
pub struct Me {
    pub user_id: String,
    pub home_org_id: Option<String>,
    pub tenant: MeTenant,
    pub roles: BTreeSet<Role>,
    pub actions: BTreeSet<Action>,
}

#[derive(Debug, Serialize)]
pub struct MeTenant {
    pub id: String,
    pub handle: String,
    pub name: String,
}

/// `GET /management/me`: the caller, the shop, their roles there and what those allow.
pub async fn me(staff: Staff) -> Json<Me> {
    Json(Me {
        user_id: staff.user.user_id.clone(),
        home_org_id: staff.user.home_org_id.clone(),
        tenant: MeTenant {
            id: staff.tenant.id.to_string(),
            handle: staff.tenant.handle.clone(),
            name: staff.tenant.name.clone(),
        },
        roles: staff.roles,
        actions: staff.actions,
    })
}
