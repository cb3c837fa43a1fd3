//! The worker-engine function. Two triggers:
//! - the events queue (SQS, FIFO): each message is a CloudEvent for the workflow engine. The
//!   answer lists only the messages that failed (`batchItemFailures`, with
//!   `ReportBatchItemFailures` on the event source), so one bad message never re-runs the
//!   good ones. In a FIFO queue a failed message also fails the later messages of its
//!   message group in the batch, so an aggregate's events keep their order.
//! - a schedule: resumes due workflow runs (retries whose backoff is over, runs a worker
//!   left behind).

use std::collections::HashSet;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use kassa_engine::Engine;
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

/// Hands every message to the engine and reports the ones to deliver again.
pub async fn handle_batch(engine: &Engine, batch: SqsEvent) -> SqsBatchResponse {
    let mut failed_groups: HashSet<String> = HashSet::new();
    let mut failures = Vec::new();
    for message in batch.records {
        let id = message.message_id.clone().unwrap_or_default();
        let group = message.attributes.get("MessageGroupId").cloned();
        if group.as_ref().is_some_and(|g| failed_groups.contains(g)) {
            failures.push(id);
            continue;
        }
        let outcome = match serde_json::from_str::<Envelope>(message.body.as_deref().unwrap_or_default()) {
            Ok(envelope) => engine.handle(&envelope).await,
            Err(err) => Handled::Poison(format!("not a Kassa CloudEvent: {err}")),
        };
        if let Handled::Failed(reason) | Handled::Poison(reason) = outcome {
            tracing::warn!(message_id = %id, reason, "message failed; SQS delivers it again (then dead-letters it)");
            failures.push(id);
            failed_groups.extend(group);
        }
    }
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
