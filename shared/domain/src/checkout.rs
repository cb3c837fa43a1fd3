//! Checkout: a shopper's cart, priced on the server by [`crate::carts::view`], becomes an
//! order in `pending_payment` — lines with the prices charged and their taxes, addresses,
//! customer — with its stock reserved and a payment row `open`, all in one tenant
//! transaction. The payment provider is called afterwards (by the caller), with the
//! idempotency key stored on the payment row, so a retry under the same checkout key
//! continues the same order: no second reservation, no second payment.
//!
//! Reservations are guarded single statements on the variant's `reserved` counter
//! (`stock is null or stock - reserved >= n`); see `migrations/20261129000006_checkout.sql`.
//! A reservation holds for [`RESERVATION_HOLD`]; the sweeper ([`expire_due_reservations`])
//! releases it afterwards unless the payment succeeded. A payment that still succeeds later
//! reserves again; when the stock is gone by then, the order needs a person.

use chrono::Duration;
use sqlx::PgPool;
use uuid::Uuid;

use crate::ErrorCode;
use crate::carts::{Cart, CartView};
use crate::db::{TenantTx, begin_tenant_tx};
use crate::error::{Constraint, DomainError, Violations};
use crate::orders::OrderStatus;
use crate::tenant::{Tenant, TenantId};

/// How long a checkout's stock stays reserved for its payment. Longer than most of Mollie's
/// methods take (iDEAL, cards: minutes), so a shopper who pays never loses the goods to the
/// sweeper; slow methods (bank transfer) may outlive it and then reserve again when paid.
pub const RESERVATION_HOLD: Duration = Duration::hours(2);

/// Why the sweeper ended an order.
pub const TIMED_OUT: &str = "the reservation timed out before the payment succeeded";

/// What checking out needs besides the shop: the cart, priced now for its buyer, and the
/// request's keys.
#[derive(Debug, Clone)]
pub struct CheckoutDraft<'a> {
    pub cart: &'a Cart,
    /// `cart` priced by [`crate::carts::view`] for the caller.
    pub priced: &'a CartView,
    /// The signed-in customer who checks out, if any.
    pub customer_id: Option<Uuid>,
    /// The request's Idempotency-Key.
    pub checkout_key: &'a str,
    /// Where the payment provider sends the shopper back to (checked by the caller).
    pub redirect_url: &'a str,
}

/// An order waiting for its payment, and what the provider call needs.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PendingCheckout {
    pub order_id: Uuid,
    pub order_number: i64,
    pub order_status: OrderStatus,
    pub cart_id: Option<Uuid>,
    pub redirect_url: Option<String>,
    pub payment_id: Uuid,
    /// Minor units of `currency`: the order's total.
    pub amount: i64,
    pub currency: String,
    /// The provider's Idempotency-Key, stored before the first call.
    pub idempotency_key: String,
    /// Mollie's `tr_…` id, once it answered.
    pub provider_id: Option<String>,
    pub checkout_url: Option<String>,
}

const PENDING: &str =
    "select o.id as order_id, o.number as order_number, o.status as order_status, o.cart_id,
            o.redirect_url, p.id as payment_id, p.amount, p.currency::text as currency, p.idempotency_key,
            p.provider_id, p.checkout_url
     from orders o join payments p on p.tenant_id = o.tenant_id and p.order_id = o.id
     where o.tenant_id = $1";

const CHECKOUT_KEY: &[Constraint] = &[Constraint::Unique(
    "orders_checkout_key",
    ErrorCode::IdempotencyKeyRace,
    "a concurrent checkout runs under this Idempotency-Key",
)];

/// The checkout started under `checkout_key`, if any. The same key for another cart is a
/// conflict (`idempotency_key_reused`).
pub async fn started(
    pool: &PgPool,
    tenant: &Tenant,
    checkout_key: &str,
    cart_id: Uuid,
) -> Result<Option<PendingCheckout>, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let pending: Option<PendingCheckout> =
        sqlx::query_as(&format!("{PENDING} and o.checkout_key = $2 order by p.created_at limit 1"))
            .bind(tenant.id)
            .bind(checkout_key)
            .fetch_optional(&mut *tx)
            .await?;
    tx.commit().await?;
    match pending {
        Some(p) if p.cart_id != Some(cart_id) => Err(DomainError::Conflict {
            code: ErrorCode::IdempotencyKeyReused,
            message: "this Idempotency-Key checked out another cart".to_owned(),
        }),
        other => Ok(other),
    }
}

/// Starts a checkout, or continues the one started under the same key: in one transaction,
/// the order (`pending_payment`, numbered per shop), its lines and taxes as priced, a
/// reservation of every line's units, and a payment row `open` with its idempotency key.
/// A line short of stock is a 409 `out_of_stock` naming it, and nothing is kept.
pub async fn start(
    pool: &PgPool,
    tenant: &Tenant,
    draft: &CheckoutDraft<'_>,
) -> Result<PendingCheckout, DomainError> {
    if let Some(pending) = started(pool, tenant, draft.checkout_key, draft.cart.id).await? {
        return Ok(pending);
    }
    match insert(pool, tenant, draft).await {
        Err(DomainError::Conflict { code: ErrorCode::IdempotencyKeyRace, .. }) => {
            // A concurrent request with this key committed first: continue its checkout.
            started(pool, tenant, draft.checkout_key, draft.cart.id)
                .await?
                .ok_or(DomainError::NotFound { resource: "checkout" })
        }
        other => other,
    }
}

/// What a cart must have before it can be ordered; 422 with pointers into the cart.
fn check(view: &CartView) -> Result<(String, String), DomainError> {
    let mut v = Violations::default();
    if view.lines.is_empty() {
        v.push("/lines", "cart_empty", "the cart has no lines");
    }
    for (i, line) in view.lines.iter().enumerate() {
        if !line.available {
            v.push(
                format!("/lines/{i}/variant_id"),
                "not_for_sale",
                "this line can no longer be bought; remove it from the cart",
            );
        }
    }
    if view.email.is_none() {
        v.push("/email", "required", "set the cart's email before checking out");
    }
    if view.shipping_country.is_none() {
        v.push("/shipping_country", "required", "set the cart's shipping country before checking out");
    } else if view.shipping_methods.is_empty() {
        v.push("/shipping_country", "not_shipped_to", "the shop does not ship to this country");
    } else if view.shipping.is_none() {
        v.push(
            "/shipping_rate_id",
            "required",
            "choose a shipping method: set shipping_rate_id to the rate_id of one of the cart's shipping_methods",
        );
    } else if view.tax_amount.is_none() && view.lines.iter().all(|l| l.available) {
        v.push(
            "/shipping_country",
            "no_tax_rate",
            "the shop has no tax rate in this country for a line or the shipping method",
        );
    }
    if view.shipping_address.is_none() {
        v.push("/shipping_address", "required", "set the cart's shipping address before checking out");
    }
    match (&view.email, &view.shipping_country) {
        (Some(email), Some(country)) if v.is_empty() => Ok((email.clone(), country.clone())),
        _ => Err(DomainError::Validation(v)),
    }
}

async fn insert(
    pool: &PgPool,
    tenant: &Tenant,
    draft: &CheckoutDraft<'_>,
) -> Result<PendingCheckout, DomainError> {
    let view = draft.priced;
    let (email, country) = check(view)?;
    if view.total_amount > crate::catalog::MAX_AMOUNT {
        let mut v = Violations::default();
        v.push("/lines", "order_too_large", "the order's total exceeds the largest amount Kassa accepts");
        return Err(DomainError::Validation(v));
    }
    let shipping = view.shipping.as_ref();
    let cart_token_sha256 = match &draft.cart.owner {
        crate::carts::Owner::Anonymous { token_sha256 } => Some(token_sha256.as_str()),
        crate::carts::Owner::Customer { .. } => None,
    };
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let number: i64 = sqlx::query_scalar(
        "insert into order_numbers (tenant_id, last) values ($1, 1)
         on conflict (tenant_id) do update set last = order_numbers.last + 1 returning last",
    )
    .bind(tenant.id)
    .fetch_one(&mut *tx)
    .await?;
    let order_id = Uuid::now_v7();
    sqlx::query(
        "insert into orders (id, tenant_id, number, customer_email, shipping_country, currency, status,
                             prices_include_tax, subtotal_amount, tax_amount, total_amount, taxes_calculated_at,
                             customer_id, checkout_key, cart_id, shipping_address, billing_address, redirect_url,
                             shipping_rate_id, shipping_method, shipping_amount, shipping_tax_rate_bp,
                             shipping_tax_amount, cart_token_sha256, reserved_until)
         values ($1, $2, $3, $4, $5, $6, 'pending_payment', $7, $8, $9, $10, now(), $11, $12, $13, $14, $15, $16,
                 $17, $18, $19, $20, $21, $22, now() + $23)",
    )
    .bind(order_id)
    .bind(tenant.id)
    .bind(number)
    .bind(&email)
    .bind(&country)
    .bind(&view.currency)
    .bind(view.prices_include_tax)
    .bind(view.subtotal_amount)
    .bind(view.tax_amount)
    .bind(view.total_amount)
    .bind(draft.customer_id)
    .bind(draft.checkout_key)
    .bind(draft.cart.id)
    .bind(view.shipping_address.as_ref().and_then(|a| serde_json::to_value(a).ok()))
    .bind(view.billing_address.as_ref().and_then(|a| serde_json::to_value(a).ok()))
    .bind(draft.redirect_url)
    .bind(shipping.map(|s| s.rate_id))
    .bind(shipping.map(|s| s.name.as_str()))
    .bind(view.shipping_amount)
    .bind(shipping.and_then(|s| s.tax_rate_bp))
    .bind(shipping.and_then(|s| s.tax_amount))
    .bind(cart_token_sha256)
    .bind(RESERVATION_HOLD)
    .execute(&mut *tx)
    .await
    .map_err(|e| DomainError::from_constraint(e, CHECKOUT_KEY))?;
    for (position, line) in (0i32..).zip(&view.lines) {
        sqlx::query(
            "insert into order_lines (tenant_id, order_id, position, variant_id, sku, title, quantity,
                                      unit_price_amount, tax_class, line_amount, tax_rate_bp, tax_amount)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(tenant.id)
        .bind(order_id)
        .bind(position)
        .bind(line.variant_id)
        .bind(line.sku.as_deref().unwrap_or_default())
        .bind(line.title.as_deref().unwrap_or_default())
        .bind(line.quantity)
        .bind(line.unit_price_amount)
        .bind(line.tax_class.as_deref().unwrap_or_default())
        .bind(line.line_amount)
        .bind(line.tax_rate_bp)
        .bind(line.tax_amount)
        .execute(&mut *tx)
        .await?;
    }
    reserve(&mut tx, tenant.id, order_id, view).await?;
    let payment_id = Uuid::now_v7();
    sqlx::query(
        "insert into payments (id, tenant_id, order_id, amount, currency, idempotency_key)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(payment_id)
    .bind(tenant.id)
    .bind(order_id)
    .bind(view.total_amount)
    .bind(&view.currency)
    .bind(provider_key(payment_id))
    .execute(&mut *tx)
    .await?;
    let pending: PendingCheckout = sqlx::query_as(&format!("{PENDING} and p.id = $2"))
        .bind(tenant.id)
        .bind(payment_id)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(pending)
}

/// The provider's Idempotency-Key of payment `id`: stable, so every retry sends the same.
pub fn provider_key(payment_id: Uuid) -> String {
    format!("kassa-payment-{payment_id}")
}

/// Reserves every line's units with one guarded update per variant (in variant order, so
/// concurrent checkouts lock rows in the same order). A short line aborts the whole
/// checkout: the caller's transaction is dropped, so nothing stays reserved.
async fn reserve(
    tx: &mut TenantTx,
    tenant: TenantId,
    order_id: Uuid,
    view: &CartView,
) -> Result<(), DomainError> {
    let mut lines: Vec<(usize, &crate::carts::LineView)> = view.lines.iter().enumerate().collect();
    lines.sort_by_key(|(_, l)| l.variant_id);
    for (index, line) in lines {
        let reserved: Option<Uuid> = sqlx::query_scalar(
            "update product_variants set reserved = reserved + $3
             where tenant_id = $1 and id = $2 and (stock is null or stock - reserved >= $3)
             returning id",
        )
        .bind(tenant)
        .bind(line.variant_id)
        .bind(line.quantity)
        .fetch_optional(&mut **tx)
        .await?;
        if reserved.is_none() {
            return Err(DomainError::Conflict {
                code: ErrorCode::OutOfStock,
                message: format!(
                    "line {index} ({}) wants {} units, more than are available; nothing was reserved",
                    line.sku.as_deref().unwrap_or("?"),
                    line.quantity
                ),
            });
        }
        sqlx::query(
            "insert into stock_reservations (tenant_id, order_id, variant_id, quantity) values ($1, $2, $3, $4)",
        )
        .bind(tenant)
        .bind(order_id)
        .bind(line.variant_id)
        .bind(line.quantity)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Stores what the provider answered for payment `payment_id`: its id and checkout URL.
/// A repeat with the same id changes nothing; another id for a payment that has one is
/// refused (the idempotency key makes that impossible unless something is badly wrong).
pub async fn record_provider_payment(
    pool: &PgPool,
    tenant: &Tenant,
    payment_id: Uuid,
    provider_id: &str,
    checkout_url: Option<&str>,
) -> Result<(), DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let updated = sqlx::query(
        "update payments set provider_id = $3, checkout_url = coalesce($4, checkout_url), version = version + 1
         where tenant_id = $1 and id = $2 and (provider_id is null or provider_id = $3)",
    )
    .bind(tenant.id)
    .bind(payment_id)
    .bind(provider_id)
    .bind(checkout_url)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(DomainError::Unexpected(format!(
            "payment {payment_id} already has another provider id than {provider_id}"
        )));
    }
    tx.commit().await?;
    Ok(())
}

/// How a payment ended without money: the order's new status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unpaid {
    Failed,
    Canceled,
    Expired,
}

/// Releases the reservations of order `order_id` once and moves a `pending_payment` order to
/// `payment_failed` / `canceled` / `expired` (with `reason`, if given), appending
/// `order.payment_failed`, in `tx`. Each reservation is released by a guarded statement
/// (`released_at is null`), so a repeat releases nothing twice. Returns the number of
/// reservations released now.
pub async fn release(
    tx: &mut TenantTx,
    tenant: TenantId,
    order_id: Uuid,
    outcome: Unpaid,
    reason: Option<&str>,
) -> Result<usize, DomainError> {
    let status = match outcome {
        Unpaid::Failed => "payment_failed",
        Unpaid::Canceled => "canceled",
        Unpaid::Expired => "expired",
    };
    let moved = sqlx::query(
        "update orders set status = $3, status_reason = $4, version = version + 1
         where tenant_id = $1 and id = $2 and status = 'pending_payment'",
    )
    .bind(tenant)
    .bind(order_id)
    .bind(status)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    if moved.rows_affected() == 0 {
        return Ok(0);
    }
    crate::orders::record_current(tx, tenant, order_id, "order.payment_failed").await?;
    let released: Vec<(Uuid, i32)> = sqlx::query_as(
        "update stock_reservations set released_at = now()
         where tenant_id = $1 and order_id = $2 and released_at is null
         returning variant_id, quantity",
    )
    .bind(tenant)
    .bind(order_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut sorted = released;
    sorted.sort();
    for (variant_id, quantity) in &sorted {
        sqlx::query("update product_variants set reserved = reserved - $3 where tenant_id = $1 and id = $2")
            .bind(tenant)
            .bind(variant_id)
            .bind(quantity)
            .execute(&mut **tx)
            .await?;
    }
    Ok(sorted.len())
}

/// A payment's status as the provider (Mollie) reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderStatus {
    Open,
    Pending,
    Authorized,
    Paid,
    Canceled,
    Expired,
    Failed,
}

impl ProviderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderStatus::Open => "open",
            ProviderStatus::Pending => "pending",
            ProviderStatus::Authorized => "authorized",
            ProviderStatus::Paid => "paid",
            ProviderStatus::Canceled => "canceled",
            ProviderStatus::Expired => "expired",
            ProviderStatus::Failed => "failed",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        [Self::Open, Self::Pending, Self::Authorized, Self::Paid, Self::Canceled, Self::Expired, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }

    /// How far along a payment is: a status only ever moves to a higher rank. `paid`,
    /// `canceled`, `expired` and `failed` are final.
    fn rank(self) -> u8 {
        match self {
            ProviderStatus::Open => 0,
            ProviderStatus::Pending => 1,
            ProviderStatus::Authorized => 2,
            ProviderStatus::Paid
            | ProviderStatus::Canceled
            | ProviderStatus::Expired
            | ProviderStatus::Failed => 3,
        }
    }
}

/// What a reported status did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// No payment of this shop has the provider id (the caller answers as for any other).
    Unknown,
    /// The same status again: nothing changed.
    Unchanged,
    /// A move backwards or out of a final status (a late or reordered report): nothing
    /// changed; the caller logs it.
    Ignored { from: ProviderStatus, to: ProviderStatus },
    /// The payment moved; `placed` when its order became `placed` (and `order.placed` was
    /// appended), `released` when its reservations were released.
    Moved { order_id: Uuid, placed: bool, released: bool },
}

/// Applies the status the provider reports for payment `provider_id`, monotonically, in one
/// transaction: the payment row is locked, a repeat or a regression changes nothing, `paid`
/// or `authorized` moves a `pending_payment` order to `placed` with `order.placed` (so the
/// "On order placed" workflow runs once), and `failed`, `canceled` or `expired` releases the
/// reservations of a `pending_payment` order ([`release`]).
pub async fn apply_payment_status(
    pool: &PgPool,
    tenant: &Tenant,
    provider_id: &str,
    reported: ProviderStatus,
) -> Result<Applied, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let row: Option<(Uuid, Uuid, String)> = sqlx::query_as(
        "select id, order_id, status from payments where tenant_id = $1 and provider_id = $2 for update",
    )
    .bind(tenant.id)
    .bind(provider_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((payment_id, order_id, current)) = row else {
        tx.commit().await?;
        return Ok(Applied::Unknown);
    };
    let current = ProviderStatus::parse(&current)
        .ok_or_else(|| DomainError::Unexpected(format!("payment {payment_id} has status {current}")))?;
    if current == reported {
        tx.commit().await?;
        return Ok(Applied::Unchanged);
    }
    if reported.rank() <= current.rank() {
        tx.commit().await?;
        return Ok(Applied::Ignored { from: current, to: reported });
    }
    sqlx::query("update payments set status = $3, version = version + 1 where tenant_id = $1 and id = $2")
        .bind(tenant.id)
        .bind(payment_id)
        .bind(reported.as_str())
        .execute(&mut *tx)
        .await?;
    let (mut placed, mut released) = (false, false);
    match reported {
        ProviderStatus::Paid | ProviderStatus::Authorized => {
            let moved = sqlx::query(
                "update orders set status = 'placed', version = version + 1
                 where tenant_id = $1 and id = $2 and status = 'pending_payment'",
            )
            .bind(tenant.id)
            .bind(order_id)
            .execute(&mut *tx)
            .await?;
            if moved.rows_affected() == 1 {
                crate::orders::record_current(&mut tx, tenant.id, order_id, "order.placed").await?;
                placed = true;
            } else {
                placed = paid_after_timeout(&mut tx, tenant.id, order_id).await?;
            }
        }
        ProviderStatus::Failed | ProviderStatus::Canceled | ProviderStatus::Expired => {
            let outcome = match reported {
                ProviderStatus::Failed => Unpaid::Failed,
                ProviderStatus::Canceled => Unpaid::Canceled,
                _ => Unpaid::Expired,
            };
            released = release(&mut tx, tenant.id, order_id, outcome, None).await? > 0;
        }
        ProviderStatus::Open | ProviderStatus::Pending => {}
    }
    tx.commit().await?;
    Ok(Applied::Moved { order_id, placed, released })
}

/// A payment succeeded for an order whose reservation the sweeper had released (a slow
/// method outlived [`RESERVATION_HOLD`]): the money is there, so the order goes ahead. Its
/// units are reserved again with the same guarded statements; if they all still are there the
/// order is `placed` (with `order.placed`), otherwise it `needs_attention` (with
/// `order.needs_attention`) for a person to refund or restock. Whether it was placed.
async fn paid_after_timeout(
    tx: &mut TenantTx,
    tenant: TenantId,
    order_id: Uuid,
) -> Result<bool, DomainError> {
    let status: Option<(OrderStatus, Option<String>)> = sqlx::query_as(
        "select status, status_reason from orders where tenant_id = $1 and id = $2 for update",
    )
    .bind(tenant)
    .bind(order_id)
    .fetch_optional(&mut **tx)
    .await?;
    if !matches!(&status, Some((OrderStatus::Expired, Some(reason))) if reason == TIMED_OUT) {
        return Ok(false);
    }
    sqlx::query("savepoint rereserve").execute(&mut **tx).await?;
    let held: Vec<(Uuid, i32)> = sqlx::query_as(
        "select variant_id, quantity from stock_reservations where tenant_id = $1 and order_id = $2
         order by variant_id",
    )
    .bind(tenant)
    .bind(order_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut short = false;
    for (variant_id, quantity) in &held {
        let reserved: Option<Uuid> = sqlx::query_scalar(
            "update product_variants set reserved = reserved + $3
             where tenant_id = $1 and id = $2 and (stock is null or stock - reserved >= $3) returning id",
        )
        .bind(tenant)
        .bind(variant_id)
        .bind(quantity)
        .fetch_optional(&mut **tx)
        .await?;
        if reserved.is_none() {
            short = true;
            break;
        }
    }
    if short {
        sqlx::query("rollback to savepoint rereserve").execute(&mut **tx).await?;
        sqlx::query(
            "update orders set status = 'needs_attention', version = version + 1,
               status_reason = 'paid after its reservation timed out, and the stock is no longer there: refund or restock'
             where tenant_id = $1 and id = $2",
        )
        .bind(tenant)
        .bind(order_id)
        .execute(&mut **tx)
        .await?;
        crate::orders::record_current(tx, tenant, order_id, "order.needs_attention").await?;
        return Ok(false);
    }
    sqlx::query("update stock_reservations set released_at = null where tenant_id = $1 and order_id = $2")
        .bind(tenant)
        .bind(order_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "update orders set status = 'placed', status_reason = null, reserved_until = null, version = version + 1
         where tenant_id = $1 and id = $2",
    )
    .bind(tenant)
    .bind(order_id)
    .execute(&mut **tx)
    .await?;
    crate::orders::record_current(tx, tenant, order_id, "order.placed").await?;
    Ok(true)
}

/// Orders whose reservation timed out, across shops (the sweeper's role reads only their
/// ids), oldest first.
pub async fn due_reservations(pool: &PgPool, limit: i64) -> Result<Vec<(TenantId, Uuid)>, DomainError> {
    let mut tx = crate::db::begin_relay_tx(pool).await?;
    let due = sqlx::query_as(
        "select tenant_id, id from orders
         where status = 'pending_payment' and reserved_until < now()
         order by reserved_until limit $1",
    )
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(due)
}

/// Ends order `order_id` of `tenant` if its reservation timed out and its payment has not
/// succeeded: `expired` with [`TIMED_OUT`], reservations released, `order.payment_failed`.
/// The payment row keeps Mollie's status (it may still be paid later: see
/// [`apply_payment_status`]). Whether it ended the order.
pub async fn expire_reservation(
    pool: &PgPool,
    tenant: TenantId,
    order_id: Uuid,
) -> Result<bool, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant).await?;
    // The payment row first, as the webhook locks it: a payment applied concurrently either
    // commits first (the order is no longer pending) or waits for this.
    let payment: Option<String> = sqlx::query_scalar(
        "select status from payments where tenant_id = $1 and order_id = $2 order by created_at limit 1 for update",
    )
    .bind(tenant)
    .bind(order_id)
    .fetch_optional(&mut *tx)
    .await?;
    let succeeded = payment.is_some_and(|s| matches!(s.as_str(), "paid" | "authorized"));
    let due: Option<bool> = sqlx::query_scalar(
        "select reserved_until < now() from orders where tenant_id = $1 and id = $2 and status = 'pending_payment'
         for update",
    )
    .bind(tenant)
    .bind(order_id)
    .fetch_optional(&mut *tx)
    .await?;
    if succeeded || due != Some(true) {
        tx.commit().await?;
        return Ok(false);
    }
    release(&mut tx, tenant, order_id, Unpaid::Expired, Some(TIMED_OUT)).await?;
    tx.commit().await?;
    Ok(true)
}

/// The sweeper's pass: ends up to `limit` orders whose reservation timed out. How many.
pub async fn expire_due_reservations(pool: &PgPool, limit: i64) -> Result<usize, DomainError> {
    let mut ended = 0;
    for (tenant, order_id) in due_reservations(pool, limit).await? {
        if expire_reservation(pool, tenant, order_id).await? {
            ended += 1;
        }
    }
    Ok(ended)
}

/// An order's latest payment as Kassa knows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PaymentState {
    pub status: String,
    pub provider_id: Option<String>,
    pub checkout_url: Option<String>,
}

impl PaymentState {
    /// Whether the provider may still move it (the shopper has not finished paying).
    pub fn is_open(&self) -> bool {
        matches!(self.status.as_str(), "open" | "pending")
    }
}

/// An order with who may read it on the storefront and its payment.
#[derive(Debug, Clone)]
pub struct OrderForShopper {
    pub order: crate::orders::Order,
    /// The signed-in customer who checked out, if any.
    pub customer_id: Option<Uuid>,
    /// The SHA-256 (hex) of the anonymous cart's token, if the cart was anonymous.
    pub cart_token_sha256: Option<String>,
    pub payment: Option<PaymentState>,
}

/// Order `id` of `tenant` with its storefront readers and payment; `None` when there is none.
pub async fn order_for_shopper(
    pool: &PgPool,
    tenant: &Tenant,
    id: Uuid,
) -> Result<Option<OrderForShopper>, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let readers: Option<(Option<Uuid>, Option<String>)> =
        sqlx::query_as("select customer_id, cart_token_sha256 from orders where tenant_id = $1 and id = $2")
            .bind(tenant.id)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((customer_id, cart_token_sha256)) = readers else {
        tx.commit().await?;
        return Ok(None);
    };
    let order = crate::orders::load(&mut tx, tenant.id, id, false).await?;
    let payment: Option<PaymentState> = sqlx::query_as(
        "select status, provider_id, checkout_url from payments where tenant_id = $1 and order_id = $2
         order by created_at desc limit 1",
    )
    .bind(tenant.id)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(OrderForShopper { order, customer_id, cart_token_sha256, payment }))
}
