//! The workflows function: tenant workflows (CRUD), their runs (list, detail with every
//! step attempt, retry), the step-type registry, manual orders and tax rates. The runs
//! themselves execute in the worker-engine function.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use kassa_domain::access::Action;
use kassa_domain::orders::{self, Order, OrderDraft, OrderStatus, Placed};
use kassa_domain::pagination::{KeyKind, Page};
use kassa_domain::taxes::TaxRate;
use kassa_domain::workflows::{self, Run, RunDetail, RunFilter, RunStatus, StepKind, Workflow};
use kassa_http::extract::IdempotencyKey;
use kassa_http::list::{ListFilters, ListQuery};
use kassa_http::openapi::{Doc, schema};
use kassa_http::rest::created;
use kassa_http::{Access, ApiError, AppState, FunctionRoutes, Json, Path, Staff, Verb};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::IntoParams;
use uuid::Uuid;

const WORKFLOWS: (Access, Access) =
    (Access::Allowed(Action::WorkflowsRead), Access::Allowed(Action::WorkflowsWrite));
const TAX_RATES: (Access, Access) =
    (Access::Allowed(Action::SettingsRead), Access::Allowed(Action::SettingsWrite));
const ORDERS_READ: Access = Access::Allowed(Action::OrdersRead);
const ORDERS_WRITE: Access = Access::Allowed(Action::OrdersWrite);

/// The function's routes, also read by the template and OpenAPI tests.
pub fn routes() -> FunctionRoutes {
    use Verb::{Get, Post};
    let (workflows_read, workflows_write) = WORKFLOWS;
    FunctionRoutes::new("workflows")
        .crud::<Workflow>("/management/workflows", WORKFLOWS)
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
            Doc::new("listWorkflowRuns", "List workflow runs, newest first").lists::<RunFilters, Run>(),
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
        .crud::<TaxRate>("/management/tax-rates", TAX_RATES)
        .staff(
            Get,
            "/management/orders",
            ORDERS_READ,
            Doc::new("listOrders", "List orders, newest first").lists::<OrderFilters, Order>(),
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
            .idempotent(
                "1–255 visible ASCII characters: a retry with the same key answers the order the first request \
                 placed (Idempotent-Replayed: true) instead of placing another",
            )
            .creates::<OrderDraft, Order>(),
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
    let items = StepKind::TYPES
        .iter()
        .map(|registered| StepType {
            step_type: registered.name,
            description: registered.description,
            config_schema: serde_json::to_value((registered.config_schema)()).unwrap_or_default(),
        })
        .collect();
    Json(StepTypes { items })
}

/// The filters of `GET /management/workflow-runs`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunFilters {
    /// Only this workflow's runs.
    pub workflow_id: Option<Uuid>,
    #[param(inline)]
    pub status: Option<RunStatus>,
}

impl ListFilters for RunFilters {}

/// The filters of `GET /management/orders`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrderFilters {
    #[param(inline)]
    pub status: Option<OrderStatus>,
}

impl ListFilters for OrderFilters {}

async fn list_runs(
    staff: Staff,
    State(state): State<AppState>,
    list: ListQuery<RunFilters>,
) -> Result<Json<Page<Run>>, ApiError> {
    let cursor = list.cursor(&staff.tenant, workflows::RUN_ORDERING, KeyKind::Time)?;
    let filter = RunFilter { workflow_id: list.filters.workflow_id, status: list.filters.status };
    Ok(Json(workflows::list_runs(&state.db, &staff.tenant, &filter, list.limit, cursor.as_ref()).await?))
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
    list: ListQuery<OrderFilters>,
) -> Result<Json<Page<Order>>, ApiError> {
    let cursor = list.cursor(&staff.tenant, orders::LIST_ORDERING, KeyKind::Time)?;
    let filter = orders::OrderFilter { status: list.filters.status, customer_id: None };
    Ok(Json(orders::list(&state.db, &staff.tenant, list.limit, cursor.as_ref(), filter).await?))
}

/// With an `Idempotency-Key` header (1–255 visible ASCII characters) a repeated request
/// gets the order placed the first time (`Idempotent-Replayed: true`), never a second one.
async fn place_order(
    staff: Staff,
    State(state): State<AppState>,
    idempotency_key: IdempotencyKey,
    Json(draft): Json<OrderDraft>,
) -> Result<Response, ApiError> {
    let placed = match idempotency_key.0.as_deref() {
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
