//! The transactional outbox: every domain change appends its event in the same transaction,
//! so an event exists exactly when its change committed. The relay (events issue) publishes it.

use serde::Serialize;
use uuid::Uuid;

use crate::db::TenantTx;
use crate::error::DomainError;
use crate::tenant::TenantId;

pub mod catalogue;

/// Schema version of the event payloads written here.
pub const PAYLOAD_VERSION: u32 = 1;

/// One event: `product.created`, `stock.adjusted`, … about one aggregate.
pub struct Event<'a, T: Serialize> {
    /// The domain name `<aggregate>.<action>`, listed in [`catalogue::CATALOGUE`]. The bus
    /// calls it `event.<aggregate>.<action>` (`kassa_events::envelope::bus_type`); the outbox,
    /// workflow triggers and runs keep this name.
    pub event_type: &'a str,
    pub aggregate_type: &'a str,
    pub aggregate_id: Uuid,
    /// The new state (or what changed), as consumers should see it.
    pub data: &'a T,
}

/// Appends `event` to the outbox inside `tx`. Debug builds (every test) refuse a type the
/// event catalogue does not list, so the README's catalogue cannot miss one.
pub async fn append<T: Serialize>(
    tx: &mut TenantTx,
    tenant: TenantId,
    event: Event<'_, T>,
) -> Result<(), DomainError> {
    debug_assert!(
        catalogue::find(event.event_type).is_some(),
        "event type {:?} is missing from kassa_domain::outbox::catalogue::CATALOGUE",
        event.event_type
    );
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
