//! The worker-engine function's SQS batches against hostile input, on real Postgres and
//! SMTP: a forged message is acknowledged without effect, and a shop whose messages hang on a
//! silent webhook does not hold up another shop's message in the same batch.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::time::{Duration, Instant};

use axum::Router;
use kassa_domain::relay::OutboxEvent;
use kassa_domain::tenant::Tenant;
use kassa_engine::{Backoff, Engine, Mailer};
use kassa_events::Envelope;
use kassa_testkit::smtp::SmtpSink;
use kassa_testkit::webhook::SilentReceiver;
use kassa_testkit::{OrderBuilder, ProductBuilder, TestApp, VariantBuilder, batch_item_failures};
use kassa_worker_engine::handle;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

/// The engine of an app without routes, mailing to a fresh SMTP sink.
fn worker(pool: &PgPool) -> (TestApp, SmtpSink, Engine) {
    let app = TestApp::new(pool.clone(), |_| Router::new());
    let smtp = SmtpSink::start();
    let mailer = Mailer::new(&smtp.url(), "Shop <orders@shop.test>").unwrap();
    let engine = Engine::with_parts(&app.state, mailer, Backoff::new(Duration::from_millis(10)))
        .unwrap()
        .with_private_networks(true) // the silent receiver listens on 127.0.0.1
        .unwrap();
    (app, smtp, engine)
}

/// A shop with NL tax rates and a product in stock; returns the variant.
/// `owner`: the test database as its owner, for setup and assertions the service may not do.
async fn shop(app: &TestApp, owner: &PgPool, handle: &str) -> (Tenant, Uuid) {
    let shop = app.tenant(handle).await;
    sqlx::query("insert into tax_rates (id, tenant_id, country, tax_class, rate_bp) values ($1, $2, 'NL', 'standard', 2100)")
        .bind(Uuid::now_v7())
        .bind(shop.id)
        .execute(owner)
        .await
        .unwrap();
    let mug = ProductBuilder::selling(VariantBuilder::new("MUG").price(1_210).stock(1_000))
        .create(app, &shop)
        .await;
    (shop, mug.variant().id)
}

/// Places an order and returns its `order.placed` event as the outbox holds it.
async fn place(app: &TestApp, owner: &PgPool, shop: &Tenant, variant: Uuid) -> OutboxEvent {
    let order = OrderBuilder::new().line(variant, 1).place(app, shop).await;
    sqlx::query_as(
        "select id, seq, tenant_id, event_type, aggregate_type, aggregate_id, occurred_at, payload
         from outbox where tenant_id = $1 and event_type = 'order.placed' and aggregate_id = $2",
    )
    .bind(shop.id)
    .bind(order.id)
    .fetch_one(owner)
    .await
    .unwrap()
}

/// An SQS FIFO batch as Lambda delivers it (the recorded batch's shape), one message per
/// event, grouped by aggregate as the relay sends them.
fn batch(events: &[OutboxEvent]) -> Value {
    let raw =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/worker-engine-sqs.json"));
    let recorded: Value = serde_json::from_str(&raw.unwrap()).unwrap();
    let records: Vec<Value> = events
        .iter()
        .map(|event| {
            let mut record = recorded["Records"][0].clone();
            record["messageId"] = json!(Uuid::new_v4().to_string());
            record["body"] = json!(serde_json::to_string(&Envelope::from(event)).unwrap());
            record["attributes"]["MessageGroupId"] = json!(event.aggregate_id.to_string());
            record["attributes"]["MessageDeduplicationId"] = json!(event.id.to_string());
            record
        })
        .collect();
    json!({ "Records": records })
}

async fn runs(owner: &PgPool, shop: &Tenant, status: Option<&str>) -> i64 {
    sqlx::query_scalar(
        "select count(*) from workflow_runs where tenant_id = $1 and ($2::text is null or status = $2)",
    )
    .bind(shop.id)
    .bind(status)
    .fetch_one(owner)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_forged_order_placed_sent_straight_to_sqs_is_acknowledged_without_effect(pool: PgPool) {
    let (app, smtp, engine) = worker(&pool);
    let owner = &pool;
    let (demo, mug) = shop(&app, owner, "demo").await;
    let genuine = place(&app, owner, &demo, mug).await;

    // A made-up id; the genuine id with another customer; the genuine id as another type.
    let made_up = OutboxEvent { id: Uuid::now_v7(), ..genuine.clone() };
    let mut altered = genuine.clone();
    altered.payload["data"]["customer_email"] = json!("victim@example.com");
    let retyped = OutboxEvent { event_type: "order.paid".to_owned(), ..genuine.clone() };
    let forged = batch(&[made_up, altered, retyped]);
    let answer = handle(&engine, LambdaEvent::new(forged, Context::default())).await.unwrap();
    assert!(batch_item_failures(&answer).is_empty(), "acknowledged, not delivered again: {answer}");
    assert_eq!(runs(owner, &demo, None).await, 0, "no run started");
    assert!(smtp.messages().is_empty(), "no mail sent");
    assert_eq!(engine.forged_events(), 3);

    // The genuine event, whose id two forgeries carried, still runs.
    let answer = handle(&engine, LambdaEvent::new(batch(&[genuine]), Context::default())).await.unwrap();
    assert!(batch_item_failures(&answer).is_empty());
    assert_eq!(runs(owner, &demo, Some("succeeded")).await, 1);
    assert_eq!(smtp.messages().len(), 1);
    assert_eq!(engine.forged_events(), 3, "a genuine event passes");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn an_sqs_batch_runs_another_shops_order_while_a_shops_messages_hang_on_a_silent_webhook(pool: PgPool) {
    let (app, smtp, engine) = worker(&pool);
    let owner = &pool;
    let (other, other_mug) = shop(&app, owner, "other").await;
    let (demo, demo_mug) = shop(&app, owner, "demo").await;
    // A receiver that accepts and never answers.
    let receiver = SilentReceiver::start().await;
    receiver.workflow().replacing("On order placed").create(&app, &other).await;

    // Nine of other's orders first in the batch, demo's last.
    let mut events = Vec::new();
    for _ in 0..9 {
        events.push(place(&app, owner, &other, other_mug).await);
    }
    events.push(place(&app, owner, &demo, demo_mug).await);
    let started = Instant::now();
    let batch = batch(&events);
    let worker = engine.clone();
    let invocation =
        tokio::spawn(async move { handle(&worker, LambdaEvent::new(batch, Context::default())).await });
    while runs(owner, &demo, Some("succeeded")).await == 0 {
        assert!(started.elapsed() < Duration::from_secs(10), "demo's order never ran");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(1), "demo's message waited {took:?} behind other's");
    assert_eq!(smtp.messages().len(), 1);
    assert!(!invocation.is_finished(), "the invocation still waits for other's webhooks");
    assert_eq!(runs(owner, &other, None).await, 9);
    invocation.abort();
}
