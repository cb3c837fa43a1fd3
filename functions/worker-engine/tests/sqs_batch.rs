//! `events/worker-engine-sqs.json` (an SQS FIFO batch as Lambda delivers it) replayed through
//! the runtime's SQS types and the function's handler: partial batch failures name only
//! the bad message and the later messages of its group; a real order event in the same
//! shape runs "On order placed".
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use aws_lambda_events::event::sqs::SqsEvent;
use axum::Router;
use kassa_domain::relay::OutboxEvent;
use kassa_engine::{Backoff, Engine, Mailer};
use kassa_events::Envelope;
use kassa_testkit::smtp::SmtpSink;
use kassa_testkit::{OrderBuilder, ProductBuilder, TestApp, VariantBuilder, batch_item_failures};
use kassa_worker_engine::handle;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use sqlx::PgPool;

fn recorded_batch() -> Value {
    let raw =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/worker-engine-sqs.json"));
    serde_json::from_str(&raw.unwrap()).unwrap()
}

fn engine(app: &TestApp, smtp: &SmtpSink) -> Engine {
    let mailer = Mailer::new(&smtp.url(), "Shop <orders@shop.test>").unwrap();
    Engine::with_parts(&app.state, mailer, Backoff::new(std::time::Duration::from_millis(10))).unwrap()
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_recorded_batch_reports_only_the_bad_message_and_the_rest_of_its_group(pool: PgPool) {
    let app = TestApp::new(pool, |_| Router::new());
    let smtp = SmtpSink::start();
    let engine = engine(&app, &smtp);
    let batch = recorded_batch();
    // The recorded batch reads as the runtime's SQS event type.
    let parsed: SqsEvent = serde_json::from_value(batch.clone()).unwrap();
    assert_eq!(parsed.records.len(), 4);

    let answer = handle(&engine, LambdaEvent::new(batch, Context::default())).await.unwrap();
    assert_eq!(
        batch_item_failures(&answer),
        ["0d4a4c0e-7b55-4b8c-9a61-0c1f2e3d4a02", "0d4a4c0e-7b55-4b8c-9a61-0c1f2e3d4a03"]
    );
}

/// A shop with a mug (stock 4) and a German tax rate, an order of 3 placed, and the recorded
/// batch's first record carrying that order's CloudEvent twice, as SQS may deliver it.
async fn order_batch(app: &TestApp) -> (uuid::Uuid, Value) {
    let shop = app.tenant("shop").await;
    let mug =
        ProductBuilder::selling(VariantBuilder::new("MUG").price(900).stock(4)).create(app, &shop).await;
    let variant = mug.variant().id;
    OrderBuilder::new().ship_to("DE").line(variant, 3).place(app, &shop).await;
    sqlx::query("insert into tax_rates (id, tenant_id, country, tax_class, rate_bp) values ($1, $2, 'DE', 'standard', 1900)")
        .bind(uuid::Uuid::now_v7())
        .bind(shop.id)
        .execute(&app.owner)
        .await
        .unwrap();
    let event: OutboxEvent = sqlx::query_as(
        "select id, seq, tenant_id, event_type, aggregate_type, aggregate_id, occurred_at, payload
         from outbox where event_type = 'order.placed'",
    )
    .fetch_one(&app.owner)
    .await
    .unwrap();
    let mut batch = recorded_batch();
    let mut record = batch["Records"][0].clone();
    record["body"] = Value::String(serde_json::to_string(&Envelope::from(&event)).unwrap());
    batch["Records"] = json!([record.clone(), record]);
    (variant, batch)
}

async fn stock(app: &TestApp, variant: uuid::Uuid) -> i32 {
    sqlx::query_scalar("select stock from product_variants where id = $1")
        .bind(variant)
        .fetch_one(&app.owner)
        .await
        .unwrap()
}

async fn run_statuses(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("select status from workflow_runs").fetch_all(&app.owner).await.unwrap()
}

fn recorded_sweep() -> Value {
    let raw = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/worker-engine-sweep.json"
    ));
    let schedule: Value = serde_json::from_str(&raw.unwrap()).unwrap();
    // It reads as EventBridge's scheduled event and carries no SQS records.
    let parsed: aws_lambda_events::event::eventbridge::EventBridgeEvent =
        serde_json::from_value(schedule.clone()).unwrap();
    assert_eq!(parsed.detail_type, "Scheduled Event");
    schedule
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn an_order_event_from_sqs_runs_on_order_placed_and_a_redelivery_changes_nothing(pool: PgPool) {
    let app = TestApp::new(pool, |_| Router::new());
    let smtp = SmtpSink::start();
    let engine = engine(&app, &smtp);
    let (variant, batch) = order_batch(&app).await;
    let answer = handle(&engine, LambdaEvent::new(batch, Context::default())).await.unwrap();
    assert!(batch_item_failures(&answer).is_empty());

    assert_eq!(stock(&app, variant).await, 1, "the same message twice deducted once");
    assert_eq!(run_statuses(&app).await, ["succeeded"]);
    assert_eq!(smtp.messages().len(), 1);

    // The recorded schedule: nothing is due.
    let answer = handle(&engine, LambdaEvent::new(recorded_sweep(), Context::default())).await.unwrap();
    assert_eq!(answer, json!({"resumed": 0}));
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn the_recorded_sweep_schedule_resumes_a_run_a_worker_left_behind_at_the_step_it_had_reached(
    pool: PgPool,
) {
    let app = TestApp::new(pool, |_| Router::new());
    let smtp = SmtpSink::start();
    let engine = engine(&app, &smtp);
    let (variant, batch) = order_batch(&app).await;
    handle(&engine, LambdaEvent::new(batch, Context::default())).await.unwrap();
    // As if the worker had died before the last step (the email) and its lease had run out.
    sqlx::query(
        "update workflow_runs set status = 'running', lease_until = null, finished_at = null,
                next_step = jsonb_array_length(steps) - 1, step_attempts = 0,
                next_attempt_at = now() - interval '1 minute'",
    )
    .execute(&app.owner)
    .await
    .unwrap();

    let answer = handle(&engine, LambdaEvent::new(recorded_sweep(), Context::default())).await.unwrap();
    assert_eq!(answer, json!({"resumed": 1}));
    assert_eq!(run_statuses(&app).await, ["succeeded"]);
    assert_eq!(stock(&app, variant).await, 1, "the steps before it are not done again");
    assert_eq!(smtp.messages().len(), 2, "the email step ran again");
}
