//! Refunds of a paid checkout, through the payment provider (Mollie's refunds API).
//!
//! A refund row is written (status `pending`, its provider Idempotency-Key derived from its
//! id) before the provider is called, in the transaction that checks what is left to refund
//! with the payment row locked, so two concurrent refunds never give back more than was paid.
//! The staff request's own Idempotency-Key names the refund: a retry continues the same one
//! (and the provider, asked with the same key, answers with the same refund).
//!
//! `refunded_amount` on the order (and `amount_refunded` on the payment) counts every refund
//! that has not failed or been canceled. A refund's status only moves forward (`queued` →
//! `pending` → `processing` → `refunded` | `failed` | `canceled`); `order.refunded` is
//! appended once, when a refund reaches `refunded`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::ErrorCode;
use crate::db::{TenantTx, begin_tenant_tx};
use crate::error::{Constraint, DomainError, Violations};
use crate::tenant::{Tenant, TenantId};

/// A refund's status as the provider reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum RefundStatus {
    Queued,
    Pending,
    Processing,
    Refunded,
    Failed,
    Canceled,
}

impl RefundStatus {
    /// A status only ever moves to a higher rank; `refunded`, `failed` and `canceled` are final.
    fn rank(self) -> u8 {
        match self {
            RefundStatus::Queued => 0,
            RefundStatus::Pending => 1,
            RefundStatus::Processing => 2,
            RefundStatus::Refunded | RefundStatus::Failed | RefundStatus::Canceled => 3,
        }
    }

    /// Whether the money is (or will be) given back: every status but `failed` and `canceled`.
    fn counts(self) -> bool {
        !matches!(self, RefundStatus::Failed | RefundStatus::Canceled)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Refund {
    pub id: Uuid,
    pub order_id: Uuid,
    pub status: RefundStatus,
    /// Minor units of `currency`.
    pub amount: i64,
    pub currency: String,
    pub description: Option<String>,
    /// The provider's `re_…` id; `null` until the provider accepted the refund (a retry with
    /// the same Idempotency-Key sends it again).
    pub provider_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, order_id, status, amount, currency::text as currency, description, provider_id, \
                       created_at, updated_at";

/// `POST /management/orders/{id}/refunds`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundDraft {
    /// Minor units; default: everything not refunded yet.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub amount: Option<i64>,
    /// Shown to the shopper on the bank statement where the method supports it.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 255)]
    pub description: Option<String>,
}

/// A refund and what the provider call needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRefund {
    pub refund: Refund,
    /// The payment's `tr_…` id at the provider.
    pub payment_provider_id: String,
    /// The provider's Idempotency-Key of this refund.
    pub idempotency_key: String,
}

/// The provider's Idempotency-Key of refund `id`.
pub fn provider_key(refund_id: Uuid) -> String {
    format!("kassa-refund-{refund_id}")
}

const REQUEST_KEY: &[Constraint] = &[Constraint::Unique(
    "refunds_request_key",
    ErrorCode::IdempotencyKeyRace,
    "a concurrent refund runs under this Idempotency-Key",
)];

async fn started(
    pool: &PgPool,
    tenant: &Tenant,
    order_id: Uuid,
    request_key: &str,
) -> Result<Option<PendingRefund>, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let row: Option<(Uuid, Option<String>)> = sqlx::query_as(
        "select r.id, p.provider_id from refunds r
           join payments p on p.tenant_id = r.tenant_id and p.id = r.payment_id
         where r.tenant_id = $1 and r.request_key = $2",
    )
    .bind(tenant.id)
    .bind(request_key)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((id, payment_provider_id)) = row else {
        tx.commit().await?;
        return Ok(None);
    };
    let refund = load(&mut tx, tenant.id, id).await?;
    tx.commit().await?;
    if refund.order_id != order_id {
        return Err(DomainError::Conflict {
            code: ErrorCode::IdempotencyKeyReused,
            message: "this Idempotency-Key refunded another order".to_owned(),
        });
    }
    Ok(Some(PendingRefund {
        idempotency_key: provider_key(refund.id),
        payment_provider_id: payment_provider_id.unwrap_or_default(),
        refund,
    }))
}

async fn load(tx: &mut TenantTx, tenant: TenantId, id: Uuid) -> Result<Refund, DomainError> {
    sqlx::query_as(&format!("select {COLUMNS} from refunds where tenant_id = $1 and id = $2"))
        .bind(tenant)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(DomainError::NotFound { resource: "refund" })
}

/// Starts a refund of order `order_id` under the staff's `request_key`, or continues the one
/// started under it: checks the order has a paid payment and enough left to refund (payment
/// row locked), stores the refund `pending` and counts it into the refunded amounts.
pub async fn start(
    pool: &PgPool,
    tenant: &Tenant,
    order_id: Uuid,
    draft: &RefundDraft,
    request_key: &str,
) -> Result<PendingRefund, DomainError> {
    if let Some(pending) = started(pool, tenant, order_id, request_key).await? {
        return Ok(pending);
    }
    let mut v = Violations::default();
    if let Some(description) = &draft.description
        && (description.trim().is_empty() || description.chars().count() > 255)
    {
        v.push("/description", "invalid_description", "a description is 1–255 characters");
    }
    if draft.amount.is_some_and(|a| a < 1) {
        v.push("/amount", "out_of_range", "a refund is at least 1 minor unit");
    }
    if !v.is_empty() {
        return Err(DomainError::Validation(v));
    }
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    order_exists(&mut tx, tenant.id, order_id).await?;
    let payment: Option<(Uuid, String, i64, String, i64)> = sqlx::query_as(
        "select id, provider_id, amount, currency::text, amount_refunded from payments
         where tenant_id = $1 and order_id = $2 and status = 'paid' and provider_id is not null
         order by created_at limit 1 for update",
    )
    .bind(tenant.id)
    .bind(order_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((payment_id, payment_provider_id, paid, currency, refunded)) = payment else {
        return Err(DomainError::Conflict {
            code: ErrorCode::OrderNotRefundable,
            message: "this order has no paid payment to refund".to_owned(),
        });
    };
    let left = paid - refunded;
    let amount = draft.amount.unwrap_or(left);
    if left < 1 || amount > left {
        let mut v = Violations::default();
        v.push(
            "/amount",
            "exceeds_refundable",
            format!("at most {left} minor units of {currency} are left to refund"),
        );
        return Err(DomainError::Validation(v));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into refunds (id, tenant_id, order_id, payment_id, amount, currency, description, request_key,
                              idempotency_key)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(tenant.id)
    .bind(order_id)
    .bind(payment_id)
    .bind(amount)
    .bind(&currency)
    .bind(draft.description.as_deref().map(str::trim))
    .bind(request_key)
    .bind(provider_key(id))
    .execute(&mut *tx)
    .await
    .map_err(|e| DomainError::from_constraint(e, REQUEST_KEY))?;
    count(&mut tx, tenant.id, order_id, payment_id, amount).await?;
    let refund = load(&mut tx, tenant.id, id).await?;
    tx.commit().await?;
    Ok(PendingRefund { refund, payment_provider_id, idempotency_key: provider_key(id) })
}

/// Adds `amount` (negative: takes it back) to the order's and the payment's refunded amounts.
async fn count(
    tx: &mut TenantTx,
    tenant: TenantId,
    order_id: Uuid,
    payment_id: Uuid,
    amount: i64,
) -> Result<(), DomainError> {
    sqlx::query(
        "update payments set amount_refunded = amount_refunded + $3 where tenant_id = $1 and id = $2",
    )
    .bind(tenant)
    .bind(payment_id)
    .bind(amount)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "update orders set refunded_amount = refunded_amount + $3, version = version + 1
         where tenant_id = $1 and id = $2",
    )
    .bind(tenant)
    .bind(order_id)
    .bind(amount)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stores the provider's id of refund `id` (a repeat with the same id changes nothing).
pub async fn record_provider_refund(
    pool: &PgPool,
    tenant: &Tenant,
    id: Uuid,
    provider_id: &str,
) -> Result<Refund, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let updated = sqlx::query(
        "update refunds set provider_id = $3, version = version + 1
         where tenant_id = $1 and id = $2 and (provider_id is null or provider_id = $3)",
    )
    .bind(tenant.id)
    .bind(id)
    .bind(provider_id)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(DomainError::Unexpected(format!(
            "refund {id} already has another provider id than {provider_id}"
        )));
    }
    let refund = load(&mut tx, tenant.id, id).await?;
    tx.commit().await?;
    Ok(refund)
}

/// What a reported refund status did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundApplied {
    /// No refund of this shop has the provider id.
    Unknown,
    /// A repeat, a regression or a move out of a final status: nothing changed.
    Unchanged,
    /// The refund moved; `refunded` when it reached `refunded` (and `order.refunded` was appended).
    Moved { refunded: bool },
}

/// Applies the status the provider reports for refund `provider_id`, monotonically, in one
/// transaction (refund row locked): a refund that fails or is canceled no longer counts into
/// the refunded amounts; one that reaches `refunded` appends `order.refunded`.
pub async fn apply_refund_status(
    pool: &PgPool,
    tenant: &Tenant,
    provider_id: &str,
    reported: RefundStatus,
) -> Result<RefundApplied, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let row: Option<(Uuid, Uuid, Uuid, RefundStatus, i64)> = sqlx::query_as(
        "select id, order_id, payment_id, status, amount from refunds
         where tenant_id = $1 and provider_id = $2 for update",
    )
    .bind(tenant.id)
    .bind(provider_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((id, order_id, payment_id, current, amount)) = row else {
        tx.commit().await?;
        return Ok(RefundApplied::Unknown);
    };
    if reported.rank() <= current.rank() {
        tx.commit().await?;
        return Ok(RefundApplied::Unchanged);
    }
    sqlx::query("update refunds set status = $3, version = version + 1 where tenant_id = $1 and id = $2")
        .bind(tenant.id)
        .bind(id)
        .bind(reported)
        .execute(&mut *tx)
        .await?;
    if current.counts() && !reported.counts() {
        count(&mut tx, tenant.id, order_id, payment_id, -amount).await?;
    }
    let refunded = reported == RefundStatus::Refunded;
    if refunded {
        crate::orders::record_current(&mut tx, tenant.id, order_id, "order.refunded").await?;
    }
    tx.commit().await?;
    Ok(RefundApplied::Moved { refunded })
}

/// 404 unless the shop has order `order_id`.
async fn order_exists(tx: &mut TenantTx, tenant: TenantId, order_id: Uuid) -> Result<(), DomainError> {
    let exists: Option<Uuid> = sqlx::query_scalar("select id from orders where tenant_id = $1 and id = $2")
        .bind(tenant)
        .bind(order_id)
        .fetch_optional(&mut **tx)
        .await?;
    exists.map(|_| ()).ok_or(DomainError::NotFound { resource: "order" })
}

/// The refunds of order `order_id`, oldest first; 404 when the shop has no such order.
pub async fn list(pool: &PgPool, tenant: &Tenant, order_id: Uuid) -> Result<Vec<Refund>, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    order_exists(&mut tx, tenant.id, order_id).await?;
    let refunds = sqlx::query_as(&format!(
        "select {COLUMNS} from refunds where tenant_id = $1 and order_id = $2 order by created_at, id"
    ))
    .bind(tenant.id)
    .bind(order_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(refunds)
}

/// Whether the shop has refunds of payment `payment_provider_id` whose status may still
/// change (the webhook then asks the provider for them).
pub async fn has_open_refunds(
    pool: &PgPool,
    tenant: &Tenant,
    payment_provider_id: &str,
) -> Result<bool, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let open: bool = sqlx::query_scalar(
        "select exists (select 1 from refunds r join payments p on p.tenant_id = r.tenant_id and p.id = r.payment_id
                         where r.tenant_id = $1 and p.provider_id = $2 and r.provider_id is not null
                           and r.status in ('queued', 'pending', 'processing'))",
    )
    .bind(tenant.id)
    .bind(payment_provider_id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(open)
}

/// The provider refused refund `id` before accepting it: it is `failed` and no longer counts
/// into the refunded amounts (once; a repeat changes nothing).
pub async fn refused(pool: &PgPool, tenant: &Tenant, id: Uuid) -> Result<(), DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let row: Option<(Uuid, Uuid, i64)> = sqlx::query_as(
        "update refunds set status = 'failed', version = version + 1
         where tenant_id = $1 and id = $2 and provider_id is null and status in ('queued', 'pending', 'processing')
         returning order_id, payment_id, amount",
    )
    .bind(tenant.id)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((order_id, payment_id, amount)) = row {
        count(&mut tx, tenant.id, order_id, payment_id, -amount).await?;
    }
    tx.commit().await?;
    Ok(())
}
