//! Bringing Kassa's record of a payment up to date with Mollie: fetch the payment (and, when
//! refunds of it may still change, its refunds) with the shop's key and apply what Mollie
//! says monotonically (`kassa_domain::checkout::apply_payment_status`,
//! `kassa_domain::payments::refunds::apply_refund_status`). The webhook does this for every
//! delivery; the storefront's order status does it for a payment still open, so the return
//! page does not depend on the webhook having arrived (nor on the redirect's query string).

use kassa_domain::DomainError;
use kassa_domain::checkout::{Applied, ProviderStatus, apply_payment_status};
use kassa_domain::payments::refunds::{self, RefundStatus as KassaRefundStatus};
use kassa_domain::tenant::Tenant;
use sqlx::PgPool;

use crate::{MollieClient, MollieError, Payment, PaymentStatus, RefundStatus};

/// Why a payment could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Mollie(#[from] MollieError),
    #[error(transparent)]
    Domain(#[from] DomainError),
}

/// Kassa's name of a Mollie payment status.
pub fn provider_status(status: PaymentStatus) -> ProviderStatus {
    match status {
        PaymentStatus::Open => ProviderStatus::Open,
        PaymentStatus::Pending => ProviderStatus::Pending,
        PaymentStatus::Authorized => ProviderStatus::Authorized,
        PaymentStatus::Paid => ProviderStatus::Paid,
        PaymentStatus::Canceled => ProviderStatus::Canceled,
        PaymentStatus::Expired => ProviderStatus::Expired,
        PaymentStatus::Failed => ProviderStatus::Failed,
    }
}

/// Kassa's name of a Mollie refund status.
pub fn refund_status(status: RefundStatus) -> KassaRefundStatus {
    match status {
        RefundStatus::Queued => KassaRefundStatus::Queued,
        RefundStatus::Pending => KassaRefundStatus::Pending,
        RefundStatus::Processing => KassaRefundStatus::Processing,
        RefundStatus::Refunded => KassaRefundStatus::Refunded,
        RefundStatus::Failed => KassaRefundStatus::Failed,
        RefundStatus::Canceled => KassaRefundStatus::Canceled,
    }
}

/// Fetches payment `id` from Mollie and applies its status (and its refunds' statuses) to
/// `tenant`'s records. `Ok(None)`: Mollie knows no such payment for this key.
pub async fn sync_payment(
    db: &PgPool,
    tenant: &Tenant,
    mollie: &MollieClient,
    id: &str,
) -> Result<Option<(Payment, Applied)>, SyncError> {
    let payment = match mollie.get_payment(id).await {
        Ok(payment) => payment,
        Err(MollieError::NotFound) => return Ok(None),
        Err(err) => return Err(err.into()),
    };
    let applied = apply_payment_status(db, tenant, &payment.id, provider_status(payment.status)).await?;
    if applied != Applied::Unknown && refunds::has_open_refunds(db, tenant, &payment.id).await? {
        for refund in mollie.list_refunds(&payment.id).await? {
            let outcome =
                refunds::apply_refund_status(db, tenant, &refund.id, refund_status(refund.status)).await?;
            tracing::debug!(refund = %refund.id, ?outcome, "refund status applied");
        }
    }
    Ok(Some((payment, applied)))
}
