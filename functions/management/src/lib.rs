//! The management function: the signed-in staff member's session (`GET /management/me`)
//! and the OpenAPI description of the whole management API.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use axum::Router;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use kassa_domain::access::{Action, Role};
use kassa_http::openapi::{Doc, document, schema};
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

const DESCRIPTION: &str = "The staff API of Kassa, a multi-tenant headless commerce platform. \
Every operation needs a Zitadel access token (`Authorization: Bearer …`) of a user holding a role in the shop's \
Zitadel organisation, and names the shop by `X-Tenant-ID` (its id or handle) or by calling it on one of its domains. \
Writes return the resource's version as a strong `ETag`; send it back as `If-Match` to update only that version. \
Errors are RFC 9457 problem documents with a stable `code`.";

/// Every function whose routes are in the management API.
pub fn management_functions() -> Vec<FunctionRoutes> {
    let staff_customers = kassa_customers::routes().filter(|r| matches!(r.gate, kassa_http::Gate::Staff(_)));
    vec![
        kassa_products::routes(),
        kassa_pricing::routes(),
        kassa_workflows::routes(),
        staff_customers,
        kassa_checkout::routes().filter(|r| matches!(r.gate, kassa_http::Gate::Staff(_))),
        kassa_pages::routes(),
        routes(),
    ]
}

/// `GET /management/openapi.json`: the OpenAPI 3.1 document, built once per process.
pub async fn openapi_json() -> Response {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let json = DOCUMENT.get_or_init(|| {
        let doc = document(&management_functions(), "Kassa management API", DESCRIPTION);
        doc.to_json().unwrap_or_default()
    });
    let mut response = json.clone().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
