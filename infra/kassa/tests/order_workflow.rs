//! The local platform end to end, on RabbitMQ and on SQS (the AWS emulator): an order placed
//! through the API is published by the outbox relay, consumed by the workflow worker and run
//! through "On order placed" — stock deducted, taxes stored, confirmation at a real SMTP
//! server; and a worker killed in the middle of 500 orders leaves every step applied once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::time::{Duration, Instant};

use http::StatusCode;
use kassa_cli::local_routes;
use kassa_domain::orders;
use kassa_engine::{Backoff, Engine, Mailer};
use kassa_events::rabbitmq::Topology;
use kassa_testkit::smtp::SmtpSink;
use kassa_testkit::{Issuer, OrderBuilder, ProductBuilder, TestApp, VariantBuilder, WorkflowBuilder};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Clone, Copy, Debug)]
enum Bus {
    RabbitMq,
    Sqs,
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn an_order_placed_over_the_api_runs_on_order_placed_through_rabbitmq(pool: PgPool) {
    order_over_the_api(pool, Bus::RabbitMq).await;
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn an_order_placed_over_the_api_runs_on_order_placed_through_sqs(pool: PgPool) {
    order_over_the_api(pool, Bus::Sqs).await;
}

/// A queue of this test's own on one bus, and the relay and worker `kassa serve` runs on it
/// (`EVENT_BUS=rabbitmq|sqs`).
#[derive(Clone)]
enum Lane {
    RabbitMq { url: String, topology: Topology },
    Sqs { client: aws_sdk_sqs::Client, queue: String },
}

impl Lane {
    async fn open(bus: Bus) -> Self {
        match bus {
            Bus::RabbitMq => Lane::RabbitMq {
                url: std::env::var("RABBITMQ_URL")
                    .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned()),
                topology: Topology {
                    exchange: format!("kassa.test.orders.{}", Uuid::now_v7()),
                    transient: true,
                },
            },
            Bus::Sqs => {
                let endpoint = std::env::var("AWS_ENDPOINT_URL")
                    .expect("make test points AWS_ENDPOINT_URL at the emulator");
                let client = kassa_events::sqs::client(Some(&endpoint)).await;
                let name = format!("kassa-test-orders-{}", Uuid::now_v7().simple());
                let urls = kassa_events::sqs::ensure_queue(&client, &name, 5).await.unwrap();
                // A killed worker's messages come back after a second, not the default 30.
                client
                    .set_queue_attributes()
                    .queue_url(&urls.queue)
                    .attributes(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout, "1")
                    .send()
                    .await
                    .unwrap();
                Lane::Sqs { client, queue: urls.queue }
            }
        }
    }

    /// A worker; on RabbitMQ it returns once the worker's queue exists, so nothing the relay
    /// publishes is unroutable.
    async fn worker(&self, engine: Engine) -> tokio::task::JoinHandle<()> {
        match self.clone() {
            Lane::RabbitMq { url, topology } => {
                engine.spawn_rabbitmq(url, topology, Duration::from_secs(10)).await.unwrap()
            }
            Lane::Sqs { client, queue } => tokio::spawn(engine.consume_sqs(client, queue)),
        }
    }

    fn relay(&self, pool: &PgPool) -> tokio::task::JoinHandle<()> {
        match self.clone() {
            Lane::RabbitMq { url, topology } => {
                tokio::spawn(kassa_events::relay::run(pool.clone(), url, topology))
            }
            Lane::Sqs { client, queue } => {
                tokio::spawn(kassa_events::relay::run_sqs(pool.clone(), client, queue))
            }
        }
    }
}

async fn order_over_the_api(pool: PgPool, bus: Bus) {
    let issuer = Issuer::start().await;
    let app = TestApp::with_config(pool.clone(), issuer.config(), local_routes);
    let shop = app.tenant("shop").await;
    sqlx::query("insert into tax_rates (id, tenant_id, country, tax_class, rate_bp) values ($1, $2, 'BE', 'standard', 2100)")
        .bind(Uuid::now_v7())
        .bind(shop.id)
        .execute(&app.owner)
        .await
        .unwrap();
    let lamp =
        ProductBuilder::selling(VariantBuilder::new("LAMP").price(4_999).stock(5)).create(&app, &shop).await;
    let variant = lamp.variant().id;

    let smtp = SmtpSink::start();
    let mailer = Mailer::new(&smtp.url(), "Shop <orders@shop.test>").unwrap();
    let engine = Engine::with_parts(&app.state, mailer, Backoff::new(Duration::from_millis(50))).unwrap();
    let lane = Lane::open(bus).await;
    let tasks = [lane.worker(engine).await, lane.relay(&pool)];

    let owner = app.staff(&issuer, &shop, "owner");
    let order = owner
        .post(
            "/management/orders",
            &json!({"customer_email": "bert@example.be", "shipping_country": "BE",
                    "lines": [{"variant_id": variant, "quantity": 2}]}),
        )
        .await
        .expect(StatusCode::CREATED);

    let started = Instant::now();
    let runs = loop {
        let runs = owner.get("/management/workflow-runs?status=succeeded").await.expect(StatusCode::OK);
        if !runs["items"].as_array().unwrap().is_empty() {
            break runs;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the workflow did not finish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    tasks.iter().for_each(tokio::task::JoinHandle::abort);

    let run = runs["items"][0]["id"].as_str().unwrap();
    let detail = owner.get(&format!("/management/workflow-runs/{run}")).await.expect(StatusCode::OK);
    // The run keeps the domain name its trigger matched; its CloudEvent has the bus name.
    assert_eq!(detail["event_type"], "order.placed");
    assert_eq!(detail["event"]["type"], "event.order.placed");
    assert_eq!(detail["event"]["specversion"], "1.0");
    let steps: Vec<&str> =
        detail["steps"].as_array().unwrap().iter().map(|s| s["status"].as_str().unwrap()).collect();
    assert_eq!(steps, ["succeeded", "succeeded", "succeeded"]);

    let order = owner
        .get(&format!("/management/orders/{}", order["id"].as_str().unwrap()))
        .await
        .expect(StatusCode::OK);
    // 2 × €49.99 = €99.98 including 21 %: 9998 × 2100 / 12100 = 1735.2… → 1735.
    assert_eq!((order["total_amount"].as_i64(), order["tax_amount"].as_i64()), (Some(9_998), Some(1_735)));
    let stock: i32 = sqlx::query_scalar("select stock from product_variants where id = $1")
        .bind(variant)
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert_eq!(stock, 3);
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("Order #1 confirmed"), "{}", mails[0]);
    assert!(mails[0].contains("Total: EUR 99.98"), "{}", mails[0]);
    assert!(mails[0].contains("Tax (included): EUR 17.35"), "{}", mails[0]);
}

/// Runs of this shop by status.
async fn run_counts(db: &PgPool) -> (i64, i64) {
    sqlx::query_as("select count(*), count(*) filter (where status = 'succeeded') from workflow_runs")
        .fetch_one(db)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_worker_killed_mid_batch_of_500_orders_on_rabbitmq_and_restarted_applies_every_step_once(
    pool: PgPool,
) {
    kill_and_restart(pool, Bus::RabbitMq).await;
}

/// 100 orders here: the emulator (moto) takes ~250 ms per batch send and ~20 ms per received
/// message, so 500 orders (1,500 events) would take minutes of CI time.
#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_worker_killed_mid_batch_of_100_orders_on_sqs_and_restarted_applies_every_step_once(pool: PgPool) {
    kill_and_restart(pool, Bus::Sqs).await;
}

async fn kill_and_restart(pool: PgPool, bus: Bus) {
    let (orders, kill_after): (i64, i64) = match bus {
        Bus::RabbitMq => (500, 100),
        Bus::Sqs => (100, 30),
    };
    let app = TestApp::new(pool.clone(), |_| axum::Router::new());
    let shop = app.tenant("shop").await;
    let db = &app.state.db;
    // Database-only steps, so every effect can be counted: two status changes per order.
    WorkflowBuilder::new("Process")
        .step("set_order_status", json!({"status": "processing"}))
        .step("set_order_status", json!({"status": "completed"}))
        .replacing("On order placed")
        .create(&app, &shop)
        .await;
    let pen =
        ProductBuilder::selling(VariantBuilder::new("PEN").price(150).untracked()).create(&app, &shop).await;
    let order = OrderBuilder::new().customer("c@example.com").line(pen.variant().id, 1).draft();
    for chunk in 0..orders / 50 {
        let placed = futures_util::future::join_all((0..50).map(|_| orders::place(db, &shop, &order))).await;
        assert!(placed.iter().all(Result::is_ok), "chunk {chunk}");
    }

    let lane = Lane::open(bus).await;
    let smtp = SmtpSink::start();
    let engine = || {
        let mailer = Mailer::new(&smtp.url(), "Shop <orders@shop.test>").unwrap();
        Engine::with_parts(&app.state, mailer, Backoff::new(Duration::from_millis(50)))
            .unwrap()
            .with_lease(Duration::from_millis(500))
    };
    let first = lane.worker(engine()).await;
    let relay = lane.relay(&pool);

    // Kill the worker once it is well into the batch: its unacknowledged deliveries return to
    // the queue, and a run it held waits for its lease to lapse.
    let started = Instant::now();
    while run_counts(&app.owner).await.1 < kill_after {
        assert!(started.elapsed() < Duration::from_secs(60), "the first worker made no progress");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.abort();
    let _ = first.await;
    let at_kill = run_counts(&app.owner).await;
    assert!(at_kill.1 < orders, "the worker was killed before it finished: {at_kill:?}");

    let second = lane.worker(engine()).await;
    let sweeper = tokio::spawn(engine().sweep_forever(Duration::from_millis(100)));
    let started = Instant::now();
    while run_counts(&app.owner).await != (orders, orders) {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "not every run finished: {:?}",
            run_counts(&app.owner).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    second.abort();
    sweeper.abort();
    relay.abort();

    // Every effect exactly once: one run per order, one attempt per step, two status changes.
    let (completed, attempts, changes): (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from orders where status = 'completed'),
                (select count(*) from workflow_step_attempts),
                (select count(*) from outbox where event_type = 'order.status_changed')",
    )
    .fetch_one(&app.owner)
    .await
    .unwrap();
    assert_eq!((completed, attempts, changes), (orders, 2 * orders, 2 * orders));
    eprintln!(
        "{bus:?}: killed at {} runs started, {} finished; after restart {orders}/{orders} runs, {} attempts",
        at_kill.0,
        at_kill.1,
        2 * orders
    );
}
