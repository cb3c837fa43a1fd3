//! Customer groups, subscription plans, price lists and their prices (tier prices per
//! variant and minimum quantity).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::ErrorCode;
use crate::catalog::{check_amount, check_currency, check_handle};
use crate::db::{TenantTx, begin_tenant_tx};
use crate::error::{Constraint, DomainError, Violations};
use crate::outbox::{self, Event};
use crate::pagination::{Cursor, Page};
use crate::resource::{self, Editable, Resource};
use crate::tenant::Tenant;

pub(crate) fn check_name(v: &mut Violations, name: &str) {
    if name.trim().is_empty() || name.chars().count() > 200 {
        v.push("/name", "invalid_name", "a name is 1–200 characters");
    }
}

fn done(v: Violations) -> Result<(), DomainError> {
    if v.is_empty() { Ok(()) } else { Err(DomainError::Validation(v)) }
}

// ---------------------------------------------------------------------------------------
// Customer groups

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct CustomerGroup {
    pub id: Uuid,
    pub handle: String,
    pub name: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerGroupDraft {
    #[schema(schema_with = crate::schemas::handle)]
    pub handle: String,
    #[schema(schema_with = crate::schemas::name)]
    pub name: String,
}

impl From<&CustomerGroup> for CustomerGroupDraft {
    fn from(g: &CustomerGroup) -> Self {
        CustomerGroupDraft { handle: g.handle.clone(), name: g.name.clone() }
    }
}

impl Resource for CustomerGroup {
    const NAME: &'static str = "customer group";
    const AGGREGATE: &'static str = "customer_group";
    const TABLE: &'static str = "customer_groups";
    const COLUMNS: &'static str = "id, handle, name, version, created_at, updated_at";
    const CONSTRAINTS: &'static [Constraint] = &[
        Constraint::Unique(
            "customer_groups_handle_key",
            ErrorCode::HandleTaken,
            "another customer group uses this handle",
        ),
        Constraint::InUse(
            "price_lists_customer_group_fkey",
            ErrorCode::InUse,
            "price lists still refer to this customer group",
        ),
    ];

    fn id(&self) -> Uuid {
        self.id
    }

    fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
}

fn check_group(draft: &CustomerGroupDraft) -> Result<(), DomainError> {
    let mut v = Violations::default();
    v.check("/handle", check_handle(&draft.handle, 100));
    check_name(&mut v, &draft.name);
    done(v)
}

pub async fn create_customer_group(
    pool: &PgPool,
    tenant: &Tenant,
    draft: &CustomerGroupDraft,
) -> Result<CustomerGroup, DomainError> {
    check_group(draft)?;
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let row = sqlx::query_as(&format!(
        "insert into customer_groups (id, tenant_id, handle, name) values ($1, $2, $3, $4) returning {}",
        CustomerGroup::COLUMNS
    ))
    .bind(Uuid::now_v7())
    .bind(tenant.id)
    .bind(&draft.handle)
    .bind(draft.name.trim())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| DomainError::from_constraint(e, CustomerGroup::CONSTRAINTS))?;
    resource::created(tx, tenant, row).await
}

pub async fn update_customer_group(
    pool: &PgPool,
    tenant: &Tenant,
    id: Uuid,
    expected_version: i64,
    draft: &CustomerGroupDraft,
) -> Result<CustomerGroup, DomainError> {
    check_group(draft)?;
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let row = sqlx::query_as(&format!(
        "update customer_groups set handle = $4, name = $5, version = version + 1
         where tenant_id = $1 and id = $2 and version = $3 returning {}",
        CustomerGroup::COLUMNS
    ))
    .bind(tenant.id)
    .bind(id)
    .bind(expected_version)
    .bind(&draft.handle)
    .bind(draft.name.trim())
    .fetch_optional(&mut *tx)
    .await
    .map_err(|e| DomainError::from_constraint(e, CustomerGroup::CONSTRAINTS))?;
    resource::updated(tx, tenant, id, row).await
}

// ---------------------------------------------------------------------------------------
// Subscription plans

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

pub async fn create_subscription_plan(
    pool: &PgPool,
    tenant: &Tenant,
    draft: &SubscriptionPlanDraft,
) -> Result<SubscriptionPlan, DomainError> {
    let (count, trial) = check_plan(draft)?;
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let row = sqlx::query_as(&format!(
        "insert into subscription_plans (id, tenant_id, name, interval, interval_count, trial_days)
         values ($1, $2, $3, $4, $5, $6) returning {}",
        SubscriptionPlan::COLUMNS
    ))
    .bind(Uuid::now_v7())
    .bind(tenant.id)
    .bind(draft.name.trim())
    .bind(draft.interval)
    .bind(count)
    .bind(trial)
    .fetch_one(&mut *tx)
    .await?;
    resource::created(tx, tenant, row).await
}

pub async fn update_subscription_plan(
    pool: &PgPool,
    tenant: &Tenant,
    id: Uuid,
    expected_version: i64,
    draft: &SubscriptionPlanDraft,
) -> Result<SubscriptionPlan, DomainError> {
    let (count, trial) = check_plan(draft)?;
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let row = sqlx::query_as(&format!(
        "update subscription_plans set name = $4, interval = $5, interval_count = $6, trial_days = $7,
                version = version + 1
         where tenant_id = $1 and id = $2 and version = $3 returning {}",
        SubscriptionPlan::COLUMNS
    ))
    .bind(tenant.id)
    .bind(id)
    .bind(expected_version)
    .bind(draft.name.trim())
    .bind(draft.interval)
    .bind(count)
    .bind(trial)
    .fetch_optional(&mut *tx)
    .await?;
    resource::updated(tx, tenant, id, row).await
}

// ---------------------------------------------------------------------------------------
// Price lists

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

pub async fn create_price_list(
    pool: &PgPool,
    tenant: &Tenant,
    draft: &PriceListDraft,
) -> Result<PriceList, DomainError> {
    let currency = check_price_list(draft)?;
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let row = sqlx::query_as(&format!(
        "insert into price_lists (id, tenant_id, name, customer_group_id, currency, starts_at, ends_at, priority, status)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning {}",
        PriceList::COLUMNS
    ))
    .bind(Uuid::now_v7())
    .bind(tenant.id)
    .bind(draft.name.trim())
    .bind(draft.customer_group_id)
    .bind(currency)
    .bind(draft.starts_at)
    .bind(draft.ends_at)
    .bind(draft.priority)
    .bind(draft.status)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| DomainError::from_constraint(e, PriceList::CONSTRAINTS))?;
    resource::created(tx, tenant, row).await
}

pub async fn update_price_list(
    pool: &PgPool,
    tenant: &Tenant,
    id: Uuid,
    expected_version: i64,
    draft: &PriceListDraft,
) -> Result<PriceList, DomainError> {
    let currency = check_price_list(draft)?;
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let row = sqlx::query_as(&format!(
        "update price_lists set name = $4, customer_group_id = $5, currency = $6, starts_at = $7, ends_at = $8,
                priority = $9, status = $10, version = version + 1
         where tenant_id = $1 and id = $2 and version = $3 returning {}",
        PriceList::COLUMNS
    ))
    .bind(tenant.id)
    .bind(id)
    .bind(expected_version)
    .bind(draft.name.trim())
    .bind(draft.customer_group_id)
    .bind(currency)
    .bind(draft.starts_at)
    .bind(draft.ends_at)
    .bind(draft.priority)
    .bind(draft.status)
    .fetch_optional(&mut *tx)
    .await
    .map_err(|e| DomainError::from_constraint(e, PriceList::CONSTRAINTS))?;
    resource::updated(tx, tenant, id, row).await
}

// ---------------------------------------------------------------------------------------
// Price list prices

/// The most rows one bulk upsert takes.
pub const MAX_PRICE_ROWS: usize = 1_000;

fn one_unit() -> i64 {
    1
}

/// One price of a list: the amount a variant costs from `min_quantity` units on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListPriceRow {
    /// A variant of the shop.
    pub variant_id: Uuid,
    /// Minor units of the list's currency (0–1,000,000,000,000).
    #[schema(schema_with = crate::schemas::amount)]
    pub amount: i64,
    /// The tier: the price applies from this many units on (1–1,000,000, default 1).
    #[serde(default = "one_unit")]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub min_quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceUpsert {
    /// 1–1,000 rows, written all together or not at all; each variant and `min_quantity`
    /// at most once, each variant one of the shop's.
    #[schema(min_items = 1, max_items = 1000)]
    pub prices: Vec<ListPriceRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PriceUpsertResult {
    pub price_list_id: Uuid,
    /// Rows inserted or changed.
    pub upserted: usize,
    /// The price list's version after the change.
    pub version: i64,
}

/// Inserts or replaces up to 1,000 prices in one transaction: every row is checked first and
/// any error (reported per row) writes nothing.
pub async fn upsert_prices(
    pool: &PgPool,
    tenant: &Tenant,
    price_list_id: Uuid,
    upsert: &PriceUpsert,
) -> Result<PriceUpsertResult, DomainError> {
    let rows = &upsert.prices;
    let mut v = Violations::default();
    if rows.is_empty() || rows.len() > MAX_PRICE_ROWS {
        v.push("/prices", "invalid_count", format!("send 1–{MAX_PRICE_ROWS} prices"));
        return Err(DomainError::Validation(v));
    }
    let mut seen = HashSet::new();
    for (i, row) in rows.iter().enumerate() {
        check_amount(&mut v, &format!("/prices/{i}/amount"), row.amount);
        if !(1..=1_000_000).contains(&row.min_quantity) {
            v.push(format!("/prices/{i}/min_quantity"), "out_of_range", "min_quantity is 1–1,000,000");
        }
        if !seen.insert((row.variant_id, row.min_quantity)) {
            v.push(format!("/prices/{i}"), "duplicate", "this variant and min_quantity appear twice");
        }
    }
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let locked: Option<Uuid> =
        sqlx::query_scalar("select id from price_lists where tenant_id = $1 and id = $2 for update")
            .bind(tenant.id)
            .bind(price_list_id)
            .fetch_optional(&mut *tx)
            .await?;
    locked.ok_or(DomainError::NotFound { resource: "price list" })?;
    let variant_ids: Vec<Uuid> = rows.iter().map(|r| r.variant_id).collect();
    let known: HashSet<Uuid> = sqlx::query_scalar::<_, Uuid>(
        "select id from product_variants where tenant_id = $1 and id = any($2)",
    )
    .bind(tenant.id)
    .bind(&variant_ids)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    for (i, row) in rows.iter().enumerate() {
        if !known.contains(&row.variant_id) {
            v.push(format!("/prices/{i}/variant_id"), "unknown_reference", "no variant with this id exists");
        }
    }
    if !v.is_empty() {
        return Err(DomainError::Validation(v));
    }
    let amounts: Vec<i64> = rows.iter().map(|r| r.amount).collect();
    let quantities: Vec<i32> =
        rows.iter().map(|r| i32::try_from(r.min_quantity).unwrap_or(i32::MAX)).collect();
    let written = sqlx::query(
        "insert into price_list_prices (tenant_id, price_list_id, variant_id, min_quantity, amount)
         select $1, $2, r.variant_id, r.min_quantity, r.amount
         from unnest($3::uuid[], $4::int[], $5::bigint[]) as r (variant_id, min_quantity, amount)
         on conflict (price_list_id, variant_id, min_quantity)
           do update set amount = excluded.amount where price_list_prices.amount <> excluded.amount",
    )
    .bind(tenant.id)
    .bind(price_list_id)
    .bind(&variant_ids)
    .bind(&quantities)
    .bind(&amounts)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let list = prices_changed(&mut tx, tenant, price_list_id, serde_json::json!({ "prices": rows })).await?;
    tx.commit().await?;
    Ok(PriceUpsertResult {
        price_list_id,
        upserted: usize::try_from(written).unwrap_or(0),
        version: list.version,
    })
}

/// The ordering cursors of [`list_prices`] belong to.
pub const PRICES_ORDERING: &str = "prices:variant_id,min_quantity:asc";

/// A page of a price list's prices, by variant and tier.
pub async fn list_prices(
    pool: &PgPool,
    tenant: &Tenant,
    price_list_id: Uuid,
    limit: i64,
    cursor: Option<&Cursor>,
) -> Result<Page<ListPriceRow>, DomainError> {
    resource::get::<PriceList>(pool, tenant, price_list_id).await?;
    // The cursor's key is a checked i64; tiers are stored as integer, so clamp into range
    // (a forged key beyond it sorts after every stored tier, as it would in i64).
    let after_quantity: Option<i32> = cursor
        .and_then(|c| c.key.as_deref())
        .and_then(|k| k.parse::<i64>().ok())
        .map(|q| i32::try_from(q.clamp(0, i64::from(i32::MAX))).unwrap_or(i32::MAX));
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let rows: Vec<(Uuid, i64, i32)> = sqlx::query_as(
        "select variant_id, amount, min_quantity from price_list_prices
         where tenant_id = $1 and price_list_id = $2
           and ($3::uuid is null or (variant_id, min_quantity) > ($3, $4))
         order by variant_id, min_quantity limit $5",
    )
    .bind(tenant.id)
    .bind(price_list_id)
    .bind(cursor.map(|c| c.id))
    .bind(after_quantity.unwrap_or(0))
    .bind(limit + 1)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let rows = rows
        .into_iter()
        .map(|(variant_id, amount, min_quantity)| ListPriceRow {
            variant_id,
            amount,
            min_quantity: i64::from(min_quantity),
        })
        .collect();
    Ok(Page::from_rows(rows, limit, |row| {
        Cursor::new(PRICES_ORDERING, tenant.id, Some(row.min_quantity.to_string()), row.variant_id)
    }))
}

/// Removes one tier price from a list.
pub async fn delete_price(
    pool: &PgPool,
    tenant: &Tenant,
    price_list_id: Uuid,
    variant_id: Uuid,
    min_quantity: i64,
) -> Result<(), DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let quantity = i32::try_from(min_quantity).unwrap_or(0);
    let deleted = sqlx::query(
        "delete from price_list_prices
         where tenant_id = $1 and price_list_id = $2 and variant_id = $3 and min_quantity = $4",
    )
    .bind(tenant.id)
    .bind(price_list_id)
    .bind(variant_id)
    .bind(quantity)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if deleted == 0 {
        return Err(DomainError::NotFound { resource: "price" });
    }
    let removed =
        serde_json::json!({ "removed": { "variant_id": variant_id, "min_quantity": min_quantity } });
    prices_changed(&mut tx, tenant, price_list_id, removed).await?;
    tx.commit().await?;
    Ok(())
}

/// After a change of a list's prices: bumps the list's version and records
/// `price_list.updated` with the list and `change` (an object) merged into its data.
async fn prices_changed(
    tx: &mut TenantTx,
    tenant: &Tenant,
    price_list_id: Uuid,
    change: serde_json::Value,
) -> Result<PriceList, DomainError> {
    let list: PriceList = sqlx::query_as(&format!(
        "update price_lists set version = version + 1 where tenant_id = $1 and id = $2 returning {}",
        PriceList::COLUMNS
    ))
    .bind(tenant.id)
    .bind(price_list_id)
    .fetch_one(&mut **tx)
    .await?;
    let mut data = change;
    data["price_list"] = serde_json::to_value(&list).unwrap_or_default();
    let event = Event {
        event_type: "price_list.updated",
        aggregate_type: "price_list",
        aggregate_id: price_list_id,
        data: &data,
    };
    outbox::append(tx, tenant.id, event).await?;
    Ok(list)
}

impl Editable for CustomerGroup {
    type Draft = CustomerGroupDraft;

    // A group's handle decides which B2B products and prices a shopper sees.
    const SHOWN_IN_STOREFRONT: bool = true;

    fn create(
        pool: &PgPool,
        tenant: &Tenant,
        draft: &CustomerGroupDraft,
    ) -> impl Future<Output = Result<Self, DomainError>> + Send {
        create_customer_group(pool, tenant, draft)
    }

    fn update(
        pool: &PgPool,
        tenant: &Tenant,
        id: Uuid,
        expected_version: i64,
        draft: &CustomerGroupDraft,
    ) -> impl Future<Output = Result<Self, DomainError>> + Send {
        update_customer_group(pool, tenant, id, expected_version, draft)
    }

    fn version(&self) -> i64 {
        self.version
    }
}

impl Editable for SubscriptionPlan {
    type Draft = SubscriptionPlanDraft;

    fn create(
        pool: &PgPool,
        tenant: &Tenant,
        draft: &SubscriptionPlanDraft,
    ) -> impl Future<Output = Result<Self, DomainError>> + Send {
        create_subscription_plan(pool, tenant, draft)
    }

    fn update(
        pool: &PgPool,
        tenant: &Tenant,
        id: Uuid,
        expected_version: i64,
        draft: &SubscriptionPlanDraft,
    ) -> impl Future<Output = Result<Self, DomainError>> + Send {
        update_subscription_plan(pool, tenant, id, expected_version, draft)
    }

    fn version(&self) -> i64 {
        self.version
    }
}

impl Editable for PriceList {
    type Draft = PriceListDraft;

    // Its prices, window and status decide what the group's shoppers pay.
    const SHOWN_IN_STOREFRONT: bool = true;

    fn create(
        pool: &PgPool,
        tenant: &Tenant,
        draft: &PriceListDraft,
    ) -> impl Future<Output = Result<Self, DomainError>> + Send {
        create_price_list(pool, tenant, draft)
    }

    fn update(
        pool: &PgPool,
        tenant: &Tenant,
        id: Uuid,
        expected_version: i64,
        draft: &PriceListDraft,
    ) -> impl Future<Output = Result<Self, DomainError>> + Send {
        update_price_list(pool, tenant, id, expected_version, draft)
    }

    fn version(&self) -> i64 {
        self.version
    }
}
