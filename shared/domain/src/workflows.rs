//! Workflows as data: a trigger (event type), conditions on the event's data and ordered
//! steps from a registry of step types, each with a config that type's schema validates.
//! Runs keep a snapshot of the steps and every attempt of every step. The engine that
//! executes them lives in `kassa-engine`; this module owns their storage and rules.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::ErrorCode;
use crate::db::{TenantTx, begin_tenant_tx};
use crate::error::{Constraint, DomainError, Violations};
use crate::orders::OrderStatus;
use crate::outbox::{self, Event};
use crate::pagination::{Cursor, Page};
use crate::resource::{self, Editable, Resource};
use crate::tenant::{Tenant, TenantId};

/// Attempts per step unless the step says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 5;

/// A condition on the event's data: `pointer` (a JSON Pointer into the event's `data`)
/// compared by `op` with `value`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub pointer: String,
    pub op: ConditionOp,
    /// The operand (a list for `in`; unused by `exists`).
    #[serde(default)]
    pub value: Value,
}

/// One alternative per operator group, since the operand's type follows the operator.
impl utoipa::PartialSchema for Condition {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::schemas::condition(false).into()
    }
}

impl utoipa::ToSchema for Condition {}

/// A condition as reads show it: whatever [`Condition`]s the server took.
pub struct StoredCondition;

impl utoipa::PartialSchema for StoredCondition {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::schemas::condition(true).into()
    }
}

impl utoipa::ToSchema for StoredCondition {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConditionOp {
    Eq,
    Ne,
    In,
    Exists,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Condition {
    pub fn holds(&self, data: &Value) -> bool {
        let found = data.pointer(&self.pointer);
        let number = |v: Option<&Value>| v.and_then(Value::as_f64);
        let compare = |f: fn(f64, f64) -> bool| match (number(found), self.value.as_f64()) {
            (Some(a), Some(b)) => f(a, b),
            _ => false,
        };
        match self.op {
            ConditionOp::Exists => found.is_some_and(|v| !v.is_null()),
            ConditionOp::Eq => found == Some(&self.value),
            ConditionOp::Ne => found != Some(&self.value),
            ConditionOp::In => {
                self.value.as_array().is_some_and(|options| found.is_some_and(|f| options.contains(f)))
            }
            ConditionOp::Gt => compare(|a, b| a > b),
            ConditionOp::Gte => compare(|a, b| a >= b),
            ConditionOp::Lt => compare(|a, b| a < b),
            ConditionOp::Lte => compare(|a, b| a <= b),
        }
    }
}

/// One step as stored: its type, its config and how often it may be attempted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The step's stable id: assigned when the step is created without one, kept as long as
    /// updates send it back. A webhook step's secret stays with its id (and its URL), not
    /// with its position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    /// A step type from `GET /management/workflow-step-types`.
    #[serde(rename = "type")]
    pub step_type: String,
    /// Validated by the step type's schema.
    #[serde(default = "empty_object")]
    pub config: Value,
    /// Attempts before the run fails (1–10, default 5); retries back off exponentially.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: i32,
}

/// The config schemas the step alternatives refer to.
fn step_schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
    use utoipa::ToSchema;
    SendEmailConfig::schemas(schemas);
    HttpRequestConfig::schemas(schemas);
    SetOrderStatusConfig::schemas(schemas);
}

/// A step as written: one alternative per step type, with that type's config schema.
impl utoipa::PartialSchema for Step {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::schemas::step(false).into()
    }
}

impl utoipa::ToSchema for Step {
    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        step_schemas(schemas);
    }
}

/// A step as reads show it: [`Step`] with webhook secrets redacted.
pub struct StoredStep;

impl utoipa::PartialSchema for StoredStep {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::schemas::step(true).into()
    }
}

impl utoipa::ToSchema for StoredStep {
    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        step_schemas(schemas);
    }
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

fn default_max_attempts() -> i32 {
    DEFAULT_MAX_ATTEMPTS
}

/// No settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoConfig {}

/// `send_email`: which message to send to the order's customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendEmailConfig {
    pub template: EmailTemplate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmailTemplate {
    OrderConfirmation,
}

/// `http_request`: POST the event to `url`, signed with HMAC-SHA256 over
/// `"<timestamp>.<body>"` with `secret`, in `Kassa-Signature: t=<timestamp>,v1=<hex>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpRequestConfig {
    #[schema(schema_with = crate::schemas::webhook_url)]
    pub url: String,
    /// 16–200 characters, shared with the receiver.
    #[schema(schema_with = crate::schemas::webhook_secret)]
    pub secret: String,
    /// 100–30000 ms (default 5000).
    #[serde(default = "default_timeout_ms")]
    #[schema(schema_with = crate::schemas::timeout_ms)]
    pub timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    5_000
}

/// `set_order_status`: the status the event's order gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetOrderStatusConfig {
    pub status: OrderStatus,
}

/// The registry of step types, each with its parsed config.
#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    /// Deducts the order's stock, all lines or none.
    DeductStock,
    /// Calculates and stores the order's taxes.
    CalculateTaxes,
    SendEmail(SendEmailConfig),
    HttpRequest(HttpRequestConfig),
    SetOrderStatus(SetOrderStatusConfig),
}

/// Every step type's name, what it does and its config schema.
pub const STEP_TYPES: [(&str, &str); 5] = [
    ("deduct_stock", "Deduct the stock of every line of the event's order, all or nothing"),
    ("calculate_taxes", "Calculate the order's taxes from the shop's tax rates and store them"),
    ("send_email", "Email the order's customer (SMTP)"),
    ("http_request", "POST the event to a URL, signed with HMAC-SHA256 (a webhook out)"),
    ("set_order_status", "Set the order's status"),
];

/// The JSON Schema of a step type's config.
pub fn config_schema(step_type: &str) -> Option<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>> {
    use utoipa::PartialSchema;
    Some(match step_type {
        "deduct_stock" | "calculate_taxes" => NoConfig::schema(),
        "send_email" => SendEmailConfig::schema(),
        "http_request" => HttpRequestConfig::schema(),
        "set_order_status" => SetOrderStatusConfig::schema(),
        _ => return None,
    })
}

/// Why a step does not parse: its type, or its config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    #[error("{0}")]
    UnknownType(String),
    #[error("{0}")]
    InvalidConfig(String),
}

impl StepError {
    /// The field of the step at fault (`type` or `config`) and its violation code.
    pub fn field_and_code(&self) -> (&'static str, &'static str) {
        match self {
            StepError::UnknownType(_) => ("type", "unknown_step_type"),
            StepError::InvalidConfig(_) => ("config", "invalid_config"),
        }
    }
}

impl StepKind {
    /// Parses a stored step's type and config; the error says what is wrong.
    pub fn parse(step: &Step) -> Result<Self, StepError> {
        fn config<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, StepError> {
            serde_json::from_value(value.clone()).map_err(|e| StepError::InvalidConfig(e.to_string()))
        }
        let kind = match step.step_type.as_str() {
            "deduct_stock" => config::<NoConfig>(&step.config).map(|_| StepKind::DeductStock)?,
            "calculate_taxes" => config::<NoConfig>(&step.config).map(|_| StepKind::CalculateTaxes)?,
            "send_email" => StepKind::SendEmail(config(&step.config)?),
            "http_request" => {
                let c: HttpRequestConfig = config(&step.config)?;
                let url_ok = (c.url.starts_with("https://") || c.url.starts_with("http://"))
                    && c.url.len() <= 2_000
                    && !c.url.chars().any(char::is_whitespace);
                if !url_ok {
                    return Err(StepError::InvalidConfig("url must be an http(s) URL".to_owned()));
                }
                if !(16..=200).contains(&c.secret.chars().count()) {
                    return Err(StepError::InvalidConfig("secret must be 16–200 characters".to_owned()));
                }
                if !(100..=30_000).contains(&c.timeout_ms) {
                    return Err(StepError::InvalidConfig("timeout_ms must be 100–30000".to_owned()));
                }
                StepKind::HttpRequest(c)
            }
            "set_order_status" => StepKind::SetOrderStatus(config(&step.config)?),
            other => return Err(StepError::UnknownType(format!("no step type '{other}'"))),
        };
        Ok(kind)
    }

    /// Steps whose effect lives outside Postgres (at-least-once; see the engine).
    pub fn is_external(&self) -> bool {
        matches!(self, StepKind::SendEmail(_) | StepKind::HttpRequest(_))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Workflow {
    pub id: Uuid,
    pub name: String,
    /// The event type that starts a run, e.g. `order.placed`.
    #[schema(example = "order.placed")]
    pub trigger: String,
    #[sqlx(json)]
    #[schema(value_type = Vec<StoredCondition>)]
    pub conditions: Vec<Condition>,
    #[sqlx(json)]
    #[schema(value_type = Vec<StoredStep>)]
    pub steps: Vec<Step>,
    pub enabled: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowDraft {
    /// Unique per shop.
    #[schema(schema_with = crate::schemas::name)]
    pub name: String,
    #[schema(schema_with = crate::schemas::event_type)]
    pub trigger: String,
    /// At most 20; all must hold for a run to start.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub conditions: Vec<Condition>,
    /// 1–20 steps, run in order.
    #[schema(min_items = 1, max_items = 20)]
    pub steps: Vec<Step>,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

impl From<&Workflow> for WorkflowDraft {
    fn from(w: &Workflow) -> Self {
        WorkflowDraft {
            name: w.name.clone(),
            trigger: w.trigger.clone(),
            conditions: w.conditions.clone(),
            steps: w.steps.clone(),
            enabled: w.enabled,
        }
    }
}

impl Resource for Workflow {
    const NAME: &'static str = "workflow";
    const AGGREGATE: &'static str = "workflow";
    const TABLE: &'static str = "workflows";
    const COLUMNS: &'static str =
        "id, name, trigger, conditions, steps, enabled, version, created_at, updated_at";
    const CONSTRAINTS: &'static [Constraint] =
        &[Constraint::Unique("workflows_name_key", ErrorCode::NameTaken, "another workflow has this name")];

    fn id(&self) -> Uuid {
        self.id
    }

    fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    /// Webhook secrets never leave: clients and events see [`REDACTED`].
    fn redact(json: &mut Value) {
        for step in json.get_mut("steps").and_then(Value::as_array_mut).into_iter().flatten() {
            if step.get("type").and_then(Value::as_str) == Some("http_request")
                && let Some(secret) = step.pointer_mut("/config/secret")
            {
                *secret = Value::String(REDACTED.to_owned());
            }
        }
    }
}

/// What clients see instead of a webhook secret. Sent back in an update, it keeps the secret
/// of the step with the same id, as long as its URL is the same too.
pub const REDACTED: &str = "********";

/// Gives every step without an id one.
fn assign_step_ids(steps: &mut [Step]) {
    for step in steps.iter_mut().filter(|s| s.id.is_none()) {
        step.id = Some(Uuid::now_v7());
    }
}

/// Puts the stored secret back where an update sends [`REDACTED`] for an `http_request` step:
/// only from the stored `http_request` step with the same id and the same URL, so a secret
/// follows its step through reordering and never goes to a new receiver. A webhook step of
/// the update that sends the redaction (or no secret) and has no such stored step is
/// refused at its `secret` (returned: its position and why): the new receiver needs a secret
/// of its own.
fn keep_secrets(draft: &mut WorkflowDraft, current: &[Step]) -> Vec<(usize, &'static str)> {
    let mut refused = Vec::new();
    for (i, step) in draft.steps.iter_mut().enumerate() {
        if step.step_type != "http_request" || !step.config.is_object() {
            continue;
        }
        let sent = step.config.get("secret");
        if sent.is_some_and(|s| s.as_str() != Some(REDACTED)) {
            continue;
        }
        let redacted = sent.is_some();
        let url = step.config.get("url").cloned();
        let before =
            current.iter().find(|b| b.id.is_some() && b.id == step.id && b.step_type == "http_request");
        let kept = before
            .filter(|b| redacted && url.is_some() && b.config.get("url") == url.as_ref())
            .and_then(|b| b.config.get("secret"));
        match (kept, step.config.as_object_mut()) {
            (Some(secret), Some(config)) => {
                config.insert("secret".to_owned(), secret.clone());
            }
            _ => {
                let message = match before {
                    Some(_) if redacted => "the URL changed: send the secret the new receiver checks",
                    Some(_) => "send the secret, or the redacted one to keep it",
                    None => "a new webhook step needs its secret (16–200 characters)",
                };
                refused.push((i, message));
            }
        }
    }
    refused
}

/// An event type: `<aggregate>.<what>` in lower snake case, e.g. `order.placed`.
fn is_event_type(raw: &str) -> bool {
    let part = |p: &str| {
        !p.is_empty()
            && p.len() <= 50
            && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    matches!(raw.split_once('.'), Some((a, b)) if part(a) && part(b))
}

fn check_workflow(draft: &WorkflowDraft) -> Result<(), DomainError> {
    let v = workflow_violations(draft, &[]);
    if v.is_empty() { Ok(()) } else { Err(DomainError::Validation(v)) }
}

/// Everything wrong with `draft`, where the webhook steps of `secrets` were refused the
/// secret they sent (see [`keep_secrets`]).
pub(crate) fn workflow_violations(draft: &WorkflowDraft, secrets: &[(usize, &'static str)]) -> Violations {
    let mut v = Violations::default();
    if draft.name.trim().is_empty() || draft.name.chars().count() > 200 {
        v.push("/name", "invalid_name", "a name is 1–200 characters");
    }
    if !is_event_type(&draft.trigger) {
        v.push("/trigger", "invalid_trigger", "an event type such as order.placed");
    }
    if draft.conditions.len() > 20 {
        v.push("/conditions", "too_many_conditions", "at most 20 conditions");
    }
    for (i, condition) in draft.conditions.iter().enumerate() {
        if !(condition.pointer.is_empty() || condition.pointer.starts_with('/'))
            || condition.pointer.len() > 200
        {
            v.push(
                format!("/conditions/{i}/pointer"),
                "invalid_pointer",
                "a JSON Pointer such as /total_amount",
            );
        }
        let operand_ok = match condition.op {
            ConditionOp::In => condition.value.is_array(),
            ConditionOp::Gt | ConditionOp::Gte | ConditionOp::Lt | ConditionOp::Lte => {
                condition.value.is_number()
            }
            ConditionOp::Eq | ConditionOp::Ne | ConditionOp::Exists => true,
        };
        if !operand_ok {
            v.push(
                format!("/conditions/{i}/value"),
                "invalid_operand",
                "in takes a list; gt, gte, lt and lte take a number",
            );
        } else if !crate::catalog::numbers_in_range(&condition.value) {
            v.push(format!("/conditions/{i}/value"), "invalid_operand", "numbers are from -1e15 to 1e15");
        }
    }
    if draft.steps.is_empty() || draft.steps.len() > 20 {
        v.push("/steps", "invalid_steps", "a workflow has 1–20 steps");
    }
    for (i, step) in draft.steps.iter().enumerate() {
        if let Some(id) = step.id
            && draft.steps[..i].iter().any(|s| s.id == Some(id))
        {
            v.push(
                format!("/steps/{i}/id"),
                "duplicate_step_id",
                "another step of this workflow has this id",
            );
        }
        if let Some((_, message)) = secrets.iter().find(|(at, _)| *at == i) {
            v.push(format!("/steps/{i}/config/secret"), "secret_required", *message);
        } else if let Err(err) = StepKind::parse(step) {
            let (field, code) = err.field_and_code();
            v.push(format!("/steps/{i}/{field}"), code, err.to_string());
        }
        if !(1..=10).contains(&step.max_attempts) {
            v.push(format!("/steps/{i}/max_attempts"), "invalid_max_attempts", "1–10 attempts");
        }
    }
    v
}

async fn insert_workflow(
    tx: &mut TenantTx,
    tenant: TenantId,
    draft: &WorkflowDraft,
) -> Result<Workflow, DomainError> {
    let mut steps = draft.steps.clone();
    assign_step_ids(&mut steps);
    sqlx::query_as(&format!(
        "insert into workflows (id, tenant_id, name, trigger, conditions, steps, enabled)
         values ($1, $2, $3, $4, $5, $6, $7) returning {}",
        Workflow::COLUMNS
    ))
    .bind(Uuid::now_v7())
    .bind(tenant)
    .bind(draft.name.trim())
    .bind(&draft.trigger)
    .bind(sqlx::types::Json(&draft.conditions))
    .bind(sqlx::types::Json(&steps))
    .bind(draft.enabled)
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| DomainError::from_constraint(e, Workflow::CONSTRAINTS))
}

impl Editable for Workflow {
    type Draft = WorkflowDraft;

    async fn create(pool: &PgPool, tenant: &Tenant, draft: &WorkflowDraft) -> Result<Self, DomainError> {
        check_workflow(draft)?;
        let mut tx = begin_tenant_tx(pool, tenant.id).await?;
        let row = insert_workflow(&mut tx, tenant.id, draft).await?;
        resource::created(tx, tenant, row).await
    }

    async fn update(
        pool: &PgPool,
        tenant: &Tenant,
        id: Uuid,
        expected_version: i64,
        draft: &WorkflowDraft,
    ) -> Result<Self, DomainError> {
        let mut tx = begin_tenant_tx(pool, tenant.id).await?;
        // Locked, so the secrets put back are those of the version the update replaces.
        let current: Option<sqlx::types::Json<Vec<Step>>> =
            sqlx::query_scalar("select steps from workflows where tenant_id = $1 and id = $2 for update")
                .bind(tenant.id)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let mut draft = draft.clone();
        let refused = keep_secrets(&mut draft, current.as_deref().map_or(&[], |steps| steps.as_slice()));
        let v = workflow_violations(&draft, &refused);
        if !v.is_empty() {
            return Err(DomainError::Validation(v));
        }
        assign_step_ids(&mut draft.steps);
        let row = sqlx::query_as(&format!(
            "update workflows set name = $4, trigger = $5, conditions = $6, steps = $7, enabled = $8,
               version = version + 1
             where tenant_id = $1 and id = $2 and version = $3 returning {}",
            Workflow::COLUMNS
        ))
        .bind(tenant.id)
        .bind(id)
        .bind(expected_version)
        .bind(draft.name.trim())
        .bind(&draft.trigger)
        .bind(sqlx::types::Json(&draft.conditions))
        .bind(sqlx::types::Json(&draft.steps))
        .bind(draft.enabled)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| DomainError::from_constraint(e, Workflow::CONSTRAINTS))?;
        resource::updated(tx, tenant, id, row).await
    }

    fn version(&self) -> i64 {
        self.version
    }
}

/// The workflow every new shop starts with: deduct stock, calculate taxes, email the customer.
pub fn on_order_placed() -> WorkflowDraft {
    let step = |step_type: &str, config: Value| Step {
        id: None,
        step_type: step_type.to_owned(),
        config,
        max_attempts: DEFAULT_MAX_ATTEMPTS,
    };
    WorkflowDraft {
        name: "On order placed".to_owned(),
        trigger: "order.placed".to_owned(),
        conditions: Vec::new(),
        steps: vec![
            step("deduct_stock", empty_object()),
            step("calculate_taxes", empty_object()),
            step("send_email", serde_json::json!({ "template": "order_confirmation" })),
        ],
        enabled: true,
    }
}

/// Adds "On order placed" to a shop inside `tx` unless it has a workflow of that name.
pub async fn add_default_workflows(tx: &mut TenantTx, tenant: TenantId) -> Result<(), DomainError> {
    let draft = on_order_placed();
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from workflows where tenant_id = $1 and name = $2)")
            .bind(tenant)
            .bind(&draft.name)
            .fetch_one(&mut **tx)
            .await?;
    // Part of provisioning the shop, like the tenant row itself: no event.
    if !exists {
        insert_workflow(tx, tenant, &draft).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Runs

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Started or about to be: a worker holds it or will take it.
    Running,
    /// A step failed and waits for its next attempt (`next_attempt_at`).
    Retrying,
    Succeeded,
    /// A step decided the run must not go on (e.g. the order lacked stock).
    Stopped,
    /// A step used up its attempts; `POST …/retry` resumes from that step (as it does for a
    /// stopped run).
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Run {
    pub id: Uuid,
    pub workflow_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub status: RunStatus,
    /// The step to run next: the number of finished steps.
    pub next_step: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const RUN_COLUMNS: &str = "id, workflow_id, event_id, event_type, status, next_step, next_attempt_at, finished_at, created_at, updated_at";

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct StepAttempt {
    pub attempt: i32,
    pub status: AttemptStatus,
    #[schema(value_type = Object)]
    pub output: Option<Value>,
    pub error: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum AttemptStatus {
    Succeeded,
    Stopped,
    Failed,
}

/// A step of a run as people read it: its state and every attempt.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RunStep {
    pub position: i32,
    #[serde(rename = "type")]
    pub step_type: String,
    pub status: RunStepStatus,
    pub attempts: Vec<StepAttempt>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStepStatus {
    Pending,
    Retrying,
    Succeeded,
    Stopped,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RunDetail {
    #[serde(flatten)]
    pub run: Run,
    /// The CloudEvent that started the run.
    #[schema(value_type = Object)]
    pub event: Value,
    pub steps: Vec<RunStep>,
}

/// Starts a run of every enabled workflow of the tenant that `event_type` triggers and whose
/// conditions `data` meets; an event that already started a workflow's run starts nothing.
/// Returns the new runs' ids.
pub async fn start_runs(
    tx: &mut TenantTx,
    tenant: TenantId,
    event_id: Uuid,
    event_type: &str,
    event: &Value,
    data: &Value,
) -> Result<Vec<Uuid>, DomainError> {
    let workflows: Vec<Workflow> = sqlx::query_as(&format!(
        "select {} from workflows where tenant_id = $1 and trigger = $2 and enabled order by created_at, id",
        Workflow::COLUMNS
    ))
    .bind(tenant)
    .bind(event_type)
    .fetch_all(&mut **tx)
    .await?;
    let mut started = Vec::new();
    for workflow in workflows.iter().filter(|w| w.conditions.iter().all(|c| c.holds(data))) {
        let id: Option<Uuid> = sqlx::query_scalar(
            "insert into workflow_runs (id, tenant_id, workflow_id, event_id, event_type, event, steps)
             values ($1, $2, $3, $4, $5, $6, $7)
             on conflict (tenant_id, workflow_id, event_id) do nothing returning id",
        )
        .bind(Uuid::now_v7())
        .bind(tenant)
        .bind(workflow.id)
        .bind(event_id)
        .bind(event_type)
        .bind(event)
        .bind(sqlx::types::Json(&workflow.steps))
        .fetch_optional(&mut **tx)
        .await?;
        started.extend(id);
    }
    Ok(started)
}

/// A run a worker holds the lease of.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: Uuid,
    pub tenant: TenantId,
    pub lease: Uuid,
    pub event: Value,
    pub steps: Vec<Step>,
    pub next_step: i32,
    pub step_attempts: i32,
}

/// Takes the lease of a due run (running or retrying, due, no live lease) for `lease_secs`.
pub async fn claim(
    pool: &PgPool,
    tenant: TenantId,
    run: Uuid,
    lease_secs: f64,
) -> Result<Option<Claimed>, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant).await?;
    let lease = Uuid::new_v4();
    let row: Option<(Value, sqlx::types::Json<Vec<Step>>, i32, i32)> = sqlx::query_as(
        "update workflow_runs set status = 'running', lease_token = $3,
           lease_until = now() + make_interval(secs => $4)
         where tenant_id = $1 and id = $2 and status in ('running', 'retrying') and next_attempt_at <= now()
           and (lease_until is null or lease_until < now())
         returning event, steps, next_step, step_attempts",
    )
    .bind(tenant)
    .bind(run)
    .bind(lease)
    .bind(lease_secs)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row.map(|(event, steps, next_step, step_attempts)| Claimed {
        id: run,
        tenant,
        lease,
        event,
        steps: steps.0,
        next_step,
        step_attempts,
    }))
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptOutcome {
    Succeeded(Value),
    Stopped(Value),
    Failed(String),
}

/// What the run does next after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Go on with the next step now.
    Continue,
    /// The run is over for now (finished, stopped, failed or waiting for a retry).
    Pause,
}

/// Records an attempt of the run's next step and moves the run on, inside `tx` (the
/// transaction of the step's effects, if it has any). `attempt` counts the step's attempts
/// since it was reached or a person retried it (the stored attempt numbers go on across
/// retries). A failed attempt waits `backoff` before the next one, or fails the run after
/// the step's last attempt. Errs with
/// `Unexpected` (lease lost) if another worker took the run over: the caller rolls
/// back.
pub async fn record_attempt(
    tx: &mut TenantTx,
    run: &Claimed,
    attempt: i32,
    started_at: DateTime<Utc>,
    outcome: &AttemptOutcome,
    backoff: std::time::Duration,
) -> Result<Next, DomainError> {
    let position = run.next_step;
    let step = run.steps.get(usize::try_from(position).unwrap_or(usize::MAX));
    let (status, output, error) = match outcome {
        AttemptOutcome::Succeeded(output) => (AttemptStatus::Succeeded, Some(output), None),
        AttemptOutcome::Stopped(output) => (AttemptStatus::Stopped, Some(output), None),
        AttemptOutcome::Failed(error) => (AttemptStatus::Failed, None, Some(error.as_str())),
    };
    sqlx::query(
        "insert into workflow_step_attempts (tenant_id, run_id, position, attempt, step_type, status, output, error,
                                             started_at, finished_at)
         values ($1, $2, $3,
                 coalesce((select max(attempt) from workflow_step_attempts
                           where tenant_id = $1 and run_id = $2 and position = $3), 0) + 1,
                 $4, $5, $6, $7, $8, now())",
    )
    .bind(run.tenant)
    .bind(run.id)
    .bind(position)
    .bind(step.map(|s| s.step_type.as_str()).unwrap_or_default())
    .bind(status)
    .bind(output)
    .bind(error)
    .bind(started_at)
    .execute(&mut **tx)
    .await?;
    let last = usize::try_from(position + 1).unwrap_or(0) >= run.steps.len();
    let max_attempts = step.map_or(1, |s| s.max_attempts);
    // (status, next step, attempts of the next step, retry delay, finished, what comes next)
    let (status, next_step, step_attempts, delay, finished, next) = match outcome {
        AttemptOutcome::Succeeded(_) if last => {
            (RunStatus::Succeeded, position + 1, 0, None, true, Next::Pause)
        }
        AttemptOutcome::Succeeded(_) => (RunStatus::Running, position + 1, 0, None, false, Next::Continue),
        AttemptOutcome::Stopped(_) => (RunStatus::Stopped, position, attempt, None, true, Next::Pause),
        AttemptOutcome::Failed(_) if attempt >= max_attempts => {
            (RunStatus::Failed, position, attempt, None, true, Next::Pause)
        }
        AttemptOutcome::Failed(_) => {
            (RunStatus::Retrying, position, attempt, Some(backoff.as_secs_f64()), false, Next::Pause)
        }
    };
    // Pausing gives the lease up, so whoever is next (the sweeper, a retry) may take the run.
    let moved = sqlx::query(
        "update workflow_runs set status = $4, next_step = $5, step_attempts = $6,
           next_attempt_at = coalesce(now() + make_interval(secs => $7), next_attempt_at),
           finished_at = case when $8 then now() end,
           lease_token = case when $9 then null else lease_token end,
           lease_until = case when $9 then null else lease_until end
         where tenant_id = $1 and id = $2 and lease_token = $3",
    )
    .bind(run.tenant)
    .bind(run.id)
    .bind(run.lease)
    .bind(status)
    .bind(next_step)
    .bind(step_attempts)
    .bind(delay)
    .bind(finished)
    .bind(next == Next::Pause)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if moved == 0 {
        return Err(DomainError::Unexpected("another worker took this run over (lease lost)".to_owned()));
    }
    Ok(next)
}

/// Runs that are due (running or retrying, due, no live lease) in every tenant, oldest
/// first. Reads across tenants as the relay's narrow role; the work itself happens in each
/// run's tenant scope.
pub async fn due_runs(pool: &PgPool, limit: i64) -> Result<Vec<(TenantId, Uuid)>, DomainError> {
    let mut tx = crate::db::begin_relay_tx(pool).await?;
    let due = sqlx::query_as(
        "select tenant_id, id from workflow_runs
         where status in ('running', 'retrying') and next_attempt_at <= now()
           and (lease_until is null or lease_until < now())
         order by next_attempt_at limit $1",
    )
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(due)
}

/// Like [`due_runs`], but at most `per_tenant` runs of each tenant (the earliest due of
/// each), so one tenant's backlog cannot crowd the others out of a sweep.
pub async fn due_runs_per_tenant(
    pool: &PgPool,
    limit: i64,
    per_tenant: i64,
) -> Result<Vec<(TenantId, Uuid)>, DomainError> {
    let mut tx = crate::db::begin_relay_tx(pool).await?;
    let due = sqlx::query_as(
        "select tenant_id, id from (
           select tenant_id, id, next_attempt_at,
                  row_number() over (partition by tenant_id order by next_attempt_at, id) as place
           from workflow_runs
           where status in ('running', 'retrying') and next_attempt_at <= now()
             and (lease_until is null or lease_until < now())
         ) due
         where place <= $2
         order by next_attempt_at limit $1",
    )
    .bind(limit)
    .bind(per_tenant)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(due)
}

/// A person retries a failed run, or a stopped one once its cause is dealt with (e.g. stock
/// arrived): it resumes at the failed or stopped step with fresh attempts; the finished
/// steps stay done. Appends `workflow_run.retried`, which wakes a worker.
pub async fn retry(pool: &PgPool, tenant: &Tenant, id: Uuid) -> Result<Run, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let run: Option<Run> = sqlx::query_as(&format!(
        "update workflow_runs set status = 'running', step_attempts = 0, next_attempt_at = now(),
           finished_at = null, lease_token = null, lease_until = null
         where tenant_id = $1 and id = $2 and status in ('failed', 'stopped') returning {RUN_COLUMNS}"
    ))
    .bind(tenant.id)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(run) = run else {
        let status: Option<RunStatus> =
            sqlx::query_scalar("select status from workflow_runs where tenant_id = $1 and id = $2")
                .bind(tenant.id)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        return Err(match status {
            None => DomainError::NotFound { resource: "workflow run" },
            Some(_) => DomainError::InvalidState {
                code: ErrorCode::RunNotRetryable,
                message: "only a failed or stopped run can be retried".to_owned(),
            },
        });
    };
    let event = Event {
        event_type: "workflow_run.retried",
        aggregate_type: "workflow_run",
        aggregate_id: id,
        data: &run,
    };
    outbox::append(&mut tx, tenant.id, event).await?;
    tx.commit().await?;
    Ok(run)
}

/// Which runs to list.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub workflow_id: Option<Uuid>,
    pub status: Option<RunStatus>,
}

pub const RUN_ORDERING: &str = "runs:created_at:desc";

/// Newest first.
pub async fn list_runs(
    pool: &PgPool,
    tenant: &Tenant,
    filter: &RunFilter,
    limit: i64,
    cursor: Option<&Cursor>,
) -> Result<Page<Run>, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let rows: Vec<Run> = sqlx::query_as(&format!(
        "select {RUN_COLUMNS} from workflow_runs where tenant_id = $1
           and ($2::timestamptz is null or (created_at, id) < ($2::timestamptz, $3))
           and ($4::uuid is null or workflow_id = $4)
           and ($5::text is null or status = $5)
         order by created_at desc, id desc limit $6"
    ))
    .bind(tenant.id)
    .bind(cursor.and_then(|c| c.key.clone()))
    .bind(cursor.map(|c| c.id))
    .bind(filter.workflow_id)
    .bind(filter.status)
    .bind(limit + 1)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Page::from_rows(rows, limit, |r| {
        let key = r.created_at.to_rfc3339_opts(SecondsFormat::Micros, true);
        Cursor::new(RUN_ORDERING, tenant.id, Some(key), r.id)
    }))
}

/// A run with its event and every step's attempts.
pub async fn run_detail(pool: &PgPool, tenant: &Tenant, id: Uuid) -> Result<RunDetail, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let row: Option<(Value, sqlx::types::Json<Vec<Step>>)> =
        sqlx::query_as("select event, steps from workflow_runs where tenant_id = $1 and id = $2")
            .bind(tenant.id)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((event, steps)) = row else {
        return Err(DomainError::NotFound { resource: "workflow run" });
    };
    let run: Run =
        sqlx::query_as(&format!("select {RUN_COLUMNS} from workflow_runs where tenant_id = $1 and id = $2"))
            .bind(tenant.id)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
    let attempts: Vec<(i32, StepAttempt)> = sqlx::query_as::<_, AttemptRow>(
        "select position, attempt, status, output, error, started_at, finished_at from workflow_step_attempts
         where tenant_id = $1 and run_id = $2 order by position, attempt",
    )
    .bind(tenant.id)
    .bind(id)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|row| (row.position, row.attempt))
    .collect();
    tx.commit().await?;
    let steps = steps
        .0
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let position = i32::try_from(i).unwrap_or(i32::MAX);
            let attempts: Vec<StepAttempt> =
                attempts.iter().filter(|(p, _)| *p == position).map(|(_, a)| a.clone()).collect();
            let status = match attempts.last().map(|a| a.status) {
                Some(AttemptStatus::Succeeded) => RunStepStatus::Succeeded,
                Some(AttemptStatus::Stopped) => RunStepStatus::Stopped,
                Some(AttemptStatus::Failed)
                    if run.status == RunStatus::Failed && position == run.next_step =>
                {
                    RunStepStatus::Failed
                }
                Some(AttemptStatus::Failed) => RunStepStatus::Retrying,
                None => RunStepStatus::Pending,
            };
            RunStep { position, step_type: step.step_type.clone(), status, attempts }
        })
        .collect();
    Ok(RunDetail { run, event, steps })
}

#[derive(sqlx::FromRow)]
struct AttemptRow {
    position: i32,
    #[sqlx(flatten)]
    attempt: StepAttempt,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn condition(pointer: &str, op: ConditionOp, value: Value) -> Condition {
        Condition { pointer: pointer.to_owned(), op, value }
    }

    #[test]
    fn conditions_compare_the_value_at_their_pointer() {
        let data = json!({ "shipping_country": "NL", "total_amount": 12_000, "lines": [{ "sku": "A" }] });
        let holds = |pointer, op, value| condition(pointer, op, value).holds(&data);
        assert!(holds("/shipping_country", ConditionOp::Eq, json!("NL")));
        assert!(!holds("/shipping_country", ConditionOp::Eq, json!("DE")));
        assert!(holds("/shipping_country", ConditionOp::Ne, json!("DE")));
        assert!(holds("/shipping_country", ConditionOp::In, json!(["BE", "NL"])));
        assert!(!holds("/shipping_country", ConditionOp::In, json!(["BE"])));
        assert!(holds("/total_amount", ConditionOp::Gte, json!(12_000)));
        assert!(!holds("/total_amount", ConditionOp::Gt, json!(12_000)));
        assert!(holds("/total_amount", ConditionOp::Lt, json!(20_000)));
        assert!(!holds("/shipping_country", ConditionOp::Lt, json!(1)));
        assert!(holds("/lines/0/sku", ConditionOp::Exists, Value::Null));
        assert!(!holds("/lines/1/sku", ConditionOp::Exists, Value::Null));
    }

    #[test]
    fn every_registered_step_type_has_a_schema_and_parses_its_default_config() {
        for (step_type, _) in STEP_TYPES {
            assert!(config_schema(step_type).is_some(), "{step_type}");
        }
        for step in on_order_placed().steps {
            assert!(StepKind::parse(&step).is_ok(), "{}", step.step_type);
        }
    }

    #[test]
    fn a_workflow_with_bad_steps_names_every_problem() {
        let mut draft = on_order_placed();
        draft.trigger = "Order Placed".to_owned();
        draft.steps.push(Step {
            id: None,
            step_type: "launch_rocket".to_owned(),
            config: json!({}),
            max_attempts: 3,
        });
        draft.steps.push(Step {
            id: None,
            step_type: "http_request".to_owned(),
            config: json!({ "url": "ftp://x", "secret": "0123456789abcdef" }),
            max_attempts: 11,
        });
        draft.steps.push(Step {
            id: None,
            step_type: "deduct_stock".to_owned(),
            config: json!({ "extra": 1 }),
            max_attempts: 1,
        });
        let Err(DomainError::Validation(v)) = check_workflow(&draft) else { panic!("accepted") };
        let pointers: Vec<&str> = v.as_slice().iter().map(|v| v.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            ["/trigger", "/steps/3/type", "/steps/4/config", "/steps/4/max_attempts", "/steps/5/config"]
        );
    }
}
