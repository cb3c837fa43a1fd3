//! The relay loop the local server runs (in the cloud the `outbox-relay` function runs
//! batches on a schedule): publish the outbox to RabbitMQ as soon as a commit notifies
//! `kassa_outbox` (LISTEN), or at the latest every poll interval; reconnect with backoff when
//! the broker goes away.

use std::time::Duration;

use kassa_domain::relay::relay_batch;
use sqlx::PgPool;

use crate::rabbitmq::{RabbitBus, Topology};

const BATCH: i64 = 100;
/// The slow path: how long an empty outbox waits without a notification.
const IDLE: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Runs until the task is dropped.
pub async fn run(pool: PgPool, url: String, topology: Topology) {
    let mut backoff = Duration::from_secs(1);
    // Without a listener (it could not connect) the loop still polls.
    let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
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
        match RabbitBus::connect(&url, topology.clone()).await {
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
            Err(err) => tracing::warn!(error = %err, ?backoff, "RabbitMQ unreachable; the outbox waits"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Waits for an outbox commit's notification, or the poll interval.
async fn wait_for_commit(listener: Option<&mut sqlx::postgres::PgListener>) {
    match listener {
        Some(listener) => {
            // A lost connection is re-established by the listener; an error means poll now.
            let _ = tokio::time::timeout(IDLE, listener.recv()).await;
        }
        None => tokio::time::sleep(IDLE).await,
    }
}
