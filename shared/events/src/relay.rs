//! The relay loop the local server runs (in the cloud the `outbox-relay` function will run
//! batches on a schedule): publish the outbox to RabbitMQ, sleep briefly when it is empty,
//! reconnect with backoff when the broker goes away.

use std::time::Duration;

use kassa_domain::relay::relay_batch;
use sqlx::PgPool;

use crate::rabbitmq::{RabbitBus, Topology};

const BATCH: i64 = 100;
const IDLE: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Runs until the task is dropped.
pub async fn run(pool: PgPool, url: String, topology: Topology) {
    let mut backoff = Duration::from_secs(1);
    loop {
        match RabbitBus::connect(&url, topology.clone()).await {
            Ok(bus) => {
                backoff = Duration::from_secs(1);
                loop {
                    match relay_batch(&pool, BATCH, |events| bus.publish(events)).await {
                        Ok(0) => tokio::time::sleep(IDLE).await,
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
