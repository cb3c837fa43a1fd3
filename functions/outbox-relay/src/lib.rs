//! The outbox-relay function: on its schedule (and whenever invoked) it publishes the
//! outbox to the SQS event queue in batches until the outbox is empty or the invocation's
//! time is nearly up. Several invocations may overlap: batches are claimed with
//! `FOR UPDATE SKIP LOCKED`, only the earliest unpublished event of each aggregate at a time.

use std::time::Duration;

use kassa_domain::relay::{RelayError, relay_batch};
use kassa_events::sqs::{SqsBus, SqsError};
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;

const BATCH: i64 = 100;
/// Stop claiming new batches this long before the invocation's deadline.
const MARGIN: Duration = Duration::from_secs(5);

pub struct Relay {
    pub db: PgPool,
    pub bus: SqsBus,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct RelaySummary {
    pub published: usize,
    pub batches: usize,
}

/// Handles one scheduled (or manual) invocation.
pub async fn handle(relay: &Relay, event: LambdaEvent<Value>) -> Result<RelaySummary, lambda_runtime::Error> {
    let deadline = event.context.deadline();
    let mut summary = RelaySummary { published: 0, batches: 0 };
    loop {
        let left = deadline.duration_since(std::time::SystemTime::now()).unwrap_or_default();
        if left < MARGIN {
            break;
        }
        let published: usize = relay_batch(&relay.db, BATCH, |events| relay.bus.publish(events))
            .await
            .map_err(|e: RelayError<SqsError>| Box::new(e) as lambda_runtime::Error)?;
        if published == 0 {
            break;
        }
        summary.published += published;
        summary.batches += 1;
    }
    tracing::info!(published = summary.published, batches = summary.batches, "outbox relayed");
    Ok(summary)
}
