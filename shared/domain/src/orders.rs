//! Orders, minimal: placed by staff (later by checkout) with lines priced from the catalog,
//! then worked on by the "On order placed" workflow: stock deducted all-or-nothing with
//! guarded updates, taxes calculated, status set. Each workflow effect takes the caller's
//! transaction, so the engine commits it together with the step's record.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::ErrorCode;
use crate::catalog::Money;
use crate::db::{TenantTx, begin_tenant_tx};
use crate::error::{DomainError, Violations};
use crate::outbox::{self, Event};
use crate::pagination::{Cursor, Page, time_key};
use crate::taxes::{check_country, line_tax, prices_include_tax};
use crate::tenant::{Tenant, TenantId};
use crate::types::{Email, Quantity};
use crate::variants::StockLevel;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Checked out, waiting for the payment; its stock is reserved.
    PendingPayment,
    Placed,
    /// Something needs a person (e.g. stock ran out); see `status_reason`.
    NeedsAttention,
    Processing,
    Completed,
    Cancelled,
    /// The payment failed; the reservation was released.
    PaymentFailed,
    /// The shopper canceled the payment; the reservation was released.
    Canceled,
    /// The payment expired unpaid; the reservation was released.
    Expired,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct OrderLine {
    pub position: i32,
    pub variant_id: Uuid,
    pub sku: String,
    pub title: String,
    pub quantity: i32,
    pub unit_price_amount: i64,
    pub tax_class: String,
    /// unit price × quantity.
    pub line_amount: i64,
    /// Set when taxes are calculated.
    pub tax_rate_bp: Option<i32>,
    pub tax_amount: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Order {
    pub id: Uuid,
    /// Per shop, from 1.
    pub number: i64,
    pub customer_email: String,
    pub shipping_country: String,
    pub currency: String,
    pub status: OrderStatus,
    pub status_reason: Option<String>,
    pub prices_include_tax: bool,
    /// Sum of the line amounts, in minor units of `currency`.
    pub subtotal_amount: i64,
    /// The shipping method charged at checkout (`null` for orders placed by staff).
    pub shipping_method: Option<String>,
    /// What the shipping method cost (0 when none).
    pub shipping_amount: i64,
    /// The shipping's share of `tax_amount`.
    pub shipping_tax_amount: Option<i64>,
    /// null until the taxes are calculated; includes the shipping's tax.
    pub tax_amount: Option<i64>,
    /// Lines and shipping, plus the tax when prices exclude it.
    pub total_amount: i64,
    /// Refunded so far (refunds that did not fail or get canceled), minor units.
    pub refunded_amount: i64,
    pub stock_deducted_at: Option<DateTime<Utc>>,
    pub taxes_calculated_at: Option<DateTime<Utc>>,
    #[sqlx(skip)]
    pub lines: Vec<OrderLine>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, number, customer_email, shipping_country::text, currency::text, status, status_reason, \
     prices_include_tax, subtotal_amount, shipping_method, shipping_amount, shipping_tax_amount, tax_amount, \
     total_amount, refunded_amount, stock_deducted_at, taxes_calculated_at, version, created_at, updated_at";
const LINE_COLUMNS: &str = "position, variant_id, sku, title, quantity, unit_price_amount, tax_class, line_amount, \
     tax_rate_bp, tax_amount";

/// An order as its shopper sees it: what was bought and charged, and where it stands
/// (no staff notes, no workflow bookkeeping).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ShopperOrder {
    pub id: Uuid,
    pub number: i64,
    pub status: OrderStatus,
    pub currency: String,
    pub shipping_country: String,
    pub shipping_method: Option<String>,
    pub prices_include_tax: bool,
    pub subtotal_amount: i64,
    pub shipping_amount: i64,
    pub tax_amount: Option<i64>,
    pub total_amount: i64,
    pub refunded_amount: i64,
    pub lines: Vec<ShopperOrderLine>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ShopperOrderLine {
    pub variant_id: Uuid,
    pub sku: String,
    pub title: String,
    pub quantity: i32,
    pub unit_price_amount: i64,
    pub line_amount: i64,
    pub tax_amount: Option<i64>,
}

impl From<&Order> for ShopperOrder {
    fn from(o: &Order) -> Self {
        ShopperOrder {
            id: o.id,
            number: o.number,
            status: o.status,
            currency: o.currency.clone(),
            shipping_country: o.shipping_country.clone(),
            shipping_method: o.shipping_method.clone(),
            prices_include_tax: o.prices_include_tax,
            subtotal_amount: o.subtotal_amount,
            shipping_amount: o.shipping_amount,
            tax_amount: o.tax_amount,
            total_amount: o.total_amount,
            refunded_amount: o.refunded_amount,
            lines: o
                .lines
                .iter()
                .map(|l| ShopperOrderLine {
                    variant_id: l.variant_id,
                    sku: l.sku.clone(),
                    title: l.title.clone(),
                    quantity: l.quantity,
                    unit_price_amount: l.unit_price_amount,
                    line_amount: l.line_amount,
                    tax_amount: l.tax_amount,
                })
                .collect(),
            created_at: o.created_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderLineDraft {
    pub variant_id: Uuid,
    #[schema(minimum = 1, maximum = 10000)]
    pub quantity: i64,
}

/// A manual order as staff place it; prices come from the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderDraft {
    #[schema(schema_with = crate::schemas::email)]
    pub customer_email: String,
    /// ISO 3166-1 alpha-2; decides the tax rates.
    #[schema(schema_with = crate::schemas::country)]
    pub shipping_country: String,
    /// Defaults to the shop's currency; every variant must be priced in it.
    #[serde(default)]
    #[schema(schema_with = crate::schemas::order_currency)]
    pub currency: Option<String>,
    /// 1–100 lines, one per variant (each an active variant of the shop, priced in the
    /// order's currency).
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<OrderLineDraft>,
}

/// The customer's email, checked by [`Email::parse`]'s rule.
pub(crate) fn check_email(v: &mut Violations, raw: &str) -> Option<Email> {
    v.check("/customer_email", Email::parse(raw))
}

struct PricedVariant {
    id: Uuid,
    sku: String,
    title: String,
    price_amount: i64,
    currency: String,
    tax_class: String,
    active: bool,
}

/// What placing an order came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Placed {
    New(Order),
    /// The idempotency key placed this order before, from the same request.
    Replayed(Order),
}

impl Placed {
    pub fn order(&self) -> &Order {
        match self {
            Placed::New(order) | Placed::Replayed(order) => order,
        }
    }
}

/// Places an order at most once per `idempotency_key`: a repeat of the same request returns
/// the order placed the first time; another request under the same key is a conflict.
pub async fn place_once(
    pool: &PgPool,
    tenant: &Tenant,
    draft: &OrderDraft,
    idempotency_key: &str,
) -> Result<Placed, DomainError> {
    if let Some(earlier) = placed_under(pool, tenant, draft, idempotency_key).await? {
        return Ok(Placed::Replayed(earlier));
    }
    match insert(pool, tenant, draft, Some(idempotency_key)).await {
        Err(DomainError::Conflict { code: ErrorCode::IdempotencyKeyRace, .. }) => {
            // A concurrent request with this key won; answer as it did.
            let earlier = placed_under(pool, tenant, draft, idempotency_key).await?;
            earlier.map(Placed::Replayed).ok_or(DomainError::NotFound { resource: "order" })
        }
        placed => placed.map(Placed::New),
    }
}

/// The order placed under `key`, if any; `Conflict` if it came from another request.
async fn placed_under(
    pool: &PgPool,
    tenant: &Tenant,
    draft: &OrderDraft,
    key: &str,
) -> Result<Option<Order>, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let earlier: Option<(Uuid, Option<Value>)> =
        sqlx::query_as("select id, request from orders where tenant_id = $1 and idempotency_key = $2")
            .bind(tenant.id)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((id, request)) = earlier else {
        return Ok(None);
    };
    if request != serde_json::to_value(draft).ok() {
        return Err(DomainError::Conflict {
            code: ErrorCode::IdempotencyKeyReused,
            message: "this Idempotency-Key was used for another request".to_owned(),
        });
    }
    let order = load(&mut tx, tenant.id, id, false).await?;
    tx.commit().await?;
    Ok(Some(order))
}

/// Places an order: validates it, prices every line from the catalog, numbers it, and
/// appends `order.placed` — all in one transaction. Stock is not touched here: the
/// "On order placed" workflow deducts it.
pub async fn place(pool: &PgPool, tenant: &Tenant, draft: &OrderDraft) -> Result<Order, DomainError> {
    insert(pool, tenant, draft, None).await
}

async fn insert(
    pool: &PgPool,
    tenant: &Tenant,
    draft: &OrderDraft,
    idempotency_key: Option<&str>,
) -> Result<Order, DomainError> {
    let mut v = Violations::default();
    let email = check_email(&mut v, &draft.customer_email);
    let country = check_country(&mut v, "/shipping_country", &draft.shipping_country);
    let currency = draft.currency.as_deref().unwrap_or(&tenant.default_currency);
    let currency = v.check("/currency", crate::currency::Currency::parse(currency));
    if draft.lines.is_empty() || draft.lines.len() > 100 {
        v.push("/lines", "invalid_lines", "an order has 1–100 lines");
    }
    let mut quantities = Vec::with_capacity(draft.lines.len());
    for (i, line) in draft.lines.iter().enumerate() {
        quantities.push(v.check(&format!("/lines/{i}/quantity"), Quantity::parse(line.quantity)));
        if draft.lines[..i].iter().any(|l| l.variant_id == line.variant_id) {
            v.push(format!("/lines/{i}/variant_id"), "duplicate_line", "each variant appears on one line");
        }
    }
    let (Some(currency), Some(email), Some(country)) = (currency, email, country) else {
        return Err(DomainError::Validation(v));
    };
    let quantities: Vec<Quantity> = quantities.into_iter().flatten().collect();
    if !v.is_empty() || quantities.len() != draft.lines.len() {
        return Err(DomainError::Validation(v));
    }
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let ids: Vec<Uuid> = draft.lines.iter().map(|l| l.variant_id).collect();
    let rows: Vec<(Uuid, String, String, i64, String, String, bool)> = sqlx::query_as(
        "select v.id, v.sku, coalesce(p.title ->> $3, p.title ->> (select min(k) from jsonb_object_keys(p.title) k)),
                v.price_amount, v.currency::text, p.tax_class, p.status = 'active'
         from product_variants v join products p on p.tenant_id = v.tenant_id and p.id = v.product_id
         where v.tenant_id = $1 and v.id = any($2)",
    )
    .bind(tenant.id)
    .bind(&ids)
    .bind(&tenant.default_locale)
    .fetch_all(&mut *tx)
    .await?;
    let variants: Vec<PricedVariant> = rows
        .into_iter()
        .map(|(id, sku, title, price_amount, currency, tax_class, active)| PricedVariant {
            id,
            sku,
            title,
            price_amount,
            currency,
            tax_class,
            active,
        })
        .collect();
    let mut lines = Vec::with_capacity(draft.lines.len());
    // At most 100 lines (checked above), so positions count in i32 without a fallback.
    for ((position, (i, line)), quantity) in (0i32..).zip(draft.lines.iter().enumerate()).zip(&quantities) {
        let pointer = format!("/lines/{i}/variant_id");
        match variants.iter().find(|variant| variant.id == line.variant_id) {
            None => v.push(pointer, "unknown_variant", "no variant with this id in this shop"),
            Some(variant) if !variant.active => {
                v.push(pointer, "not_for_sale", "the variant's product is not active")
            }
            Some(variant) if variant.currency != currency.code() => v.push(
                pointer,
                "currency_mismatch",
                format!("the variant is priced in {}, the order is in {}", variant.currency, currency.code()),
            ),
            Some(variant) => {
                let quantity = quantity.get();
                lines.push(OrderLine {
                    position,
                    variant_id: variant.id,
                    sku: variant.sku.clone(),
                    title: variant.title.clone(),
                    quantity,
                    unit_price_amount: variant.price_amount,
                    tax_class: variant.tax_class.clone(),
                    line_amount: variant.price_amount.saturating_mul(i64::from(quantity)),
                    tax_rate_bp: None,
                    tax_amount: None,
                })
            }
        }
    }
    let subtotal = lines.iter().map(|l| l.line_amount).fold(0i64, i64::saturating_add);
    if subtotal > crate::catalog::MAX_AMOUNT {
        v.push("/lines", "order_too_large", "the order's total exceeds the largest amount Kassa accepts");
    }
    if !v.is_empty() {
        return Err(DomainError::Validation(v));
    }
    let number: i64 = sqlx::query_scalar(
        "insert into order_numbers (tenant_id, last) values ($1, 1)
         on conflict (tenant_id) do update set last = order_numbers.last + 1 returning last",
    )
    .bind(tenant.id)
    .fetch_one(&mut *tx)
    .await?;
    let id = Uuid::now_v7();
    let mut order: Order = sqlx::query_as(&format!(
        "insert into orders (id, tenant_id, number, customer_email, shipping_country, currency,
                             prices_include_tax, subtotal_amount, total_amount, idempotency_key, request)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10) returning {COLUMNS}"
    ))
    .bind(id)
    .bind(tenant.id)
    .bind(number)
    .bind(&email)
    .bind(&country)
    .bind(currency.code())
    .bind(prices_include_tax(tenant))
    .bind(subtotal)
    .bind(idempotency_key)
    .bind(idempotency_key.and_then(|_| serde_json::to_value(draft).ok()))
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| DomainError::from_constraint(e, IDEMPOTENCY))?;
    for line in &lines {
        sqlx::query(
            "insert into order_lines (tenant_id, order_id, position, variant_id, sku, title, quantity,
                                      unit_price_amount, tax_class, line_amount)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(tenant.id)
        .bind(id)
        .bind(line.position)
        .bind(line.variant_id)
        .bind(&line.sku)
        .bind(&line.title)
        .bind(line.quantity)
        .bind(line.unit_price_amount)
        .bind(&line.tax_class)
        .bind(line.line_amount)
        .execute(&mut *tx)
        .await?;
    }
    order.lines = lines;
    record(&mut tx, tenant.id, "order.placed", &order).await?;
    tx.commit().await?;
    Ok(order)
}

const IDEMPOTENCY: &[crate::error::Constraint] = &[crate::error::Constraint::Unique(
    "orders_idempotency_key",
    ErrorCode::IdempotencyKeyRace,
    "a concurrent request placed an order under this Idempotency-Key",
)];

pub(crate) async fn record(
    tx: &mut TenantTx,
    tenant: TenantId,
    event_type: &str,
    order: &Order,
) -> Result<(), DomainError> {
    let event = Event { event_type, aggregate_type: "order", aggregate_id: order.id, data: order };
    outbox::append(tx, tenant, event).await
}

/// Records `event_type` with order `id` as it now is inside `tx`.
pub(crate) async fn record_current(
    tx: &mut TenantTx,
    tenant: TenantId,
    id: Uuid,
    event_type: &str,
) -> Result<(), DomainError> {
    let order = load(tx, tenant, id, false).await?;
    record(tx, tenant, event_type, &order).await
}

/// The order with its lines, inside `tx`; `lock` holds the row until the transaction ends.
pub async fn load(tx: &mut TenantTx, tenant: TenantId, id: Uuid, lock: bool) -> Result<Order, DomainError> {
    let mut order: Order = sqlx::query_as(&format!(
        "select {COLUMNS} from orders where tenant_id = $1 and id = $2 {}",
        if lock { "for update" } else { "" }
    ))
    .bind(tenant)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(DomainError::NotFound { resource: "order" })?;
    order.lines = sqlx::query_as(&format!(
        "select {LINE_COLUMNS} from order_lines where tenant_id = $1 and order_id = $2 order by position"
    ))
    .bind(tenant)
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(order)
}

pub async fn get(pool: &PgPool, tenant: &Tenant, id: Uuid) -> Result<Order, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let order = load(&mut tx, tenant.id, id, false).await?;
    tx.commit().await?;
    Ok(order)
}

pub const LIST_ORDERING: &str = "orders:created_at:desc";

/// Which orders a list holds.
#[derive(Debug, Clone, Copy, Default)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    /// Only this customer's (a shopper's own list).
    pub customer_id: Option<Uuid>,
}

/// Newest first, with their lines.
pub async fn list(
    pool: &PgPool,
    tenant: &Tenant,
    limit: i64,
    cursor: Option<&Cursor>,
    filter: OrderFilter,
) -> Result<Page<Order>, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let mut orders: Vec<Order> = sqlx::query_as(&format!(
        "select {COLUMNS} from orders where tenant_id = $1
           and ($2::timestamptz is null or (created_at, id) < ($2::timestamptz, $3))
           and ($4::text is null or status = $4)
           and ($6::uuid is null or customer_id = $6)
         order by created_at desc, id desc limit $5"
    ))
    .bind(tenant.id)
    .bind(cursor.and_then(|c| c.key.clone()))
    .bind(cursor.map(|c| c.id))
    .bind(filter.status)
    .bind(limit + 1)
    .bind(filter.customer_id)
    .fetch_all(&mut *tx)
    .await?;
    let ids: Vec<Uuid> = orders.iter().map(|o| o.id).collect();
    let lines: Vec<(Uuid, OrderLine)> = sqlx::query_as::<_, LineRow>(&format!(
        "select order_id, {LINE_COLUMNS} from order_lines where tenant_id = $1 and order_id = any($2)
         order by order_id, position"
    ))
    .bind(tenant.id)
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|row| (row.order_id, row.line))
    .collect();
    tx.commit().await?;
    for order in &mut orders {
        order.lines = lines.iter().filter(|(id, _)| *id == order.id).map(|(_, l)| l.clone()).collect();
    }
    Ok(Page::from_rows(orders, limit, |o| {
        Cursor::new(LIST_ORDERING, tenant.id, Some(time_key(&o.created_at)), o.id)
    }))
}

#[derive(sqlx::FromRow)]
struct LineRow {
    order_id: Uuid,
    #[sqlx(flatten)]
    line: OrderLine,
}

/// What deducting an order's stock came to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Deduction {
    Deducted {
        lines: usize,
    },
    /// Done before (a repeated step changes nothing).
    AlreadyDeducted,
    /// Some lines lacked stock: nothing was deducted and the order needs attention.
    Short {
        skus: Vec<String>,
    },
}

/// Deducts the stock of every line, all or nothing: one guarded update per line inside a
/// savepoint, in variant order so concurrent orders lock rows in the same order. Units other
/// orders hold reserved (checkouts waiting for their payment) are not for this order; units
/// this order reserved at checkout become the deduction (stock and `reserved` both go down,
/// the reservation is consumed): `stock - quantity >= reserved - own reservation`; untracked
/// stock always passes. If any line lacks stock, the savepoint rolls back and the order
/// becomes `needs_attention`.
pub async fn deduct_stock(tx: &mut TenantTx, tenant: TenantId, id: Uuid) -> Result<Deduction, DomainError> {
    let order = load(tx, tenant, id, true).await?;
    if order.stock_deducted_at.is_some() {
        return Ok(Deduction::AlreadyDeducted);
    }
    let mut lines: Vec<&OrderLine> = order.lines.iter().collect();
    lines.sort_by_key(|l| l.variant_id);
    let reservations: Vec<(Uuid, i32)> = sqlx::query_as(
        "select variant_id, quantity from stock_reservations
         where tenant_id = $1 and order_id = $2 and released_at is null",
    )
    .bind(tenant)
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    let mut reserved: std::collections::HashMap<Uuid, i32> = reservations.into_iter().collect();
    let mut savepoint = tx.savepoint().await?;
    let mut short = Vec::new();
    let mut levels = Vec::new();
    for line in &lines {
        let own = reserved.remove(&line.variant_id).unwrap_or(0);
        let updated: Option<(Option<i32>, i64)> = sqlx::query_as(
            "update product_variants
             set stock = stock - $3, reserved = reserved - $4, version = version + (stock is not null)::int
             where tenant_id = $1 and id = $2 and reserved >= $4 and (stock is null or stock - $3 >= reserved - $4)
             returning stock, version",
        )
        .bind(tenant)
        .bind(line.variant_id)
        .bind(line.quantity)
        .bind(own)
        .fetch_optional(&mut *savepoint)
        .await?;
        match updated {
            None => short.push(line.sku.clone()),
            Some((Some(stock), version)) => levels.push(StockLevel {
                variant_id: line.variant_id,
                sku: line.sku.clone(),
                delta: -i64::from(line.quantity),
                reason: format!("order #{}", order.number),
                stock,
                version,
            }),
            Some((None, _)) => {}
        }
    }
    if !short.is_empty() {
        savepoint.rollback().await?;
        short.sort();
        let reason = format!("not enough stock for {}", short.join(", "));
        let order = set_status_in(tx, tenant, id, OrderStatus::NeedsAttention, Some(&reason)).await?;
        record(tx, tenant, "order.needs_attention", &order).await?;
        return Ok(Deduction::Short { skus: short });
    }
    // The reservations became this deduction.
    sqlx::query(
        "update stock_reservations set released_at = now()
         where tenant_id = $1 and order_id = $2 and released_at is null",
    )
    .bind(tenant)
    .bind(id)
    .execute(&mut *savepoint)
    .await?;
    savepoint.commit().await?;
    for level in &levels {
        let event = Event {
            event_type: "stock.adjusted",
            aggregate_type: "variant",
            aggregate_id: level.variant_id,
            data: level,
        };
        outbox::append(tx, tenant, event).await?;
    }
    // An order that waited for stock (a retried run) is back to placed.
    sqlx::query(
        "update orders set stock_deducted_at = now(),
           status = case when status = 'needs_attention' then 'placed' else status end,
           status_reason = case when status = 'needs_attention' then null else status_reason end
         where tenant_id = $1 and id = $2",
    )
    .bind(tenant)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(Deduction::Deducted { lines: lines.len() })
}

/// Why taxes could not be calculated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("no tax rate for {country} / {tax_class}; add it under /management/tax-rates")]
pub struct MissingRate {
    pub country: String,
    pub tax_class: String,
}

/// Calculates and stores every line's tax and the order's tax and total (rounding rules in
/// [`crate::taxes`]); once done, repeating it changes nothing. `Ok(Err(_))` names a rate
/// the shop has not set up.
pub async fn calculate_taxes(
    tx: &mut TenantTx,
    tenant: TenantId,
    id: Uuid,
) -> Result<Result<Order, MissingRate>, DomainError> {
    let order = load(tx, tenant, id, true).await?;
    if order.taxes_calculated_at.is_some() {
        return Ok(Ok(order));
    }
    let rates: Vec<(String, i32)> =
        sqlx::query_as("select tax_class, rate_bp from tax_rates where tenant_id = $1 and country = $2")
            .bind(tenant)
            .bind(&order.shipping_country)
            .fetch_all(&mut **tx)
            .await?;
    // Every rate first, so a missing one leaves the order untouched.
    let mut taxed = Vec::with_capacity(order.lines.len());
    for line in &order.lines {
        let Some((_, rate)) = rates.iter().find(|(class, _)| *class == line.tax_class) else {
            return Ok(Err(MissingRate {
                country: order.shipping_country.clone(),
                tax_class: line.tax_class.clone(),
            }));
        };
        taxed.push((line, *rate, line_tax(line.line_amount, *rate, order.prices_include_tax)));
    }
    let mut total_tax = 0i64;
    for (line, rate, tax) in taxed {
        total_tax = total_tax.saturating_add(tax);
        sqlx::query(
            "update order_lines set tax_rate_bp = $4, tax_amount = $5
             where tenant_id = $1 and order_id = $2 and position = $3",
        )
        .bind(tenant)
        .bind(id)
        .bind(line.position)
        .bind(rate)
        .bind(tax)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query(
        "update orders set tax_amount = $3 + coalesce(shipping_tax_amount, 0),
           total_amount = subtotal_amount + shipping_amount
                          + case when prices_include_tax then 0 else $3 + coalesce(shipping_tax_amount, 0) end,
           taxes_calculated_at = now(), version = version + 1
         where tenant_id = $1 and id = $2",
    )
    .bind(tenant)
    .bind(id)
    .bind(total_tax)
    .execute(&mut **tx)
    .await?;
    let order = load(tx, tenant, id, false).await?;
    record(tx, tenant, "order.taxes_calculated", &order).await?;
    Ok(Ok(order))
}

async fn set_status_in(
    tx: &mut TenantTx,
    tenant: TenantId,
    id: Uuid,
    status: OrderStatus,
    reason: Option<&str>,
) -> Result<Order, DomainError> {
    sqlx::query(
        "update orders set status = $3, status_reason = $4, version = version + 1 where tenant_id = $1 and id = $2",
    )
    .bind(tenant)
    .bind(id)
    .bind(status)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    load(tx, tenant, id, false).await
}

/// Sets the order's status (a workflow step) and appends `order.status_changed`; setting
/// the status it already has changes nothing.
pub async fn set_status(
    tx: &mut TenantTx,
    tenant: TenantId,
    id: Uuid,
    status: OrderStatus,
) -> Result<Order, DomainError> {
    let order = load(tx, tenant, id, true).await?;
    if order.status == status {
        return Ok(order);
    }
    let order = set_status_in(tx, tenant, id, status, None).await?;
    record(tx, tenant, "order.status_changed", &order).await?;
    Ok(order)
}

/// `amount` minor units of `currency` as people read it: `EUR 12.34`.
pub fn format_money(money: &Money) -> String {
    let exponent = crate::currency::Currency::parse(&money.currency).map(|c| c.exponent()).unwrap_or(2);
    let divisor = 10i64.pow(u32::from(exponent));
    let (major, minor) = (money.amount / divisor, money.amount % divisor);
    if exponent == 0 {
        format!("{} {major}", money.currency)
    } else {
        format!("{} {major}.{minor:0width$}", money.currency, width = usize::from(exponent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_formatted_with_the_currency_exponent() {
        let eur = Money { amount: 123_456, currency: "EUR".to_owned() };
        assert_eq!(format_money(&eur), "EUR 1234.56");
        assert_eq!(format_money(&Money { amount: 5, currency: "EUR".to_owned() }), "EUR 0.05");
        assert_eq!(format_money(&Money { amount: 1999, currency: "JPY".to_owned() }), "JPY 1999");
        assert_eq!(format_money(&Money { amount: 1_234, currency: "KWD".to_owned() }), "KWD 1.234");
    }

    #[test]
    fn an_email_address_needs_a_local_part_and_a_dotted_domain() {
        for (raw, ok) in [
            ("anna@example.com", true),
            ("a@b.co", true),
            ("anna", false),
            ("@example.com", false),
            ("anna@example", false),
            ("an na@example.com", false),
            ("anna@example.com>", false),
        ] {
            let mut v = Violations::default();
            check_email(&mut v, raw);
            assert_eq!(v.is_empty(), ok, "{raw}");
        }
    }
}
