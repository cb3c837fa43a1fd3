//! The worker-engine function. Two triggers:
//! - the events queue (SQS, FIFO): each message is a CloudEvent for the workflow engine. The
//!   answer lists only the messages that failed (`batchItemFailures`, with
//!   `ReportBatchItemFailures` on the event source), so one bad message never re-runs the
//!   good ones. In a FIFO queue a failed message also fails the later messages of its
//!   message group in the batch, so an aggregate's events keep their order. Different
//!   groups are handled concurrently (within the engine's per-tenant and global limits).
//! - a schedule: resumes due workflow runs (retries whose backoff is over, runs a worker
//!   left behind).
//!
//! Events the runs append (a step's `stock.adjusted`, say) are published before the
//! invocation ends when `EVENTS_QUEUE_URL` is set ([`handle_publishing`]), as the HTTP
//! functions do; the scheduled relay publishes the rest.

use std::collections::HashMap;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use kassa_engine::Engine;
use kassa_events::fast_path::FastPath;
use kassa_events::{Envelope, Handled};
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};

/// Runs due workflow runs per scheduled invocation.
const SWEEP_LIMIT: i64 = 100;

pub async fn handle(engine: &Engine, event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
    if event.payload.get("Records").is_some() {
        let batch: SqsEvent = serde_json::from_value(event.payload)?;
        Ok(serde_json::to_value(handle_batch(engine, batch).await)?)
    } else {
        let resumed = engine.sweep(SWEEP_LIMIT).await?;
        tracing::info!(resumed, "workflow sweep done");
        Ok(json!({ "resumed": resumed }))
    }
}

/// [`handle`], then publishes the events its runs appended through `events` (the fast path).
pub async fn handle_publishing(
    engine: &Engine,
    events: Option<&FastPath>,
    event: LambdaEvent<Value>,
) -> Result<Value, lambda_runtime::Error> {
    let Some(events) = events else {
        return handle(engine, event).await;
    };
    let (answer, appended) = kassa_domain::outbox::collect(handle(engine, event)).await;
    events.publish(&appended).await;
    answer
}

/// Hands every message to the engine and reports the ones to deliver again. The messages of
/// one group (an aggregate) are handled in order, and a failed one fails the rest of its
/// group; different groups (other aggregates, other shops) are handled concurrently, so a
/// shop whose webhook hangs does not hold up the rest of the batch.
pub async fn handle_batch(engine: &Engine, batch: SqsEvent) -> SqsBatchResponse {
    // Groups in order of their first message; a message without a group is its own.
    let mut groups: Vec<Vec<(usize, SqsMessage)>> = Vec::new();
    let mut group_of: HashMap<String, usize> = HashMap::new();
    for (position, message) in batch.records.into_iter().enumerate() {
        match message.attributes.get("MessageGroupId").cloned() {
            Some(group) => match group_of.get(&group).and_then(|&index| groups.get_mut(index)) {
                Some(messages) => messages.push((position, message)),
                None => {
                    group_of.insert(group, groups.len());
                    groups.push(vec![(position, message)]);
                }
            },
            None => groups.push(vec![(position, message)]),
        }
    }
    let failed =
        futures_util::future::join_all(groups.into_iter().map(|group| handle_group(engine, group))).await;
    let mut failures: Vec<(usize, String)> = failed.into_iter().flatten().collect();
    // Reported in the batch's order.
    failures.sort_by_key(|(position, _)| *position);
    let failures: Vec<String> = failures.into_iter().map(|(_, id)| id).collect();
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures
        .into_iter()
        .map(|id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failure
        })
        .collect();
    response
}

/// One message group's messages, in order; returns the failed ones (the first failure and
/// every later message of the group).
async fn handle_group(engine: &Engine, group: Vec<(usize, SqsMessage)>) -> Vec<(usize, String)> {
    let mut failures = Vec::new();
    for (position, message) in group {
        let id = message.message_id.clone().unwrap_or_default();
        if !failures.is_empty() {
            failures.push((position, id));
            continue;
        }
        let outcome = match serde_json::from_str::<Envelope>(message.body.as_deref().unwrap_or_default()) {
            Ok(envelope) => engine.handle(&envelope).await,
            Err(err) => Handled::Poison(format!("not a Kassa CloudEvent: {err}")),
        };
        if let Handled::Failed(reason) | Handled::Poison(reason) = outcome {
            tracing::warn!(message_id = %id, reason, "message failed; SQS delivers it again (then dead-letters it)");
            failures.push((position, id));
        }
    }
    failures
}
