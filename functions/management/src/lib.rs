//! The management function: the signed-in staff member's session (`GET /management/me`)
//! and the OpenAPI description of the whole management API (generated ahead of time into
//! `openapi.json`, so this function links no other function).

use std::collections::BTreeSet;

use axum::Router;
use axum::response::Response;
use kassa_domain::access::{Action, Role};
use kassa_http::openapi::{Doc, schema};
use kassa_http::{Access, AppState, FunctionRoutes, Json, Staff, Verb};
use serde::Serialize;

/// The function's routes, also read by the template and OpenAPI tests.
pub fn routes() -> FunctionRoutes {
    FunctionRoutes::new("management")
        .staff(
            Verb::Get,
            "/management/me",
            Access::Member,
            Doc::new("getMe", "The caller, the shop, their roles there and the actions those permit")
                .returns(200, schema::<Me>),
            me,
        )
        .open_get("/management/openapi.json", openapi_json)
}

pub fn router(state: AppState) -> Router {
    routes().into_router(state)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub user_id: String,
    pub home_org_id: Option<String>,
    pub tenant: MeTenant,
    pub roles: BTreeSet<Role>,
    pub actions: BTreeSet<Action>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
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

/// `GET /management/openapi.json`: the OpenAPI 3.1 document of every management route,
/// generated from the route tables by `kassa_cli::openapi` (a test keeps the file current).
pub async fn openapi_json() -> Response {
    kassa_http::openapi::serve_document(include_str!("../openapi.json"))
}
