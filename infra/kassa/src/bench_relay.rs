//! `kassa bench-relay`: outbox commit → consumer done latency on RabbitMQ. Writes events one
//! transaction at a time while the relay loop (woken by commit notifications) publishes them
//! and a consumer records when each arrives.

use std::time::Duration;

use chrono::Utc;
use kassa_domain::DomainError;
use kassa_domain::db::begin_tenant_tx;
use kassa_domain::tenant::Tenant;
use kassa_events::Envelope;
use kassa_events::envelope::bus_type;
use kassa_events::rabbitmq::{RabbitBus, Topology};
use kassa_events::{Handled, RetryPolicy};
use sqlx::PgPool;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Latencies in milliseconds, sorted.
pub async fn measure(
    pool: &PgPool,
    tenant: &Tenant,
    rabbitmq_url: &str,
    events: usize,
) -> anyhow::Result<Vec<f64>> {
    let topology = Topology { exchange: format!("kassa.bench.{}", Uuid::now_v7()), transient: true };
    let queue = format!("kassa.bench.{}", Uuid::now_v7());
    let consumer = RabbitBus::connect(rabbitmq_url, topology.clone()).await?;
    let (sender, mut receiver) = mpsc::unbounded_channel::<f64>();
    // The bus name of the events written below (`event.bench.relayed`).
    let binding = bus_type("bench.relayed");
    let consuming = tokio::spawn(async move {
        consumer
            .consume(&queue, &[binding.as_str()], 100, RetryPolicy::default(), |envelope: Envelope| {
                let sender = sender.clone();
                async move {
                    let latency =
                        (Utc::now() - envelope.time).num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0;
                    let _ = sender.send(latency);
                    Handled::Done
                }
            })
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let relay = tokio::spawn(kassa_events::relay::run(pool.clone(), rabbitmq_url.to_owned(), topology));
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..events {
        write_event(pool, tenant).await?;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let mut latencies = Vec::with_capacity(events);
    while latencies.len() < events {
        match tokio::time::timeout(Duration::from_secs(30), receiver.recv()).await {
            Ok(Some(latency)) => latencies.push(latency),
            _ => anyhow::bail!("only {} of {events} events arrived", latencies.len()),
        }
    }
    relay.abort();
    consuming.abort();
    latencies.sort_by(f64::total_cmp);
    Ok(latencies)
}

/// One committed event, as a catalog write would leave it.
async fn write_event(pool: &PgPool, tenant: &Tenant) -> Result<(), DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    sqlx::query(
        "insert into outbox (id, tenant_id, event_type, aggregate_type, aggregate_id, payload)
         values ($1, $2, 'bench.relayed', 'bench', $3, '{\"schema_version\": 1, \"data\": {}}')",
    )
    .bind(Uuid::now_v7())
    .bind(tenant.id)
    .bind(Uuid::now_v7())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The value at quantile `q` of sorted `values`.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let index = ((values.len() as f64 - 1.0) * q).round() as usize;
    values.get(index).copied().unwrap_or(f64::NAN)
}
