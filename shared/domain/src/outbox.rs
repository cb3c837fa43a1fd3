//! The transactional outbox: every domain change appends its event in the same transaction,
//! so an event exists exactly when its change committed. The function that committed it
//! publishes it right after the commit ([`collect`] tells it which events its work
//! appended); the relay publishes whatever that fast path did not.

use std::cell::RefCell;

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
    let id = Uuid::now_v7();
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
    .bind(id)
    .bind(tenant)
    .bind(event.event_type)
    .bind(event.aggregate_type)
    .bind(event.aggregate_id)
    .bind(payload)
    .execute(&mut **tx)
    .await?;
    // Outside [`collect`] (the relay's own work, migrations, tests) nothing records it.
    let _ = APPENDED.try_with(|appended| appended.borrow_mut().push(id));
    Ok(())
}

tokio::task_local! {
    static APPENDED: RefCell<Vec<Uuid>>;
}

/// Publishes outbox events right after the transaction that appended them committed (the
/// cloud's fast path, `kassa_events::fast_path::FastPath` over SQS). It never fails its
/// caller: what it cannot publish stays in the outbox for the relay. A trait so the HTTP
/// layer can run it without linking a bus: only functions that write events bring one.
pub trait PublishAfterCommit: Send + Sync + std::fmt::Debug {
    fn publish_after_commit<'a>(
        &'a self,
        appended: &'a [Uuid],
    ) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
}

/// Runs `work` and returns, beside its output, the ids of the events it appended — in
/// transactions that committed or not: only committed ones exist for a publisher to claim.
/// Work spawned onto other tasks is not seen; the relay publishes its events.
pub async fn collect<F: Future>(work: F) -> (F::Output, Vec<Uuid>) {
    APPENDED
        .scope(RefCell::new(Vec::new()), async move {
            let output = work.await;
            (output, APPENDED.with(|appended| appended.take()))
        })
        .await
}
