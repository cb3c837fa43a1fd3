//! Publish after commit (the cloud's fast path): a function that committed outbox events
//! publishes them to the SQS event queue itself, before it answers, so a workflow starts
//! within milliseconds instead of at the relay's next scheduled run. It claims the events
//! as the relay does (`FOR UPDATE SKIP LOCKED`, the earliest unpublished event of each
//! aggregate only) and marks them published in the same transaction. Whatever it cannot
//! publish — SQS down, the time budget spent, an earlier event of the aggregate still
//! waiting — stays in the outbox for the relay. Delivery stays at least once: if the budget
//! ends after SQS took a batch but before the mark committed, the relay sends it again and
//! the FIFO queue's deduplication id (the event id) and the consumers' inbox absorb it.

use std::time::Duration;

use kassa_domain::outbox::PublishAfterCommit;
use kassa_domain::relay::relay_these;
use sqlx::PgPool;
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::sqs::{SqsBus, client};

/// The longest a request waits for its events to be published before it answers anyway.
pub const BUDGET: Duration = Duration::from_secs(2);

pub struct FastPath {
    db: PgPool,
    queue_url: String,
    endpoint: Option<String>,
    /// Built on first use: a function that never writes an event never loads AWS settings.
    bus: OnceCell<SqsBus>,
}

impl std::fmt::Debug for FastPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FastPath").field("queue_url", &self.queue_url).finish_non_exhaustive()
    }
}

/// What one call did, for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing was appended.
    Nothing,
    /// This many of the appended events left the outbox (the rest are the relay's).
    Published(usize),
    /// Publishing failed or ran out of time; the relay publishes them.
    LeftToRelay,
}

impl FastPath {
    /// Publishes to the queue at `queue_url`, through the AWS emulator at `endpoint` if set.
    pub fn new(db: PgPool, queue_url: String, endpoint: Option<String>) -> Self {
        Self { db, queue_url, endpoint, bus: OnceCell::new() }
    }

    /// The fast path of a process configured with `EVENTS_QUEUE_URL` (none without it).
    pub fn for_runtime(runtime: &kassa_runtime::Runtime) -> Option<Self> {
        let queue_url = runtime.config.events_queue_url.clone()?;
        Some(Self::new(runtime.db.clone(), queue_url, runtime.config.aws_endpoint_url.clone()))
    }

    /// Publishes those of `ids` (events the caller's work appended) that are in the outbox
    /// and still unpublished, within [`BUDGET`]. Never fails the caller: a failure is logged
    /// and left to the relay.
    pub async fn publish(&self, ids: &[Uuid]) -> Outcome {
        if ids.is_empty() {
            return Outcome::Nothing;
        }
        let publishing = async {
            let bus = self
                .bus
                .get_or_init(|| async {
                    SqsBus::new(client(self.endpoint.as_deref()).await, self.queue_url.clone())
                })
                .await;
            relay_these(&self.db, ids, |events| bus.publish(events)).await
        };
        match tokio::time::timeout(BUDGET, publishing).await {
            Ok(Ok(published)) => {
                tracing::debug!(appended = ids.len(), published, "published after commit");
                Outcome::Published(published)
            }
            Ok(Err(err)) => {
                tracing::warn!(error = %err, events = ids.len(), "publishing after commit failed; the relay will");
                Outcome::LeftToRelay
            }
            Err(_) => {
                tracing::warn!(events = ids.len(), budget = ?BUDGET, "publishing after commit ran out of time; the relay will");
                Outcome::LeftToRelay
            }
        }
    }
}

impl PublishAfterCommit for FastPath {
    fn publish_after_commit<'a>(
        &'a self,
        appended: &'a [Uuid],
    ) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            self.publish(appended).await;
        })
    }
}
