//! The engine against hostile input, on real Postgres, RabbitMQ and SMTP:
//! - a shop whose runs all hang on a webhook that never answers does not delay another
//!   shop's orders (the local worker, the sweep);
//! - an event published straight to the bus, not taken from a tenant's outbox, starts no run
//!   and sends no mail, and the worker keeps going.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::time::{Duration, Instant};

use axum::Router;
use kassa_domain::db::begin_tenant_tx;
use kassa_domain::orders::Order;
use kassa_domain::relay::OutboxEvent;
use kassa_domain::resource::Editable;
use kassa_domain::taxes::{TaxRate, TaxRateDraft};
use kassa_domain::tenant::Tenant;
use kassa_domain::workflows;
use kassa_engine::{Backoff, Engine, Limits, Mailer};
use kassa_events::Envelope;
use kassa_events::rabbitmq::{RabbitBus, Topology};
use kassa_testkit::smtp::SmtpSink;
use kassa_testkit::webhook::SilentReceiver;
use kassa_testkit::{OrderBuilder, ProductBuilder, TestApp, VariantBuilder};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

struct World {
    app: TestApp,
    /// The test database as its owner: for setup and assertions the service may not do.
    db: PgPool,
    smtp: SmtpSink,
    engine: Engine,
}

fn world(pool: PgPool) -> World {
    let db = pool.clone();
    let app = TestApp::new(pool, |_| Router::new());
    let smtp = SmtpSink::start();
    let mailer = Mailer::new(&smtp.url(), "Shop <orders@shop.test>").unwrap();
    let backoff = Backoff::new(Duration::from_millis(50));
    // The silent receiver listens on 127.0.0.1.
    let engine =
        Engine::with_parts(&app.state, mailer, backoff).unwrap().with_private_networks(true).unwrap();
    World { app, db, smtp, engine }
}

/// A shop with the default "On order placed" workflow, NL tax rates and a product in stock.
async fn shop(world: &World, handle: &str) -> (Tenant, Uuid) {
    let shop = world.app.tenant(handle).await;
    let draft = TaxRateDraft { country: "NL".into(), tax_class: "standard".into(), rate_bp: 2100 };
    TaxRate::create(&world.app.state.db, &shop, &draft).await.unwrap();
    let mug = ProductBuilder::selling(VariantBuilder::new("MUG").price(1_210).stock(1_000))
        .create(&world.app, &shop)
        .await;
    (shop, mug.variant().id)
}

async fn place(world: &World, shop: &Tenant, variant: Uuid) -> Order {
    OrderBuilder::new().line(variant, 1).place(&world.app, shop).await
}

/// Replaces the shop's "On order placed" with a webhook to `receiver` that waits the longest
/// timeout, up to the most attempts.
async fn hang_on_webhook(world: &World, shop: &Tenant, receiver: &SilentReceiver) {
    receiver.workflow().replacing("On order placed").create(&world.app, shop).await;
}

async fn count(world: &World, sql: &str, tenant: &Tenant) -> i64 {
    sqlx::query_scalar(sql).bind(tenant.id).fetch_one(&world.db).await.unwrap()
}

/// Polls until `ready` holds, failing after `limit`.
async fn wait_until<F, Fut>(limit: Duration, what: &str, mut ready: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while !ready().await {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// How long after `since` the tenant's order run succeeded (polled every 5 ms; fails after 10 s).
async fn until_succeeded(world: &World, shop: &Tenant, since: Instant) -> Duration {
    let sql = "select count(*) from workflow_runs where tenant_id = $1 and status = 'succeeded'";
    wait_until(Duration::from_secs(10), "the run succeeded", || async { count(world, sql, shop).await == 1 })
        .await;
    since.elapsed()
}

fn rabbitmq_url() -> String {
    std::env::var("RABBITMQ_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// A test exchange of its own, routed as `kassa.events` is.
fn topology(name: &str) -> Topology {
    Topology { exchange: format!("kassa.test.{name}.{}", Uuid::now_v7()), transient: true }
}

/// The local worker (as `kassa serve` runs it) on `topology`; returns once its queue exists,
/// so nothing published afterwards is unroutable.
async fn worker(engine: Engine, topology: &Topology) -> tokio::task::JoinHandle<()> {
    engine.spawn_rabbitmq(rabbitmq_url(), topology.clone(), Duration::from_secs(10)).await.unwrap()
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_shop_with_40_runs_stuck_on_a_silent_webhook_does_not_delay_another_shops_order(pool: PgPool) {
    let world = world(pool.clone());
    let (other, other_mug) = shop(&world, "other").await;
    let (demo, demo_mug) = shop(&world, "demo").await;
    let receiver = SilentReceiver::start().await;
    hang_on_webhook(&world, &other, &receiver).await;
    let topology = topology("isolation");
    let tasks = [
        worker(world.engine.clone(), &topology).await,
        tokio::spawn(kassa_events::relay::run(pool.clone(), rabbitmq_url(), topology.clone())),
    ];

    for _ in 0..40 {
        place(&world, &other, other_mug).await;
    }
    // All 40 runs recorded, and as many as the shop may run at once hang on the receiver.
    let runs = "select count(*) from workflow_runs where tenant_id = $1";
    let share = Limits::default().per_tenant;
    wait_until(Duration::from_secs(20), "other's 40 runs hang", || async {
        count(&world, runs, &other).await == 40 && receiver.accepted() >= share
    })
    .await;

    let placed = Instant::now();
    let order = place(&world, &demo, demo_mug).await;
    let took = until_succeeded(&world, &demo, placed).await;
    assert!(took < Duration::from_secs(1), "demo's order waited {took:?} behind other's webhook");
    let mails = world.smtp.messages();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains(&format!("Order #{} confirmed - Shop demo", order.number)), "{}", mails[0]);
    // The shop held its share, not more: its runs are still stuck and nothing of them finished.
    assert_eq!(receiver.accepted(), share);
    let finished = "select count(*) from workflow_runs where tenant_id = $1 and finished_at is not null";
    assert_eq!(count(&world, finished, &other).await, 0);
    eprintln!("demo's order ran in {took:?} beside 40 hanging runs of other");
    for task in tasks {
        task.abort();
    }
}

/// Records the runs `event` starts without executing them (as a worker that died after
/// recording them would leave them): they are due for the sweep.
async fn record_runs(world: &World, shop: &Tenant, event: &OutboxEvent) {
    let envelope = Envelope::from(event);
    let mut tx = begin_tenant_tx(&world.app.state.db, shop.id).await.unwrap();
    let data = envelope.data["data"].clone();
    let value = serde_json::to_value(&envelope).unwrap();
    workflows::start_runs(&mut tx, shop.id, envelope.id, &event.event_type, &value, &data).await.unwrap();
    tx.commit().await.unwrap();
}

async fn order_events(world: &World, shop: &Tenant) -> Vec<OutboxEvent> {
    sqlx::query_as(
        "select id, seq, tenant_id, event_type, aggregate_type, aggregate_id, occurred_at, payload
         from outbox where tenant_id = $1 and event_type = 'order.placed' order by seq",
    )
    .bind(shop.id)
    .fetch_all(&world.db)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_sweep_finishes_another_shops_run_while_40_due_runs_of_a_shop_hang_on_a_silent_webhook(
    pool: PgPool,
) {
    let world = world(pool);
    let (other, other_mug) = shop(&world, "other").await;
    let (demo, demo_mug) = shop(&world, "demo").await;
    let receiver = SilentReceiver::start().await;
    hang_on_webhook(&world, &other, &receiver).await;
    // Other's 40 runs fell due first; demo's last.
    for _ in 0..40 {
        place(&world, &other, other_mug).await;
    }
    for event in order_events(&world, &other).await {
        record_runs(&world, &other, &event).await;
    }
    place(&world, &demo, demo_mug).await;
    let [event] = order_events(&world, &demo).await.try_into().unwrap();
    record_runs(&world, &demo, &event).await;

    let started = Instant::now();
    let engine = world.engine.clone();
    let sweep = tokio::spawn(async move { engine.sweep(100).await });
    let took = until_succeeded(&world, &demo, started).await;
    assert!(took < Duration::from_secs(1), "demo's due run waited {took:?} behind other's");
    assert_eq!(world.smtp.messages().len(), 1);
    wait_until(Duration::from_secs(5), "other's share hangs", || async {
        receiver.accepted() == Limits::default().per_tenant
    })
    .await;
    assert!(!sweep.is_finished(), "the sweep still waits for other's runs (the Lambda's way)");
    sweep.abort();
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_forged_order_placed_published_straight_to_rabbitmq_sends_no_mail_and_starts_no_run(pool: PgPool) {
    let world = world(pool.clone());
    let (demo, mug) = shop(&world, "demo").await;
    let topology = topology("forged");
    let worker = worker(world.engine.clone(), &topology).await;
    // A real order whose event the relay has not published yet.
    let order = place(&world, &demo, mug).await;
    let [genuine] = order_events(&world, &demo).await.try_into().unwrap();
    let product_event: OutboxEvent = sqlx::query_as(
        "select id, seq, tenant_id, event_type, aggregate_type, aggregate_id, occurred_at, payload
         from outbox where tenant_id = $1 and event_type <> 'order.placed' order by seq limit 1",
    )
    .bind(demo.id)
    .fetch_one(&world.db)
    .await
    .unwrap();

    // Hand-made CloudEvents, published to the exchange with the routing key the relay uses
    // (the event type), for demo's real tenant id and real order.
    let made_up = OutboxEvent { id: Uuid::now_v7(), ..genuine.clone() };
    let mut altered = genuine.clone();
    altered.payload["data"]["customer_email"] = json!("victim@example.com");
    let retyped = OutboxEvent {
        event_type: "order.placed".to_owned(),
        aggregate_type: "order".to_owned(),
        aggregate_id: order.id,
        ..product_event.clone()
    };
    let forgeries = vec![made_up, altered, retyped];
    let attacker = RabbitBus::connect(&rabbitmq_url(), topology.clone()).await.unwrap();
    attacker.publish(forgeries).await.unwrap();

    wait_until(Duration::from_secs(10), "the worker refused the three", || async {
        world.engine.forged_events() == 3
    })
    .await;
    let runs = "select count(*) from workflow_runs where tenant_id = $1";
    assert_eq!(count(&world, runs, &demo).await, 0, "no run started");
    assert!(world.smtp.messages().is_empty(), "no mail sent");
    // Acknowledged, not retried nor dead-lettered.
    let queue = format!("{}.worker-engine", topology.exchange);
    for name in [queue.clone(), format!("{queue}.retry"), format!("{queue}.dlq")] {
        assert_eq!(attacker.queue_length(&name).await.unwrap(), 0, "{name}");
    }

    // The genuine event (whose id a forgery carried) and an order placed afterwards both run
    // through the same worker.
    let later = place(&world, &demo, mug).await;
    let relay = tokio::spawn(kassa_events::relay::run(pool.clone(), rabbitmq_url(), topology.clone()));
    let succeeded = "select count(*) from workflow_runs where tenant_id = $1 and status = 'succeeded'";
    wait_until(Duration::from_secs(10), "both genuine orders ran", || async {
        count(&world, succeeded, &demo).await == 2
    })
    .await;
    let mails = world.smtp.messages();
    assert_eq!(mails.len(), 2);
    assert!(mails.iter().all(|mail| mail.contains("To: anna@example.com")), "{mails:?}");
    for number in [order.number, later.number] {
        let subject = format!("Order #{number} confirmed");
        assert_eq!(mails.iter().filter(|mail| mail.contains(&subject)).count(), 1, "{mails:?}");
    }
    assert_eq!(world.engine.forged_events(), 3, "genuine events pass");
    worker.abort();
    relay.abort();
}
