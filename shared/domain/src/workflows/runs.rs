//! Runs: started by an event (one per matching workflow, with a snapshot of its steps),
//! claimed by a worker with a lease, moved on by each recorded attempt, resumed when due
//! (across tenants, as the relay's role) or retried by a person; listed and read with every
//! step's attempts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use super::Workflow;
use super::steps::Step;
use crate::ErrorCode;
use crate::db::{TenantTx, begin_tenant_tx};
use crate::error::DomainError;
use crate::outbox::{self, Event};
use crate::pagination::{Cursor, Page, time_key};
use crate::resource::Resource;
use crate::tenant::{Tenant, TenantId};

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
    /// What the step produced; `null` when the attempt failed.
    #[schema(value_type = Option<Object>)]
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
        Cursor::new(RUN_ORDERING, tenant.id, Some(time_key(&r.created_at)), r.id)
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
