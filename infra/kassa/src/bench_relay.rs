//! `kassa bench-relay`: outbox commit → consumer done latency. Writes events one transaction
//! at a time and a consumer records when each arrives:
//! - `--bus rabbitmq` (local): the relay loop, woken by commit notifications, publishes them;
//! - `--bus sqs` (the cloud's path, on the AWS emulator): no relay runs; each write publishes
//!   its own event right after the commit, as every function does with `EVENTS_QUEUE_URL`
//!   set ([`kassa_events::fast_path`]), and the SQS consumer loop receives it.

use std::time::Duration;

use chrono::Utc;
use kassa_domain::DomainError;
use kassa_domain::db::begin_tenant_tx;
use kassa_domain::tenant::Tenant;
use kassa_events::Envelope;
use kassa_events::envelope::bus_type;
use kassa_events::fast_path::{FastPath, Outcome};
use kassa_events::rabbitmq::{RabbitBus, Topology};
use kassa_events::sqs::{self, SqsBus};
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
                    let _ = sender.send(latency_ms(&envelope));
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
    let latencies = collect(&mut receiver, events).await;
    relay.abort();
    consuming.abort();
    latencies
}

/// A FIFO queue (and its dead-letter queue) of one bench run on the AWS emulator, and the
/// fast path that publishes to it.
pub struct BenchQueue {
    pub client: aws_sdk_sqs::Client,
    pub urls: sqs::QueueUrls,
    pub fast: FastPath,
}

impl BenchQueue {
    pub async fn create(pool: &PgPool, endpoint: &str) -> anyhow::Result<Self> {
        let client = sqs::client(Some(endpoint)).await;
        let urls = sqs::ensure_queue(&client, &format!("kassa-bench-{}", Uuid::now_v7().simple()), 3).await?;
        let fast = FastPath::new(pool.clone(), urls.queue.clone(), Some(endpoint.to_owned()));
        Ok(Self { client, urls, fast })
    }

    /// Deletes both queues (best effort: the emulator forgets them on restart anyway).
    pub async fn remove(self) {
        for queue in [self.urls.queue, self.urls.dead_letters] {
            let _ = self.client.delete_queue().queue_url(queue).send().await;
        }
    }
}

/// Latencies in milliseconds, sorted: the fast path to a fresh FIFO queue on the emulator at
/// `endpoint`, no relay running (an event the fast path left behind never arrives, and the
/// run fails).
pub async fn measure_sqs(
    pool: &PgPool,
    tenant: &Tenant,
    endpoint: &str,
    events: usize,
) -> anyhow::Result<Vec<f64>> {
    let queue = BenchQueue::create(pool, endpoint).await?;
    let consumer = SqsBus::new(queue.client.clone(), queue.urls.queue.clone());
    let (sender, mut receiver) = mpsc::unbounded_channel::<f64>();
    let consuming = tokio::spawn(async move {
        consumer
            .consume(RetryPolicy::default(), |envelope: Envelope| {
                let sender = sender.clone();
                async move {
                    let _ = sender.send(latency_ms(&envelope));
                    Handled::Done
                }
            })
            .await
    });
    for _ in 0..events {
        let id = write_event(pool, tenant).await?;
        match queue.fast.publish(&[id]).await {
            Outcome::Published(1) => {}
            other => anyhow::bail!("the fast path did not publish event {id}: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let latencies = collect(&mut receiver, events).await;
    consuming.abort();
    queue.remove().await;
    latencies
}

fn latency_ms(envelope: &Envelope) -> f64 {
    (Utc::now() - envelope.time).num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0
}

/// `events` latencies from `receiver`, sorted; fails if one does not come within 30 s.
async fn collect(receiver: &mut mpsc::UnboundedReceiver<f64>, events: usize) -> anyhow::Result<Vec<f64>> {
    let mut latencies = Vec::with_capacity(events);
    while latencies.len() < events {
        match tokio::time::timeout(Duration::from_secs(30), receiver.recv()).await {
            Ok(Some(latency)) => latencies.push(latency),
            _ => anyhow::bail!("only {} of {events} events arrived", latencies.len()),
        }
    }
    latencies.sort_by(f64::total_cmp);
    Ok(latencies)
}

/// One committed event, as a catalog write would leave it; returns its id.
async fn write_event(pool: &PgPool, tenant: &Tenant) -> Result<Uuid, DomainError> {
    let id = Uuid::now_v7();
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    sqlx::query(
        "insert into outbox (id, tenant_id, event_type, aggregate_type, aggregate_id, payload)
         values ($1, $2, 'bench.relayed', 'bench', $3, '{\"schema_version\": 1, \"data\": {}}')",
    )
    .bind(id)
    .bind(tenant.id)
    .bind(Uuid::now_v7())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The value at quantile `q` of sorted `values`.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let index = ((values.len() as f64 - 1.0) * q).round() as usize;
    values.get(index).copied().unwrap_or(f64::NAN)
}
