//! Workflow definitions: a trigger (event type), conditions on the event's data and ordered
//! steps ([`super::steps`]); their validation, the secrets of webhook steps, their CRUD (the
//! [`Editable`] impl) and the default workflow every shop starts with.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use super::steps::{DEFAULT_MAX_ATTEMPTS, Step, StepKind, StoredStep};
use crate::ErrorCode;
use crate::db::{TenantTx, begin_tenant_tx};
use crate::error::{Constraint, DomainError, Violations};
use crate::resource::{self, Editable, Resource, WriteQuery};
use crate::tenant::{Tenant, TenantId};

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
    const PLURAL: &'static str = "workflows";
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

impl Editable for Workflow {
    type Draft = WorkflowDraft;

    const WRITES: &'static [&'static str] = &["name", "trigger", "conditions", "steps", "enabled"];

    /// Steps without an id get one.
    fn bind_draft<'q>(
        draft: &'q WorkflowDraft,
        query: WriteQuery<'q, Self>,
    ) -> Result<WriteQuery<'q, Self>, DomainError> {
        check_workflow(draft)?;
        let mut steps = draft.steps.clone();
        assign_step_ids(&mut steps);
        Ok(query
            .bind(draft.name.trim())
            .bind(&draft.trigger)
            .bind(sqlx::types::Json(&draft.conditions))
            .bind(sqlx::types::Json(steps))
            .bind(draft.enabled))
    }

    /// Webhook steps that send [`REDACTED`] keep their stored secret ([`keep_secrets`]).
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
        if !refused.is_empty() {
            return Err(DomainError::Validation(workflow_violations(&draft, &refused)));
        }
        let sql = resource::update_sql::<Self>();
        let row = Self::bind_draft(&draft, resource::guarded(&sql, tenant, id, expected_version))?
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| DomainError::from_constraint(e, Self::CONSTRAINTS))?;
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
            step("deduct_stock", serde_json::json!({})),
            step("calculate_taxes", serde_json::json!({})),
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
        let sql = resource::insert_sql::<Workflow>();
        let query = sqlx::query_as(&sql).bind(Uuid::now_v7()).bind(tenant);
        let _: Workflow = Workflow::bind_draft(&draft, query)?
            .fetch_one(&mut **tx)
            .await
            .map_err(|e| DomainError::from_constraint(e, Workflow::CONSTRAINTS))?;
    }
    Ok(())
}
#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::workflows::steps::config_schema;

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
        for step_type in StepKind::TYPES {
            assert!(config_schema(step_type.name).is_some(), "{}", step_type.name);
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
