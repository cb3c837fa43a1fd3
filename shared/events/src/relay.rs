//! The relay loop the local server runs (in the cloud the `outbox-relay` function runs
//! batches on a schedule): publish the outbox to the bus (RabbitMQ or SQS) as soon as a
//! commit notifies `kassa_outbox` (LISTEN), or at the latest every poll interval; reconnect
//! with backoff when the bus goes away.

use std::time::Duration;

use kassa_domain::relay::{OutboxEvent, relay_batch};
use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};

#[cfg(feature = "rabbitmq")]
use crate::rabbitmq::{RabbitBus, Topology};
use crate::sqs::SqsBus;

/// What the relay publishes through: both buses.
pub trait Publisher {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Publishes the events and returns the ones the bus took.
    fn publish(
        &self,
        events: Vec<OutboxEvent>,
    ) -> impl Future<Output = Result<Vec<OutboxEvent>, Self::Error>>;
}

#[cfg(feature = "rabbitmq")]
impl Publisher for RabbitBus {
    type Error = crate::rabbitmq::BusError;

    fn publish(
        &self,
        events: Vec<OutboxEvent>,
    ) -> impl Future<Output = Result<Vec<OutboxEvent>, Self::Error>> {
        RabbitBus::publish(self, events)
    }
}

impl Publisher for SqsBus {
    type Error = crate::sqs::SqsError;

    fn publish(
        &self,
        events: Vec<OutboxEvent>,
    ) -> impl Future<Output = Result<Vec<OutboxEvent>, Self::Error>> {
        SqsBus::publish(self, events)
    }
}

const BATCH: i64 = 100;
/// The slow path: how long an empty outbox waits without a notification.
const IDLE: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Relays to RabbitMQ at `url` until the task is dropped.
#[cfg(feature = "rabbitmq")]
pub async fn run(pool: PgPool, url: String, topology: Topology) {
    run_with(pool, || RabbitBus::connect(&url, topology.clone())).await
}

/// Relays to the SQS queue at `queue_url` until the task is dropped.
pub async fn run_sqs(pool: PgPool, client: aws_sdk_sqs::Client, queue_url: String) {
    run_with(pool, || {
        let bus = SqsBus::new(client.clone(), queue_url.clone());
        async move { Ok::<_, std::convert::Infallible>(bus) }
    })
    .await
}

/// Relays through whatever `connect` yields until the task is dropped.
pub async fn run_with<P, E, C, Fut>(pool: PgPool, connect: C)
where
    P: Publisher,
    E: std::fmt::Display,
    C: Fn() -> Fut,
    Fut: Future<Output = Result<P, E>>,
{
    let mut backoff = Duration::from_secs(1);
    // LISTEN keeps its connection for as long as the relay runs, so it gets one of its own
    // (same options) instead of taking one of `pool`'s for good: with
    // DATABASE_MAX_CONNECTIONS=1 every request would otherwise wait for it and fail.
    let own = PgPoolOptions::new().max_connections(1).connect_lazy_with((*pool.connect_options()).clone());
    // Without a listener (it could not connect) the loop still polls.
    let mut listener = match PgListener::connect_with(&own).await {
        Ok(mut listener) => match listener.listen("kassa_outbox").await {
            Ok(()) => Some(listener),
            Err(err) => {
                tracing::warn!(error = %err, "cannot LISTEN for outbox commits; polling only");
                None
            }
        },
        Err(err) => {
            tracing::warn!(error = %err, "cannot LISTEN for outbox commits; polling only");
            None
        }
    };
    loop {
        match connect().await {
            Ok(bus) => {
                backoff = Duration::from_secs(1);
                loop {
                    match relay_batch(&pool, BATCH, |events| bus.publish(events)).await {
                        Ok(0) => wait_for_commit(listener.as_mut()).await,
                        Ok(published) => tracing::debug!(published, "relayed outbox events"),
                        Err(err) => {
                            tracing::warn!(error = %err, "outbox relay failed; reconnecting");
                            break;
                        }
                    }
                }
            }
            Err(err) => tracing::warn!(error = %err, ?backoff, "event bus unreachable; the outbox waits"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Waits for an outbox commit's notification, or the poll interval.
async fn wait_for_commit(listener: Option<&mut PgListener>) {
    match listener {
        Some(listener) => {
            // A lost connection is re-established by the listener; an error means poll now.
            let _ = tokio::time::timeout(IDLE, listener.recv()).await;
        }
        None => tokio::time::sleep(IDLE).await,
    }
}
