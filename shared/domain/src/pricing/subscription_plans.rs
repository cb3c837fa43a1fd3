//! Subscription plans: how often a subscription product bills and its free trial.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::check_name;
use crate::ErrorCode;
use crate::error::{Constraint, DomainError, Violations};
use crate::resource::{Editable, Resource, WriteQuery};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Interval {
    Day,
    Week,
    Month,
    Year,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SubscriptionPlan {
    pub id: Uuid,
    pub name: String,
    pub interval: Interval,
    pub interval_count: i32,
    pub trial_days: i32,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn one() -> i64 {
    1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionPlanDraft {
    #[schema(schema_with = crate::schemas::name)]
    pub name: String,
    pub interval: Interval,
    /// Bill every `interval_count` intervals (1–365).
    #[serde(default = "one")]
    #[schema(minimum = 1, maximum = 365)]
    pub interval_count: i64,
    /// Free days before the first charge (0–730).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 730)]
    pub trial_days: i64,
}

impl From<&SubscriptionPlan> for SubscriptionPlanDraft {
    fn from(p: &SubscriptionPlan) -> Self {
        SubscriptionPlanDraft {
            name: p.name.clone(),
            interval: p.interval,
            interval_count: i64::from(p.interval_count),
            trial_days: i64::from(p.trial_days),
        }
    }
}

impl Resource for SubscriptionPlan {
    const NAME: &'static str = "subscription plan";
    const PLURAL: &'static str = "subscription plans";
    const AGGREGATE: &'static str = "subscription_plan";
    const TABLE: &'static str = "subscription_plans";
    const COLUMNS: &'static str =
        "id, name, interval, interval_count, trial_days, version, created_at, updated_at";
    const CONSTRAINTS: &'static [Constraint] = &[Constraint::InUse(
        "products_subscription_plan_fkey",
        ErrorCode::InUse,
        "products are still sold on this plan",
    )];

    fn id(&self) -> Uuid {
        self.id
    }

    fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
}

/// The checked interval count and trial days.
fn check_plan(draft: &SubscriptionPlanDraft) -> Result<(i32, i32), DomainError> {
    let mut v = Violations::default();
    check_name(&mut v, &draft.name);
    let count = i32::try_from(draft.interval_count).ok().filter(|n| (1..=365).contains(n));
    if count.is_none() {
        v.push("/interval_count", "out_of_range", "interval_count is 1–365");
    }
    let trial = i32::try_from(draft.trial_days).ok().filter(|n| (0..=730).contains(n));
    if trial.is_none() {
        v.push("/trial_days", "out_of_range", "trial_days is 0–730");
    }
    match (count, trial) {
        (Some(count), Some(trial)) if v.is_empty() => Ok((count, trial)),
        _ => Err(DomainError::Validation(v)),
    }
}

impl Editable for SubscriptionPlan {
    type Draft = SubscriptionPlanDraft;

    const WRITES: &'static [&'static str] = &["name", "interval", "interval_count", "trial_days"];

    fn bind_draft<'q>(
        draft: &'q SubscriptionPlanDraft,
        query: WriteQuery<'q, Self>,
    ) -> Result<WriteQuery<'q, Self>, DomainError> {
        let (count, trial) = check_plan(draft)?;
        Ok(query.bind(draft.name.trim()).bind(draft.interval).bind(count).bind(trial))
    }

    fn version(&self) -> i64 {
        self.version
    }
}
