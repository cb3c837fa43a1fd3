//! The workflows function: tenant workflows (CRUD), their runs (list, detail with every
//! step attempt, retry), the step-type registry, manual orders and tax rates. The runs
//! themselves execute in the worker-engine function.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use kassa_domain::ErrorCode;
use kassa_domain::access::Action;
use kassa_domain::orders::{self, Order, OrderDraft, OrderStatus, Placed};
use kassa_domain::pagination::{self, Cursor, KeyKind, Page};
use kassa_domain::taxes::TaxRate;
use kassa_domain::tenant::Tenant;
use kassa_domain::workflows::{self, Run, RunDetail, RunFilter, RunStatus, STEP_TYPES, Workflow};
use kassa_http::crud::CrudDocs;
use kassa_http::openapi::{Doc, QueryParam, page, schema};
use kassa_http::rest::{created, query_error};
use kassa_http::{Access, ApiError, AppState, FunctionRoutes, Json, Path, Query, Staff, Verb};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

const WORKFLOWS: (Access, Access) =
    (Access::Allowed(Action::WorkflowsRead), Access::Allowed(Action::WorkflowsWrite));
const TAX_RATES: (Access, Access) =
    (Access::Allowed(Action::SettingsRead), Access::Allowed(Action::SettingsWrite));
const ORDERS_READ: Access = Access::Allowed(Action::OrdersRead);
const ORDERS_WRITE: Access = Access::Allowed(Action::OrdersWrite);

const LIMIT: QueryParam =
    QueryParam { name: "limit", description: "page size, 1–100 (default 25)", integer: true };
const CURSOR: QueryParam =
    QueryParam { name: "cursor", description: "the next_cursor of the previous page", integer: false };
const RUN_PARAMS: &[QueryParam] = &[
    LIMIT,
    CURSOR,
    QueryParam { name: "workflow_id", description: "only this workflow's runs", integer: false },
    QueryParam {
        name: "status",
        description: "running, retrying, succeeded, stopped or failed",
        integer: false,
    },
];
const ORDER_PARAMS: &[QueryParam] = &[
    LIMIT,
    CURSOR,
    QueryParam {
        name: "status",
        description: "placed, needs_attention, processing, completed or cancelled",
        integer: false,
    },
];

/// The function's routes, also read by the template and OpenAPI tests.
pub fn routes() -> FunctionRoutes {
    use Verb::{Get, Post};
    let (workflows_read, workflows_write) = WORKFLOWS;
    FunctionRoutes::new("workflows")
        .crud::<Workflow>(
            "/management/workflows",
            "/management/workflows/{id}",
            WORKFLOWS,
            CrudDocs {
                list: ("listWorkflows", "List workflows with their trigger event type"),
                create: ("createWorkflow", "Create a workflow: trigger, conditions and steps"),
                get: ("getWorkflow", "Get a workflow"),
                update: (
                    "updateWorkflow",
                    "Update a workflow (JSON merge patch); running runs keep their steps",
                ),
                delete: ("deleteWorkflow", "Delete a workflow and its runs"),
            },
        )
        .staff(
            Get,
            "/management/workflow-step-types",
            workflows_read,
            Doc::new("listWorkflowStepTypes", "The step types workflows can use, with their config schemas")
                .returns(200, schema::<StepTypes>),
            step_types,
        )
        .staff(
            Get,
            "/management/workflow-runs",
            workflows_read,
            Doc::new("listWorkflowRuns", "List workflow runs, newest first")
                .query(RUN_PARAMS)
                .returns(200, page::<Run>),
            list_runs,
        )
        .staff(
            Get,
            "/management/workflow-runs/{id}",
            workflows_read,
            Doc::new("getWorkflowRun", "A run with its event and every attempt of every step")
                .returns(200, schema::<RunDetail>),
            get_run,
        )
        .staff(
            Post,
            "/management/workflow-runs/{id}/retry",
            workflows_write,
            Doc::new("retryWorkflowRun", "Resume a failed or stopped run at that step")
                .returns(202, schema::<Run>),
            retry_run,
        )
        .crud::<TaxRate>(
            "/management/tax-rates",
            "/management/tax-rates/{id}",
            TAX_RATES,
            CrudDocs {
                list: ("listTaxRates", "List tax rates (country × tax class)"),
                create: ("createTaxRate", "Add a tax rate"),
                get: ("getTaxRate", "Get a tax rate"),
                update: ("updateTaxRate", "Update a tax rate (JSON merge patch)"),
                delete: ("deleteTaxRate", "Delete a tax rate"),
            },
        )
        .staff(
            Get,
            "/management/orders",
            ORDERS_READ,
            Doc::new("listOrders", "List orders, newest first")
                .query(ORDER_PARAMS)
                .returns(200, page::<Order>),
            list_orders,
        )
        .staff(
            Post,
            "/management/orders",
            ORDERS_WRITE,
            Doc::new(
                "placeOrder",
                "Place a manual order (emits order.placed); send an Idempotency-Key to retry safely",
            )
            .body(schema::<OrderDraft>)
            .returns(201, schema::<Order>),
            place_order,
        )
        .staff(
            Get,
            "/management/orders/{id}",
            ORDERS_READ,
            Doc::new("getOrder", "Get an order with its lines").returns(200, schema::<Order>),
            get_order,
        )
}

pub fn router(state: AppState) -> Router {
    routes().into_router(state)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StepTypes {
    pub items: Vec<StepType>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StepType {
    #[serde(rename = "type")]
    pub step_type: &'static str,
    pub description: &'static str,
    /// JSON Schema of the step's `config`.
    #[schema(value_type = Object)]
    pub config_schema: Value,
}

async fn step_types(_staff: Staff) -> Json<StepTypes> {
    let items = STEP_TYPES
        .iter()
        .map(|(step_type, description)| StepType {
            step_type,
            description,
            config_schema: workflows::config_schema(step_type)
                .and_then(|schema| serde_json::to_value(schema).ok())
                .unwrap_or_default(),
        })
        .collect();
    Json(StepTypes { items })
}

/// A list request: page size, cursor and the filters the list knows.
struct ListQuery {
    limit: i64,
    cursor: Option<Cursor>,
    filters: Vec<(String, String)>,
}

/// Reads `limit`, `cursor` and the named filters of a list; anything else is refused.
fn list_query(
    params: Vec<(String, String)>,
    tenant: &Tenant,
    ordering: &str,
    filters: &[&str],
) -> Result<ListQuery, ApiError> {
    let (mut limit, mut cursor, mut rest) = (None, None, Vec::new());
    for (key, value) in params {
        match key.as_str() {
            "limit" => {
                let n = value
                    .parse::<i64>()
                    .map_err(|_| ApiError::new(ErrorCode::InvalidLimit, "limit is a number"))?;
                limit = Some(n);
            }
            "cursor" => cursor = Some(value),
            _ if filters.contains(&key.as_str()) => rest.push((key, value)),
            _ => {
                return Err(ApiError::new(
                    ErrorCode::InvalidQuery,
                    format!("unknown query parameter '{key}'"),
                ));
            }
        }
    }
    let limit = pagination::limit(limit).map_err(query_error)?;
    let cursor = cursor
        .map(|c| Cursor::decode(&c, ordering, tenant.id, KeyKind::Time))
        .transpose()
        .map_err(query_error)?;
    Ok(ListQuery { limit, cursor, filters: rest })
}

async fn list_runs(
    staff: Staff,
    State(state): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Json<Page<Run>>, ApiError> {
    let ListQuery { limit, cursor, filters } =
        list_query(params, &staff.tenant, workflows::RUN_ORDERING, &["workflow_id", "status"])?;
    let mut filter = RunFilter::default();
    for (key, value) in filters {
        if key == "workflow_id" {
            let id = Uuid::parse_str(&value).map_err(|_| {
                ApiError::new(ErrorCode::InvalidWorkflowId, "workflow_id is a UUID".to_owned())
            })?;
            filter.workflow_id = Some(id);
        } else {
            let status = RunStatus::parse(&value).ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidStatus,
                    format!("status is running, retrying, succeeded, stopped or failed, not '{value}'"),
                )
            })?;
            filter.status = Some(status);
        }
    }
    Ok(Json(workflows::list_runs(&state.db, &staff.tenant, &filter, limit, cursor.as_ref()).await?))
}

async fn get_run(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Json<RunDetail>, ApiError> {
    Ok(Json(workflows::run_detail(&state.db, &staff.tenant, id).await?))
}

async fn retry_run(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let run = workflows::retry(&state.db, &staff.tenant, id).await?;
    Ok((StatusCode::ACCEPTED, Json(run)).into_response())
}

async fn list_orders(
    staff: Staff,
    State(state): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Json<Page<Order>>, ApiError> {
    let ListQuery { limit, cursor, filters } =
        list_query(params, &staff.tenant, orders::LIST_ORDERING, &["status"])?;
    let status = match filters.into_iter().next() {
        None => None,
        Some((_, value)) => {
            Some(serde_json::from_value::<OrderStatus>(Value::String(value.clone())).map_err(|_| {
                ApiError::new(
                    ErrorCode::InvalidStatus,
                    format!(
                        "status is placed, needs_attention, processing, completed or cancelled, not '{value}'"
                    ),
                )
            })?)
        }
    };
    Ok(Json(orders::list(&state.db, &staff.tenant, limit, cursor.as_ref(), status).await?))
}

/// With an `Idempotency-Key` header (1–255 visible ASCII characters) a repeated request
/// gets the order placed the first time (`Idempotent-Replayed: true`), never a second one.
async fn place_order(
    staff: Staff,
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(draft): Json<OrderDraft>,
) -> Result<Response, ApiError> {
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::InvalidIdempotencyKey,
                        "Idempotency-Key is 1–255 visible ASCII characters",
                    )
                })?,
        ),
    };
    let placed = match key {
        Some(key) => orders::place_once(&state.db, &staff.tenant, &draft, key).await?,
        None => Placed::New(orders::place(&state.db, &staff.tenant, &draft).await?),
    };
    let order = placed.order();
    let mut response = created(format!("/management/orders/{}", order.id), order, order.version);
    if matches!(placed, Placed::Replayed(_)) {
        response.headers_mut().insert("idempotent-replayed", http::HeaderValue::from_static("true"));
    }
    Ok(response)
}

async fn get_order(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Json<Order>, ApiError> {
    Ok(Json(orders::get(&state.db, &staff.tenant, id).await?))
}
