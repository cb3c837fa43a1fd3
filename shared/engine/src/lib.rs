//! The workflow engine. An event starts a run of every tenant workflow it triggers (once per
//! workflow and event), and the engine runs the steps in order:
//!
//! - Steps whose effects live in Postgres (deduct stock, calculate taxes, set order status)
//!   commit their effects in the same transaction as the attempt's record and the run's
//!   progress, guarded by the run's lease: a step is applied exactly once, however often the
//!   event is delivered or the worker dies.
//! - Steps with outside effects (email, webhook) run first and are recorded after: if the
//!   worker dies between the two, the step runs again (at least once). Receivers can tell
//!   repeats by the email's Message-ID and the webhook's `Idempotency-Key`.
//!
//! A failed attempt waits (exponential backoff) for the sweeper, which resumes due runs; a
//! step out of attempts fails the run until a person retries it.
//!
//! Tenants share a worker, so runs execute concurrently within [`Limits`]: at most
//! `per_tenant` runs of one tenant and `global` in all per process. A shop whose runs all
//! wait on a silent webhook holds its own share of the slots, never another shop's runs.
//!
//! The bus is not trusted: anyone who can publish to it could make up an event. The engine
//! acts only on an event its tenant's outbox holds with the same id, type, source, subject
//! and data, and runs the workflows on the stored event (triggers match the outbox's domain
//! name, `order.placed`; the bus calls it `event.order.placed`); anything else is logged, counted
//! ([`Engine::forged_events`]) and acknowledged without effect.

pub mod mail;
mod slots;
pub mod steps;
pub mod webhook;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use kassa_domain::DomainError;
use kassa_domain::db::begin_tenant_tx;
use kassa_domain::relay::{first_delivery, stored_event};
use kassa_domain::tenant::{Tenant, TenantId, TenantKey};
use kassa_domain::workflows::{self, AttemptOutcome, Next, StepKind};
use kassa_events::envelope::domain_type;
use kassa_events::rabbitmq::{RabbitBus, Topology};
use kassa_events::sqs::SqsBus;
use kassa_events::{Envelope, Handled, RetryPolicy};
use kassa_runtime::Runtime;
use kassa_runtime::cache::ResponseCache;
use kassa_runtime::tenants::TenantResolver;
use sqlx::PgPool;
use uuid::Uuid;

pub use mail::Mailer;
pub use slots::Limits;
use slots::{Slots, TenantSlot};

/// The consumer name the engine records handled events under.
pub const CONSUMER: &str = "worker-engine";
/// Unacknowledged events a local worker holds at most.
const PREFETCH: u16 = 32;
/// How long a worker holds a run unless told otherwise; steps time out well within it.
const LEASE: Duration = Duration::from_secs(120);

/// When a failed step is tried again: `base` after the first failure, doubling each time,
/// never more than `max`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    pub fn new(base: Duration) -> Self {
        Backoff { base, max: Duration::from_secs(300) }
    }

    /// The wait after failed attempt `attempt` (1-based).
    pub fn after(&self, attempt: i32) -> Duration {
        let doublings = u32::try_from(attempt.saturating_sub(1)).unwrap_or(0).min(20);
        self.base.saturating_mul(1 << doublings).min(self.max)
    }
}

#[derive(Clone)]
pub struct Engine {
    db: PgPool,
    config: Arc<kassa_runtime::Config>,
    tenants: Arc<TenantResolver>,
    cache: Arc<ResponseCache>,
    mailer: Arc<Mailer>,
    http: reqwest::Client,
    private_networks: bool,
    backoff: Backoff,
    lease: Duration,
    /// Shared by every clone: the process's bounds.
    slots: Arc<Slots>,
    forged: Arc<AtomicU64>,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Mail(#[from] mail::MailError),
    #[error("cannot build the HTTP client")]
    Http(#[source] reqwest::Error),
    #[error("the worker did not consume its RabbitMQ queue within {0:?}")]
    NotConsuming(Duration),
}

impl Engine {
    /// An engine on the state's database and cache, mailing through `SMTP_URL`.
    pub fn new(state: &Runtime) -> Result<Self, EngineError> {
        let config = &state.config;
        let mailer = Mailer::new(config.smtp_url.expose(), &config.smtp_from)?;
        Self::with_parts(state, mailer, Backoff::new(config.workflow_retry_base))?
            .with_private_networks(config.webhook_private_networks)
    }

    /// An engine whose webhooks reach public addresses only.
    pub fn with_parts(state: &Runtime, mailer: Mailer, backoff: Backoff) -> Result<Self, EngineError> {
        Ok(Self {
            db: state.db.clone(),
            config: state.config.clone(),
            tenants: state.tenants.clone(),
            cache: state.cache.clone(),
            mailer: Arc::new(mailer),
            http: webhook::client(false).map_err(EngineError::Http)?,
            private_networks: false,
            backoff,
            lease: LEASE,
            slots: Slots::new(Limits::default()),
            forged: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Executes at most `limits.global` runs at once, `limits.per_tenant` of one tenant
    /// (default [`Limits::default`]: 16, 4 of one tenant).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.slots = Slots::new(limits);
        self
    }

    /// Events the engine refused since it started: no such event in the tenant's outbox,
    /// or one that differs from it (made up and published straight to the bus).
    pub fn forged_events(&self) -> u64 {
        self.forged.load(Ordering::Relaxed)
    }

    /// Lets webhooks reach private, loopback and link-local addresses too (local
    /// development; `WEBHOOK_PRIVATE_NETWORKS=allow`).
    pub fn with_private_networks(mut self, allow: bool) -> Result<Self, EngineError> {
        self.http = webhook::client(allow).map_err(EngineError::Http)?;
        self.private_networks = allow;
        Ok(self)
    }

    /// How long a worker holds a run before another may take it over (a worker that died
    /// mid-run delays its runs by this much).
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The bus consumer: starts the runs `envelope` triggers and executes them, concurrently
    /// and within the tenant's share of the slots, before it answers (the Lambda's way:
    /// nothing may run after the answer). Only a failure before the runs are recorded asks the
    /// bus to deliver the event again; after that, the runs themselves are the durable state
    /// and the sweeper finishes them.
    pub async fn handle(&self, envelope: &Envelope) -> Handled {
        match self.start(envelope).await {
            Ok(Some((tenant, runs))) => {
                futures_util::future::join_all(runs.iter().map(|run| self.execute_when_free(&tenant, *run)))
                    .await;
                Handled::Done
            }
            Ok(None) => Handled::Done,
            Err(err) => Handled::Failed(err.to_string()),
        }
    }

    /// A long-lived worker's consumer: records the event's runs, then executes them in the
    /// `background` so the next event need not wait for this one's email or webhook, nor for
    /// a free slot.
    async fn handle_in(&self, envelope: &Envelope, background: &Background) -> Handled {
        match self.start(envelope).await {
            Ok(Some((tenant, runs))) => {
                for run in runs {
                    background.spawn(self.clone(), tenant.clone(), run, None);
                }
                Handled::Done
            }
            Ok(None) => Handled::Done,
            Err(err) => Handled::Failed(err.to_string()),
        }
    }

    async fn execute_logged(&self, tenant: &Tenant, run: Uuid) {
        if let Err(err) = self.execute(tenant, run).await {
            tracing::warn!(error = %err, %run, "workflow run interrupted; the sweeper resumes it");
        }
    }

    /// Waits for a slot of the run's tenant, then of the process, and executes the run.
    async fn execute_when_free(&self, tenant: &Tenant, run: Uuid) {
        if let Some(slot) = self.slots.tenant(tenant.id).await {
            self.execute_in(slot, tenant, run).await;
        }
    }

    /// Executes the run once the process has a slot for it; `slot` is its tenant's.
    async fn execute_in(&self, slot: TenantSlot, tenant: &Tenant, run: Uuid) {
        if let Some(_slot) = self.slots.global(slot).await {
            self.execute_logged(tenant, run).await;
        }
    }

    /// Records the event as handled and starts its runs, in one transaction. `None` when the
    /// event was handled before, its tenant is gone, or its tenant's outbox does not hold it
    /// as delivered (forged).
    async fn start(&self, envelope: &Envelope) -> Result<Option<(Arc<Tenant>, Vec<Uuid>)>, DomainError> {
        let Some(tenant) = self.tenant(envelope.tenantid.into()).await? else {
            self.refuse(envelope, "event of an unknown tenant skipped");
            return Ok(None);
        };
        let mut tx = begin_tenant_tx(&self.db, tenant.id).await?;
        // Checked before the inbox records the id: a forgery carrying a genuine event's id
        // must not keep the genuine event from running.
        let Some(stored) = stored_event(&mut tx, tenant.id, envelope.id).await? else {
            self.refuse(envelope, "event not in its tenant's outbox refused");
            return Ok(None);
        };
        let genuine = Envelope::from(&stored);
        if !same_event(envelope, &genuine) {
            self.refuse(envelope, "event that differs from its tenant's outbox refused");
            return Ok(None);
        }
        // An image left its product (or the product was deleted): its uploaded object goes.
        // Deleting is idempotent, so it happens before the inbox row, and no lock is held
        // across the call; a failure leaves the event to be delivered again.
        if stored.event_type == "product_media.deleted" {
            self.release_object(&tenant, &genuine).await?;
        }
        if !first_delivery(&mut tx, tenant.id, CONSUMER, genuine.id).await? {
            return Ok(None);
        }
        // The runs see the event as stored, whatever else the envelope carried.
        let event = serde_json::to_value(&genuine).unwrap_or_default();
        let data = genuine.data.get("data").cloned().unwrap_or_default();
        // Triggers hold the domain name (`order.placed`), as the outbox does; the envelope
        // carries the bus name (`event.order.placed`, see `kassa_events::envelope`).
        let mut runs =
            workflows::start_runs(&mut tx, tenant.id, genuine.id, &stored.event_type, &event, &data).await?;
        tx.commit().await?;
        // A person retried a failed run: resume it now rather than at the next sweep.
        if stored.event_type == "workflow_run.retried"
            && let Ok(run) = Uuid::parse_str(&genuine.subject)
        {
            runs.push(run);
        }
        Ok(Some((tenant, runs)))
    }

    /// Deletes the uploaded object of a `product_media.deleted` event (external images have
    /// none); only keys under the shop's own prefix.
    async fn release_object(&self, tenant: &Tenant, event: &Envelope) -> Result<(), DomainError> {
        let key = event.data.pointer("/data/key").and_then(serde_json::Value::as_str);
        if let Some(key) = key.filter(|k| k.starts_with(&kassa_domain::media::prefix(tenant))) {
            kassa_runtime::media::MediaStore::shared(&self.config).await.delete(key).await?;
            tracing::info!(tenant = %tenant.id, event = %event.id, "media object deleted");
        }
        Ok(())
    }

    /// Logs (never the payload) and counts an event the engine does not act on.
    fn refuse(&self, envelope: &Envelope, message: &'static str) {
        self.forged.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            tenant = %envelope.tenantid,
            event = %envelope.id,
            event_type = %envelope.event_type,
            "{message}"
        );
    }

    /// Through the process's tenant cache, as requests do: one lookup per tenant and TTL, not
    /// one per event.
    async fn tenant(&self, id: TenantId) -> Result<Option<Arc<Tenant>>, DomainError> {
        self.tenants.resolve(&self.db, &TenantKey::Id(id)).await
    }

    /// Runs a run's remaining steps while it holds the run's lease; returns at once if the
    /// run is not due or another worker holds it.
    pub async fn execute(&self, tenant: &Tenant, run_id: Uuid) -> Result<(), DomainError> {
        let Some(mut run) = workflows::claim(&self.db, tenant.id, run_id, self.lease.as_secs_f64()).await?
        else {
            return Ok(());
        };
        loop {
            let Some(step) = usize::try_from(run.next_step).ok().and_then(|i| run.steps.get(i)).cloned()
            else {
                return Ok(());
            };
            let attempt = run.step_attempts + 1;
            let started_at = Utc::now();
            let parsed = StepKind::parse(&step);
            // Stock decides `in_stock` on the storefront.
            let changes_stock = matches!(parsed, Ok(StepKind::DeductStock(_)));
            let (mut tx, outcome) = match parsed {
                Err(err) => {
                    (begin_tenant_tx(&self.db, tenant.id).await?, AttemptOutcome::Failed(err.to_string()))
                }
                Ok(kind) if kind.is_external() => {
                    let outcome = steps::external(self, &kind, tenant, &run).await;
                    (begin_tenant_tx(&self.db, tenant.id).await?, outcome)
                }
                Ok(kind) => {
                    let mut tx = begin_tenant_tx(&self.db, tenant.id).await?;
                    match steps::in_database(&mut tx, &kind, tenant.id, &run).await {
                        Ok(outcome) => (tx, outcome),
                        Err(err) => {
                            // The effects roll back with the dropped transaction.
                            drop(tx);
                            tracing::warn!(error = %err, run = %run.id, "workflow step failed");
                            (
                                begin_tenant_tx(&self.db, tenant.id).await?,
                                AttemptOutcome::Failed(err.to_string()),
                            )
                        }
                    }
                }
            };
            let next = workflows::record_attempt(
                &mut tx,
                &run,
                attempt,
                started_at,
                &outcome,
                self.backoff.after(attempt),
            )
            .await?;
            tx.commit().await?;
            if changes_stock && matches!(outcome, AttemptOutcome::Succeeded(_)) {
                self.cache.bump(tenant.id).await;
            }
            match next {
                Next::Continue => {
                    run.next_step += 1;
                    run.step_attempts = 0;
                }
                Next::Pause => return Ok(()),
            }
        }
    }

    /// Resumes up to `limit` due runs (retries whose wait is over, runs a worker left behind)
    /// concurrently, and returns once they are done (the Lambda's way); returns how many were
    /// due.
    /// The same pass releases the stock of checkouts whose reservation timed out
    /// (`kassa_domain::checkout::expire_due_reservations`).
    pub async fn sweep(&self, limit: i64) -> Result<usize, DomainError> {
        self.sweep_domain(limit).await;
        let (due, ready) = self.due(limit).await?;
        futures_util::future::join_all(
            ready
                .into_iter()
                .map(|(slot, tenant, run)| async move { self.execute_in(slot, &tenant, run).await }),
        )
        .await;
        Ok(due)
    }

    /// Ends up to `limit` checkouts whose reservation timed out, and publishes up to `limit`
    /// pages whose time has come (their shops' storefront caches bumped); logged, and a
    /// failure waits for the next sweep.
    async fn sweep_domain(&self, limit: i64) {
        match kassa_domain::checkout::expire_due_reservations(&self.db, limit).await {
            Ok(0) => {}
            Ok(ended) => tracing::info!(ended, "checkouts whose reservation timed out released their stock"),
            Err(err) => tracing::warn!(error = %err, "releasing timed-out reservations failed"),
        }
        match kassa_domain::pages::publish_due(&self.db, limit).await {
            Ok(shops) => {
                for shop in shops {
                    self.cache.bump(shop).await;
                }
            }
            Err(err) => tracing::warn!(error = %err, "publishing scheduled pages failed"),
        }
    }

    /// Up to `limit` due runs, at most a tenant's share of each, with a free slot of their
    /// tenant taken for each: a tenant whose slots are all busy waits for a later sweep (its
    /// runs are under way), and the others are not held up behind it.
    async fn due(&self, limit: i64) -> Result<(usize, Vec<(TenantSlot, Arc<Tenant>, Uuid)>), DomainError> {
        let per_tenant = i64::try_from(self.slots.limits().per_tenant).unwrap_or(i64::MAX);
        let due = workflows::due_runs_per_tenant(&self.db, limit, per_tenant).await?;
        let mut ready = Vec::with_capacity(due.len());
        for (tenant_id, run) in &due {
            let Some(tenant) = self.tenant(*tenant_id).await? else { continue };
            if let Some(slot) = self.slots.try_tenant(tenant.id) {
                ready.push((slot, tenant, *run));
            }
        }
        Ok((due.len(), ready))
    }

    /// The local worker (the cloud's is the worker-engine function on SQS): consumes the
    /// RabbitMQ queue `<exchange>.worker-engine` (`kassa.events.worker-engine`), bound to
    /// every event type, until the task is dropped; reconnects with backoff when the broker
    /// goes away.
    pub async fn consume_rabbitmq(self, url: String, topology: Topology) {
        let queue = format!("{}.{CONSUMER}", topology.exchange);
        let background = &Background::new();
        let mut backoff = Duration::from_secs(1);
        loop {
            match RabbitBus::connect(&url, topology.clone()).await {
                Ok(bus) => {
                    backoff = Duration::from_secs(1);
                    let engine = &self;
                    let consumed = bus
                        .consume(&queue, &["#"], PREFETCH, RetryPolicy::default(), |envelope| async move {
                            engine.handle_in(&envelope, background).await
                        })
                        .await;
                    if let Err(err) = consumed {
                        tracing::warn!(error = %err, "worker lost RabbitMQ; reconnecting");
                    }
                }
                Err(err) => tracing::warn!(error = %err, ?backoff, "RabbitMQ unreachable; workflows wait"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    }

    /// [`Engine::consume_rabbitmq`] in a task of its own, returned once the worker consumes
    /// its queue: a new exchange (a test's or a bench's) has no queue before the worker binds
    /// one, and an event published to it until then is lost. Fails after `within`.
    pub async fn spawn_rabbitmq(
        self,
        url: String,
        topology: Topology,
        within: Duration,
    ) -> Result<tokio::task::JoinHandle<()>, EngineError> {
        let queue = format!("{}.{CONSUMER}", topology.exchange);
        let worker = tokio::spawn(self.consume_rabbitmq(url.clone(), topology.clone()));
        let started = std::time::Instant::now();
        // A passive declare of a missing queue closes its channel: probe on a fresh connection.
        loop {
            if let Ok(bus) = RabbitBus::connect(&url, topology.clone()).await
                && bus.consumer_count(&queue).await.is_ok_and(|n| n > 0)
            {
                return Ok(worker);
            }
            if started.elapsed() >= within {
                worker.abort();
                return Err(EngineError::NotConsuming(within));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The same worker on the SQS queue at `queue_url` (`EVENT_BUS=sqs`, e.g. against the
    /// AWS emulator): deletes what it handled (once its runs are recorded; they execute in the
    /// background, as on RabbitMQ); a failed event comes back after the retry delay and, after
    /// the queue's receive limit, moves to its dead-letter queue.
    pub async fn consume_sqs(self, client: aws_sdk_sqs::Client, queue_url: String) {
        let bus = SqsBus::new(client, queue_url);
        let background = &Background::new();
        loop {
            let engine = &self;
            if let Err(err) = bus
                .consume(RetryPolicy::default(), |envelope| async move {
                    engine.handle_in(&envelope, background).await
                })
                .await
            {
                tracing::warn!(error = %err, "worker lost SQS; trying again");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Sweeps every `interval` until the task is dropped (the local server's loop; in the
    /// cloud a schedule invokes the worker-engine function).
    /// The runs execute in the background: a run waiting on a slow receiver does not hold
    /// up the next sweep.
    pub async fn sweep_forever(self, interval: Duration) {
        let background = Background::new();
        loop {
            self.sweep_domain(100).await;
            match self.due(100).await {
                Ok((due, ready)) => {
                    if due > 0 {
                        tracing::debug!(runs = due, "resuming due workflow runs");
                    }
                    for (slot, tenant, run) in ready {
                        background.spawn(self.clone(), tenant, run, Some(slot));
                    }
                }
                Err(err) => tracing::warn!(error = %err, "workflow sweep failed"),
            }
            tokio::time::sleep(interval).await;
        }
    }
}

/// Runs a long-lived worker executes beside its consumer, each once it has a slot (its
/// tenant's, then the process's: the engine's [`Limits`]). They belong to the worker: when it
/// stops, they stop with it (as in a crash, their leases lapse and the sweeper resumes them).
struct Background {
    tasks: std::sync::Mutex<tokio::task::JoinSet<()>>,
}

/// Runs a local worker keeps executing or waiting for a slot; more are left to the sweeper
/// (they are recorded and due), so a flood of events cannot grow the worker's memory.
const QUEUED: usize = 10_000;

impl Background {
    fn new() -> Self {
        Self { tasks: std::sync::Mutex::new(tokio::task::JoinSet::new()) }
    }

    /// Executes the run in the background once it has a slot (`slot`: its tenant's, if taken
    /// already). Never waits itself.
    fn spawn(&self, engine: Engine, tenant: Arc<Tenant>, run: Uuid, slot: Option<TenantSlot>) {
        let Ok(mut tasks) = self.tasks.lock() else {
            return; // a panicked holder; the sweeper resumes the run
        };
        // Forget the finished ones.
        while tasks.try_join_next().is_some() {}
        if tasks.len() >= QUEUED {
            tracing::warn!(%run, "worker busy; the sweeper resumes the run");
            return;
        }
        tasks.spawn(async move {
            match slot {
                Some(slot) => engine.execute_in(slot, &tenant, run).await,
                None => engine.execute_when_free(&tenant, run).await,
            }
        });
    }
}

/// Whether `delivered` is the event its tenant's outbox holds as `stored` (parsed JSON is
/// compared, so key order and number spelling do not matter). Types are compared as domain
/// names, so an event relayed before the bus names gained their `event.` prefix
/// (`order.placed`, still queued at the upgrade) is accepted as well as `event.order.placed`;
/// any other type is not.
fn same_event(delivered: &Envelope, stored: &Envelope) -> bool {
    delivered.id == stored.id
        && delivered.tenantid == stored.tenantid
        && domain_type(&delivered.event_type) == domain_type(&stored.event_type)
        && delivered.source == stored.source
        && delivered.subject == stored.subject
        && delivered.data == stored.data
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(event_type: &str) -> Envelope {
        Envelope {
            specversion: "1.0".to_owned(),
            id: Uuid::nil(),
            source: "kassa/order".to_owned(),
            event_type: event_type.to_owned(),
            time: Utc::now(),
            subject: Uuid::nil().to_string(),
            datacontenttype: "application/json".to_owned(),
            tenantid: Uuid::nil(),
            sequence: 1,
            data: serde_json::json!({"schema_version": 1, "data": {"number": 1}}),
        }
    }

    #[test]
    fn a_delivered_event_matches_its_stored_event_under_its_bus_name_or_its_pre_rename_name_only() {
        let stored = envelope("event.order.placed");
        assert!(same_event(&envelope("event.order.placed"), &stored));
        assert!(same_event(&envelope("order.placed"), &stored), "relayed before the rename");
        for other in ["event.order.paid", "order.paid", "event.event.order.placed", "kassa.order.placed", ""]
        {
            assert!(!same_event(&envelope(other), &stored), "{other}");
        }
        let mut altered = envelope("event.order.placed");
        altered.data["data"]["number"] = serde_json::json!(2);
        assert!(!same_event(&altered, &stored));
    }

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap() {
        let backoff = Backoff { base: Duration::from_secs(2), max: Duration::from_secs(60) };
        let waits: Vec<u64> = (1..=7).map(|a| backoff.after(a).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff.after(1_000).as_secs(), 60);
    }
}
