//! Price lists: a customer group's prices in one currency, for a time window, ranked by
//! priority. Their prices are in [`super::prices`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::check_name;
use crate::catalog::check_currency;
use crate::error::{Constraint, DomainError, Violations};
use crate::resource::{Editable, Resource, WriteQuery};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum PriceListStatus {
    Draft,
    Active,
}

fn active() -> PriceListStatus {
    PriceListStatus::Active
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PriceList {
    pub id: Uuid,
    pub name: String,
    pub customer_group_id: Uuid,
    pub currency: String,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub priority: i32,
    pub status: PriceListStatus,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceListDraft {
    #[schema(schema_with = crate::schemas::name)]
    pub name: String,
    /// The customer group whose members get these prices.
    #[schema(schema_with = crate::schemas::customer_group_id)]
    pub customer_group_id: Uuid,
    #[schema(schema_with = crate::schemas::currency)]
    pub currency: String,
    /// The list applies from this moment (inclusive); always when absent.
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    /// … until this moment (exclusive), which must be after `starts_at`; forever when absent.
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    /// Between lists offering the same tier, the higher priority wins.
    #[serde(default)]
    #[schema(minimum = -2147483648, maximum = 2147483647)]
    pub priority: i32,
    #[serde(default = "active")]
    pub status: PriceListStatus,
}

impl From<&PriceList> for PriceListDraft {
    fn from(l: &PriceList) -> Self {
        PriceListDraft {
            name: l.name.clone(),
            customer_group_id: l.customer_group_id,
            currency: l.currency.clone(),
            starts_at: l.starts_at,
            ends_at: l.ends_at,
            priority: l.priority,
            status: l.status,
        }
    }
}

impl Resource for PriceList {
    const NAME: &'static str = "price list";
    const PLURAL: &'static str = "price lists";
    const AGGREGATE: &'static str = "price_list";
    const TABLE: &'static str = "price_lists";
    const COLUMNS: &'static str = "id, name, customer_group_id, currency::text as currency, starts_at, ends_at, priority, status, \
                                   version, created_at, updated_at";
    const CONSTRAINTS: &'static [Constraint] = &[Constraint::Reference(
        "price_lists_customer_group_fkey",
        "/customer_group_id",
        "no customer group with this id exists",
    )];

    fn id(&self) -> Uuid {
        self.id
    }

    fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
}

/// The checked currency code.
fn check_price_list(draft: &PriceListDraft) -> Result<&'static str, DomainError> {
    let mut v = Violations::default();
    check_name(&mut v, &draft.name);
    let currency = check_currency(&mut v, "/currency", &draft.currency);
    if let (Some(starts), Some(ends)) = (draft.starts_at, draft.ends_at)
        && starts >= ends
    {
        v.push("/ends_at", "invalid_window", "ends_at must be after starts_at");
    }
    match currency {
        Some(currency) if v.is_empty() => Ok(currency.code()),
        _ => Err(DomainError::Validation(v)),
    }
}

impl Editable for PriceList {
    type Draft = PriceListDraft;

    // Its prices, window and status decide what the group's shoppers pay.
    const SHOWN_IN_STOREFRONT: bool = true;

    const WRITES: &'static [&'static str] =
        &["name", "customer_group_id", "currency", "starts_at", "ends_at", "priority", "status"];

    fn bind_draft<'q>(
        draft: &'q PriceListDraft,
        query: WriteQuery<'q, Self>,
    ) -> Result<WriteQuery<'q, Self>, DomainError> {
        let currency = check_price_list(draft)?;
        Ok(query
            .bind(draft.name.trim())
            .bind(draft.customer_group_id)
            .bind(currency)
            .bind(draft.starts_at)
            .bind(draft.ends_at)
            .bind(draft.priority)
            .bind(draft.status))
    }

    fn version(&self) -> i64 {
        self.version
    }
}
