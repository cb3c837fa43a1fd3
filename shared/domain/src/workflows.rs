//! Workflows as data: a trigger (event type), conditions on the event's data and ordered
//! steps from a registry of step types, each with a config that type's schema validates.
//! Runs keep a snapshot of the steps and every attempt of every step. The engine that
//! executes them lives in `kassa-engine`; this module owns their storage and rules:
//! - [`definitions`]: workflows, their drafts and validation, CRUD, the default workflow;
//! - [`steps`]: the step registry ([`StepKind`] and [`StepKind::TYPES`]);
//! - [`runs`]: starting, claiming, recording attempts, due runs, retry, lists and details.

pub mod definitions;
pub mod runs;
pub mod steps;

// The OpenAPI tests check the schemas against the validator.
#[cfg(test)]
pub(crate) use definitions::workflow_violations;
pub use definitions::{
    Condition, ConditionOp, REDACTED, StoredCondition, Workflow, WorkflowDraft, add_default_workflows,
    on_order_placed,
};
pub use runs::{
    AttemptOutcome, AttemptStatus, Claimed, Next, RUN_ORDERING, Run, RunDetail, RunFilter, RunStatus,
    RunStep, RunStepStatus, StepAttempt, claim, due_runs, due_runs_per_tenant, list_runs, record_attempt,
    retry, run_detail, start_runs,
};
pub use steps::{
    DEFAULT_MAX_ATTEMPTS, EmailTemplate, HttpRequestConfig, NoConfig, STEP_TYPES, SendEmailConfig,
    SetOrderStatusConfig, Step, StepError, StepKind, StepType, StoredStep, config_schema,
};
