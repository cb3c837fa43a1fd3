//! The transactional outbox: every domain change appends its event in the same transaction,
//! so an event exists exactly when its change committed. The relay (events issue) publishes it.

use serde::Serialize;
use uuid::Uuid;

use crate::db::TenantTx;
use crate::error::DomainError;
use crate::tenant::TenantId;

/// Schema version of the event payloads written here.
pub const PAYLOAD_VERSION: u32 = 1;

/// One event: `product.created`, `stock.adjusted`, … about one aggregate.
pub struct Event<'a, T: Serialize> {
    pub event_type: &'a str,
    pub aggregate_type: &'a str,
    pub aggregate_id: Uuid,
    /// The new state (or what changed), as consumers should see it.
    pub data: &'a T,
}

/// Appends `event` to the outbox inside `tx`.
pub async fn append<T: Serialize>(
    tx: &mut TenantTx,
    tenant: TenantId,
    event: Event<'_, T>,
) -> Result<(), DomainError> {
    let payload = serde_json::json!({ "schema_version": PAYLOAD_VERSION, "data": event.data });
    sqlx::query(
        "insert into outbox (id, tenant_id, event_type, aggregate_type, aggregate_id, payload)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::now_v7())
    .bind(tenant)
    .bind(event.event_type)
    .bind(event.aggregate_type)
    .bind(event.aggregate_id)
    .bind(payload)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
