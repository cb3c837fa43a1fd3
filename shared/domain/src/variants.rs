//! Product variants (SKU, price, stock, attributes) and guarded stock adjustments.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::ErrorCode;
use crate::catalog::{Money, check_amount, check_attributes, check_currency};
use crate::db::{TenantTx, begin_tenant_tx, product_child, stale_or_missing};
use crate::error::{Constraint, DomainError, Violations};
use crate::outbox::{self, Event};
use crate::resource::WriteQuery;
use crate::tenant::Tenant;
use crate::types::Sku;

/// A stored variant.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Variant {
    pub id: Uuid,
    pub product_id: Uuid,
    pub sku: String,
    pub price: Money,
    /// Units in stock; `null` when stock is not tracked.
    pub stock: Option<i32>,
    #[schema(value_type = Object)]
    pub attributes: Map<String, Value>,
    pub position: i32,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl<'r> sqlx::FromRow<'r, PgRow> for Variant {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        Ok(Variant {
            id: row.try_get("id")?,
            product_id: row.try_get("product_id")?,
            sku: row.try_get("sku")?,
            price: Money { amount: row.try_get("price_amount")?, currency: row.try_get("currency")? },
            stock: row.try_get("stock")?,
            attributes: row.try_get::<sqlx::types::Json<Map<String, Value>>, _>("attributes")?.0,
            position: row.try_get("position")?,
            version: row.try_get("version")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

fn no_stock() -> Option<i64> {
    Some(0)
}

/// A variant as a client writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantDraft {
    /// Stock keeping unit, unique per shop.
    #[schema(schema_with = crate::schemas::sku)]
    pub sku: String,
    pub price: Money,
    /// Units in stock (≥ 0); `null` when stock is not tracked. Defaults to 0.
    #[serde(default = "no_stock")]
    #[schema(schema_with = crate::schemas::stock)]
    pub stock: Option<i64>,
    /// Flat scalar attributes, e.g. `{"color": "natural", "size": "M"}`.
    #[serde(default)]
    #[schema(schema_with = crate::schemas::attributes)]
    pub attributes: Map<String, Value>,
    /// Order among the product's variants (0–100000); defaults to after the last one.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 100_000)]
    pub position: Option<i32>,
}

impl From<&Variant> for VariantDraft {
    fn from(v: &Variant) -> Self {
        VariantDraft {
            sku: v.sku.clone(),
            price: v.price.clone(),
            stock: v.stock.map(i64::from),
            attributes: v.attributes.clone(),
            position: Some(v.position),
        }
    }
}

const CONSTRAINTS: &[Constraint] = &[Constraint::Unique(
    "product_variants_sku_key",
    ErrorCode::SkuTaken,
    "another variant already uses this SKU",
)];

/// A validated draft, with the currency in canonical form.
pub(crate) struct Checked {
    sku: Sku,
    currency: &'static str,
    stock: Option<i32>,
}

/// The largest position a variant may be given (a new one goes last, at most here).
pub const MAX_POSITION: i32 = 100_000;

pub(crate) fn check(draft: &VariantDraft) -> Result<Checked, DomainError> {
    let mut v = Violations::default();
    let sku = v.check("/sku", Sku::parse(&draft.sku));
    check_amount(&mut v, "/price/amount", draft.price.amount);
    let currency = check_currency(&mut v, "/price/currency", &draft.price.currency);
    let stock = match draft.stock {
        None => None,
        Some(n) => match i32::try_from(n) {
            Ok(n) if n >= 0 => Some(n),
            _ => {
                v.push("/stock", "invalid_stock", "stock is a whole number ≥ 0, or null when not tracked");
                None
            }
        },
    };
    check_attributes(&mut v, "/attributes", &draft.attributes);
    if draft.position.is_some_and(|p| !(0..=MAX_POSITION).contains(&p)) {
        v.push("/position", "invalid_position", format!("a position is 0–{MAX_POSITION}"));
    }
    match (sku, currency) {
        (Some(sku), Some(currency)) if v.is_empty() => Ok(Checked { sku, currency: currency.code(), stock }),
        _ => Err(DomainError::Validation(v)),
    }
}

const COLUMNS: &str = "id, product_id, sku, price_amount, currency::text as currency, stock, attributes, position, version, created_at, \
     updated_at";

fn event<'a>(event_type: &'a str, variant: &'a Variant) -> Event<'a, Variant> {
    Event { event_type, aggregate_type: "variant", aggregate_id: variant.id, data: variant }
}

/// `sql` with the variant's key bound as `$1`–`$3` (its id, tenant and product) and the columns
/// a draft writes as `$4`–`$9`, the same in `create`'s insert and `update`'s update.
fn bind_fields<'q>(
    sql: &'q str,
    (id, tenant, product_id): (Uuid, &Tenant, Uuid),
    checked: &'q Checked,
    draft: &'q VariantDraft,
) -> WriteQuery<'q, Variant> {
    sqlx::query_as(sql)
        .bind(id)
        .bind(tenant.id)
        .bind(product_id)
        .bind(&checked.sku)
        .bind(draft.price.amount)
        .bind(checked.currency)
        .bind(checked.stock)
        .bind(sqlx::types::Json(&draft.attributes))
        .bind(draft.position)
}

/// Locks the product (so concurrent writes to its variants queue), or says it is missing.
async fn lock_product(tx: &mut TenantTx, tenant: &Tenant, product_id: Uuid) -> Result<(), DomainError> {
    sqlx::query_scalar::<_, Uuid>("select id from products where tenant_id = $1 and id = $2 for update")
        .bind(tenant.id)
        .bind(product_id)
        .fetch_optional(&mut **tx)
        .await?
        .map(drop)
        .ok_or(DomainError::NotFound { resource: "product" })
}

pub async fn create(
    pool: &PgPool,
    tenant: &Tenant,
    product_id: Uuid,
    draft: &VariantDraft,
) -> Result<Variant, DomainError> {
    let checked = check(draft)?;
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    lock_product(&mut tx, tenant, product_id).await?;
    let sql = format!(
        "insert into product_variants (id, tenant_id, product_id, sku, price_amount, currency, stock, attributes, position)
         values ($1, $2, $3, $4, $5, $6, $7, $8, coalesce($9,
           (select least(coalesce(max(position)::bigint + 1, 0), $10)::integer
              from product_variants where tenant_id = $2 and product_id = $3)))
         returning {COLUMNS}"
    );
    let variant = bind_fields(&sql, (Uuid::now_v7(), tenant, product_id), &checked, draft)
        .bind(MAX_POSITION)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| DomainError::from_constraint(e, CONSTRAINTS))?;
    outbox::append(&mut tx, tenant.id, event("variant.created", &variant)).await?;
    tx.commit().await?;
    Ok(variant)
}

/// The variant, if it belongs to the product.
pub async fn get(pool: &PgPool, tenant: &Tenant, product_id: Uuid, id: Uuid) -> Result<Variant, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let sql = format!(
        "select {COLUMNS} from product_variants where tenant_id = $1 and product_id = $2 and id = $3"
    );
    let variant = product_child(&mut tx, &sql, (product_id, id), "variant").await?;
    tx.commit().await?;
    Ok(variant)
}

/// Every variant of a product, in position order (a product has a handful, never thousands).
pub async fn list(pool: &PgPool, tenant: &Tenant, product_id: Uuid) -> Result<Vec<Variant>, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    ensure_product(&mut tx, tenant, product_id).await?;
    let variants = sqlx::query_as(&format!(
        "select {COLUMNS} from product_variants where tenant_id = $1 and product_id = $2 order by position, id"
    ))
    .bind(tenant.id)
    .bind(product_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(variants)
}

async fn ensure_product(tx: &mut TenantTx, tenant: &Tenant, product_id: Uuid) -> Result<(), DomainError> {
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from products where tenant_id = $1 and id = $2)")
            .bind(tenant.id)
            .bind(product_id)
            .fetch_one(&mut **tx)
            .await?;
    if exists { Ok(()) } else { Err(DomainError::NotFound { resource: "product" }) }
}

pub async fn update(
    pool: &PgPool,
    tenant: &Tenant,
    product_id: Uuid,
    id: Uuid,
    expected_version: i64,
    draft: &VariantDraft,
) -> Result<Variant, DomainError> {
    let checked = check(draft)?;
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let sql = format!(
        "update product_variants set sku = $4, price_amount = $5, currency = $6, stock = $7, attributes = $8,
                position = coalesce($9, position), version = version + 1
         where id = $1 and tenant_id = $2 and product_id = $3 and version = $10
         returning {COLUMNS}"
    );
    let updated: Option<Variant> = bind_fields(&sql, (id, tenant, product_id), &checked, draft)
        .bind(expected_version)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| DomainError::from_constraint(e, CONSTRAINTS))?;
    let Some(variant) = updated else {
        return Err(stale_or_missing(&mut tx, "product_variants", "variant", id).await);
    };
    outbox::append(&mut tx, tenant.id, event("variant.updated", &variant)).await?;
    tx.commit().await?;
    Ok(variant)
}

pub async fn delete(pool: &PgPool, tenant: &Tenant, product_id: Uuid, id: Uuid) -> Result<(), DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let sql = format!(
        "delete from product_variants where tenant_id = $1 and product_id = $2 and id = $3 returning {COLUMNS}"
    );
    let variant: Variant = product_child(&mut tx, &sql, (product_id, id), "variant").await?;
    outbox::append(&mut tx, tenant.id, event("variant.deleted", &variant)).await?;
    tx.commit().await?;
    Ok(())
}

/// A change of stock, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockAdjustment {
    /// Units to add (positive) or remove (negative); never 0.
    #[schema(schema_with = crate::schemas::delta)]
    pub delta: i64,
    /// Why, for the record: `restock`, `damaged`, `count correction`, …
    #[schema(schema_with = crate::schemas::reason)]
    pub reason: String,
}

/// The result of a stock adjustment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StockLevel {
    pub variant_id: Uuid,
    pub sku: String,
    pub delta: i64,
    pub reason: String,
    /// Units in stock after the adjustment.
    pub stock: i32,
    pub version: i64,
}

/// Adjusts stock in one guarded statement: it can never take stock below zero, whatever
/// runs concurrently.
pub async fn adjust_stock(
    pool: &PgPool,
    tenant: &Tenant,
    id: Uuid,
    adjustment: &StockAdjustment,
) -> Result<StockLevel, DomainError> {
    let mut v = Violations::default();
    let delta = i32::try_from(adjustment.delta).ok().filter(|d| *d != 0);
    if delta.is_none() {
        v.push("/delta", "invalid_delta", "delta is a non-zero whole number of units");
    }
    let reason = adjustment.reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        v.push("/reason", "invalid_reason", "a reason is 1–200 characters");
    }
    let Some(delta) = delta.filter(|_| v.is_empty()) else {
        return Err(DomainError::Validation(v));
    };
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let adjusted: Option<(String, i32, i64)> = sqlx::query_as(
        // In bigint, so neither the guard nor the sum can overflow the integer column.
        "update product_variants set stock = (stock::bigint + $3)::integer, version = version + 1
         where tenant_id = $1 and id = $2 and stock is not null
           and stock::bigint + $3 between 0 and 2147483647
         returning sku, stock, version",
    )
    .bind(tenant.id)
    .bind(id)
    .bind(delta)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((sku, stock, version)) = adjusted else {
        let current: Option<Option<i32>> =
            sqlx::query_scalar("select stock from product_variants where tenant_id = $1 and id = $2")
                .bind(tenant.id)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        return Err(match current {
            None => DomainError::NotFound { resource: "variant" },
            Some(None) => DomainError::InvalidState {
                code: ErrorCode::StockUntracked,
                message: "this variant's stock is not tracked; set stock to a number first".to_owned(),
            },
            Some(Some(stock)) if delta < 0 => DomainError::InvalidState {
                code: ErrorCode::InsufficientStock,
                message: format!("only {stock} in stock; cannot remove {}", -i64::from(delta)),
            },
            Some(Some(stock)) => {
                let mut v = Violations::default();
                v.push(
                    "/delta",
                    "stock_out_of_range",
                    format!("{stock} in stock; adding {delta} would exceed {} units", i32::MAX),
                );
                DomainError::Validation(v)
            }
        });
    };
    let level = StockLevel {
        variant_id: id,
        sku,
        delta: adjustment.delta,
        reason: reason.to_owned(),
        stock,
        version,
    };
    let event =
        Event { event_type: "stock.adjusted", aggregate_type: "variant", aggregate_id: id, data: &level };
    outbox::append(&mut tx, tenant.id, event).await?;
    tx.commit().await?;
    Ok(level)
}
