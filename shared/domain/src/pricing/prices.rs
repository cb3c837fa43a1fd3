//! The prices of a price list: tier prices per variant and minimum quantity, written in
//! bulk, listed by variant and tier, removed one at a time. Each change bumps the list's
//! version and records `price_list.updated`.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::PriceList;
use crate::catalog::check_amount;
use crate::db::{TenantTx, begin_tenant_tx};
use crate::error::{DomainError, Violations};
use crate::outbox::{self, Event};
use crate::pagination::{Cursor, Page};
use crate::resource::{self, Resource};
use crate::tenant::Tenant;

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
