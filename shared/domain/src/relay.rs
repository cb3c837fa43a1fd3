//! The outbox relay's database side: claim a batch of unpublished events — only the earliest
//! unpublished event of each aggregate, so events of one aggregate leave in commit order even
//! with several relays running — hand them to a publisher, and mark them published in the
//! same transaction. A publisher failure rolls the claim back: delivery is at least once, and
//! consumers make their effects exactly once through the inbox.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::db::TenantTx;
use crate::error::DomainError;
use crate::tenant::TenantId;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct OutboxEvent {
    pub id: Uuid,
    pub seq: i64,
    pub tenant_id: TenantId,
    pub event_type: String,
    pub aggregate_type: String,
    pub aggregate_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub payload: Value,
}

/// Publishes one batch with `publish`; returns how many events left the outbox.
pub async fn relay_batch<E, F, Fut>(pool: &PgPool, limit: i64, publish: F) -> Result<usize, RelayError<E>>
where
    F: FnOnce(Vec<OutboxEvent>) -> Fut,
    Fut: Future<Output = Result<Vec<OutboxEvent>, E>>,
{
    relay_claimed(pool, limit, None, publish).await
}

/// The fast path: publishes those of `ids` that are still in the outbox, right after the
/// transaction that appended them committed, under the same rules as [`relay_batch`] (an
/// event whose aggregate has an earlier one unpublished, or that a relay holds, is left to
/// the relay). Returns how many left the outbox.
pub async fn relay_these<E, F, Fut>(pool: &PgPool, ids: &[Uuid], publish: F) -> Result<usize, RelayError<E>>
where
    F: FnOnce(Vec<OutboxEvent>) -> Fut,
    Fut: Future<Output = Result<Vec<OutboxEvent>, E>>,
{
    if ids.is_empty() {
        return Ok(0);
    }
    let limit = i64::try_from(ids.len()).unwrap_or(i64::MAX);
    relay_claimed(pool, limit, Some(ids), publish).await
}

async fn relay_claimed<E, F, Fut>(
    pool: &PgPool,
    limit: i64,
    only: Option<&[Uuid]>,
    publish: F,
) -> Result<usize, RelayError<E>>
where
    F: FnOnce(Vec<OutboxEvent>) -> Fut,
    Fut: Future<Output = Result<Vec<OutboxEvent>, E>>,
{
    // Two statements rather than one with `$2 is null or …`, so each keeps its own plan.
    const CLAIM: &str = "select o.id, o.seq, o.tenant_id, o.event_type, o.aggregate_type, o.aggregate_id, o.occurred_at, o.payload
         from outbox o
         where o.published_at is null
           and o.seq = (select min(e.seq) from outbox e where e.aggregate_id = o.aggregate_id and e.published_at is null)
         order by o.seq
         limit $1
         for update skip locked";
    const CLAIM_THESE: &str = "select o.id, o.seq, o.tenant_id, o.event_type, o.aggregate_type, o.aggregate_id, o.occurred_at, o.payload
         from outbox o
         where o.id = any($2)
           and o.published_at is null
           and o.seq = (select min(e.seq) from outbox e where e.aggregate_id = o.aggregate_id and e.published_at is null)
         order by o.seq
         limit $1
         for update skip locked";
    let mut tx = crate::db::begin_relay_tx(pool).await.map_err(DomainError::from)?;
    let query = match only {
        None => sqlx::query_as(CLAIM).bind(limit),
        Some(ids) => sqlx::query_as(CLAIM_THESE).bind(limit).bind(ids),
    };
    let events: Vec<OutboxEvent> = query.fetch_all(&mut *tx).await.map_err(DomainError::from)?;
    if events.is_empty() {
        return Ok(0);
    }
    let published = publish(events).await.map_err(RelayError::Publish)?;
    let ids: Vec<Uuid> = published.iter().map(|e| e.id).collect();
    mark_published(&mut tx, &ids).await?;
    tx.commit().await.map_err(DomainError::from)?;
    Ok(ids.len())
}

async fn mark_published(tx: &mut crate::db::RelayTx, ids: &[Uuid]) -> Result<(), DomainError> {
    sqlx::query("update outbox set published_at = now() where id = any($1)")
        .bind(ids)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError<E> {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("publishing failed")]
    Publish(#[source] E),
}

/// Records, in the transaction of a consumer's effects, that `consumer` handled `event_id`.
/// `false` means it had already: the caller must roll back and just acknowledge.
pub async fn first_delivery(
    tx: &mut TenantTx,
    tenant: TenantId,
    consumer: &str,
    event_id: Uuid,
) -> Result<bool, DomainError> {
    let inserted = sqlx::query(
        "insert into inbox (tenant_id, consumer, event_id) values ($1, $2, $3) on conflict do nothing",
    )
    .bind(tenant)
    .bind(consumer)
    .bind(event_id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// The event `event_id` as `tenant`'s outbox holds it, read inside the consumer's tenant
/// transaction: what a consumer checks a delivered event against before acting on it, since
/// anyone who can publish to the bus can make up an envelope.
pub async fn stored_event(
    tx: &mut TenantTx,
    tenant: TenantId,
    event_id: Uuid,
) -> Result<Option<OutboxEvent>, DomainError> {
    let event = sqlx::query_as(
        "select id, seq, tenant_id, event_type, aggregate_type, aggregate_id, occurred_at, payload
         from outbox where tenant_id = $1 and id = $2",
    )
    .bind(tenant)
    .bind(event_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(event)
}
