//! The SQS bus (the cloud's): a FIFO queue per consumer (message group = aggregate, so each
//! aggregate's events stay in order; deduplication id = event id) with a dead-letter queue
//! that SQS redrives to after the retry limit. Locally and in tests it runs against an AWS
//! emulator at `AWS_ENDPOINT_URL`.

use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    Message, MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};
use kassa_domain::relay::OutboxEvent;

use crate::{Envelope, Handled, RetryPolicy};

#[derive(Debug, thiserror::Error)]
pub enum SqsError {
    #[error("SQS request failed: {0}")]
    Request(String),
    #[error("SQS refused {0} of the events")]
    Refused(usize),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

fn request<E: std::fmt::Display>(err: E) -> SqsError {
    SqsError::Request(err.to_string())
}

pub struct SqsBus {
    client: Client,
    queue_url: String,
}

/// A client for the AWS account, or for the emulator at `endpoint`.
pub async fn client(endpoint: Option<&str>) -> Client {
    Client::new(&kassa_runtime::aws::sdk_config(endpoint))
}

/// A queue and its dead-letter queue.
#[derive(Debug, Clone)]
pub struct QueueUrls {
    pub queue: String,
    pub dead_letters: String,
}

/// Creates `<name>.fifo` and its dead-letter queue `<name>-dlq.fifo` (SQS moves a message
/// there after `max_receives` deliveries). Idempotent.
pub async fn ensure_queue(client: &Client, name: &str, max_receives: u32) -> Result<QueueUrls, SqsError> {
    let dlq = client
        .create_queue()
        .queue_name(format!("{name}-dlq.fifo"))
        .attributes(QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .map_err(request)?;
    let dlq_arn = client
        .get_queue_attributes()
        .queue_url(dlq.queue_url().unwrap_or_default())
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(request)?
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .unwrap_or_default();
    let redrive =
        serde_json::json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives }).to_string();
    let queue = client
        .create_queue()
        .queue_name(format!("{name}.fifo"))
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .send()
        .await
        .map_err(request)?;
    Ok(QueueUrls {
        queue: queue.queue_url().unwrap_or_default().to_owned(),
        dead_letters: dlq.queue_url().unwrap_or_default().to_owned(),
    })
}

impl SqsBus {
    pub fn new(client: Client, queue_url: String) -> Self {
        Self { client, queue_url }
    }

    /// Sends the events as CloudEvents, ten per request.
    pub async fn publish(&self, events: Vec<OutboxEvent>) -> Result<Vec<OutboxEvent>, SqsError> {
        for chunk in events.chunks(10) {
            let mut batch = self.client.send_message_batch().queue_url(&self.queue_url);
            for (i, event) in chunk.iter().enumerate() {
                let entry = SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(serde_json::to_string(&Envelope::from(event))?)
                    .message_group_id(event.aggregate_id.to_string())
                    .message_deduplication_id(event.id.to_string())
                    .build()
                    .map_err(request)?;
                batch = batch.entries(entry);
            }
            let sent = batch.send().await.map_err(request)?;
            if !sent.failed().is_empty() {
                return Err(SqsError::Refused(sent.failed().len()));
            }
        }
        Ok(events)
    }

    /// Receives and handles messages until the task is dropped. A handled message is
    /// deleted; a failed one becomes visible again after `retry.delay` and, after the
    /// queue's receive limit, SQS moves it to the dead-letter queue. The messages of one
    /// group (an aggregate) are handled in order — after a failure the rest of the group in
    /// the batch comes back with it, unhandled — and different groups concurrently, so one
    /// slow event holds up its own aggregate only.
    pub async fn consume<F, Fut>(&self, retry: RetryPolicy, handle: F) -> Result<(), SqsError>
    where
        F: Fn(Envelope) -> Fut,
        Fut: Future<Output = Handled>,
    {
        loop {
            let received = self
                .client
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
                .wait_time_seconds(1)
                .send()
                .await
                .map_err(request)?;
            let groups = groups(received.messages());
            let handled = futures_util::future::join_all(
                groups.into_iter().map(|group| self.handle_group(group, retry, &handle)),
            )
            .await;
            handled.into_iter().collect::<Result<Vec<()>, SqsError>>()?;
            if received.messages().is_empty() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// One group's messages, in order, until one fails; that one and the rest come back
    /// after the retry delay.
    async fn handle_group<F, Fut>(
        &self,
        group: Vec<&Message>,
        retry: RetryPolicy,
        handle: &F,
    ) -> Result<(), SqsError>
    where
        F: Fn(Envelope) -> Fut,
        Fut: Future<Output = Handled>,
    {
        let mut failed = false;
        for message in group {
            let outcome = if failed {
                Handled::Failed("an earlier event of its group failed".to_owned())
            } else {
                match serde_json::from_str::<Envelope>(message.body().unwrap_or_default()) {
                    Ok(envelope) => handle(envelope).await,
                    Err(err) => Handled::Poison(format!("not a Kassa CloudEvent: {err}")),
                }
            };
            let receipt = message.receipt_handle().unwrap_or_default();
            match outcome {
                Handled::Done => {
                    self.client
                        .delete_message()
                        .queue_url(&self.queue_url)
                        .receipt_handle(receipt)
                        .send()
                        .await
                        .map_err(request)?;
                }
                Handled::Failed(reason) | Handled::Poison(reason) => {
                    tracing::warn!(reason, "event failed; SQS delivers it again later");
                    failed = true;
                    let delay = i32::try_from(retry.delay.as_secs()).unwrap_or(i32::MAX);
                    self.client
                        .change_message_visibility()
                        .queue_url(&self.queue_url)
                        .receipt_handle(receipt)
                        .visibility_timeout(delay)
                        .send()
                        .await
                        .map_err(request)?;
                }
            }
        }
        Ok(())
    }

    /// Messages waiting in a queue (approximate, as SQS counts).
    pub async fn queue_length(&self, queue_url: &str) -> Result<u32, SqsError> {
        let attributes = self
            .client
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .map_err(request)?;
        Ok(attributes
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0))
    }
}

/// The messages by group (`MessageGroupId`; the relay sends an aggregate's events in one
/// group), groups in order of their first message; a message without a group is its own.
fn groups(messages: &[Message]) -> Vec<Vec<&Message>> {
    let mut groups: Vec<(Option<&str>, Vec<&Message>)> = Vec::new();
    for message in messages {
        let group = message.attributes().and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId));
        match groups.iter_mut().find(|(g, _)| g.is_some() && *g == group.map(String::as_str)) {
            Some((_, members)) => members.push(message),
            None => groups.push((group.map(String::as_str), vec![message])),
        }
    }
    groups.into_iter().map(|(_, members)| members).collect()
}
