//! The workflow engine against real Postgres, a real SMTP server (aiosmtpd) and a real HTTP
//! receiver: "On order placed" end to end, redelivery, oversell under concurrency, retries
//! with backoff and a person's retry of a failed run.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use kassa_domain::orders::{self, Order};
use kassa_domain::relay::OutboxEvent;
use kassa_domain::resource::Editable;
use kassa_domain::taxes::{TaxRate, TaxRateDraft};
use kassa_domain::tenant::Tenant;
use kassa_domain::variants;
use kassa_domain::workflows::{self, AttemptStatus, ConditionOp, RunStatus, Workflow};
use kassa_engine::{Backoff, Engine, Mailer};
use kassa_events::{Envelope, Handled};
use kassa_testkit::smtp::SmtpSink;
use kassa_testkit::{OrderBuilder, ProductBuilder, TestApp, VariantBuilder, WorkflowBuilder};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

struct World {
    app: TestApp,
    shop: Tenant,
    engine: Engine,
    smtp: SmtpSink,
}

/// A shop with NL rates (standard 21 %, reduced 9 %) and an engine mailing the sink, with
/// millisecond backoff so retries come quickly.
async fn world(pool: PgPool) -> World {
    let app = TestApp::new(pool, |_| Router::new());
    let shop = app.tenant("shop").await;
    for (class, rate) in [("standard", 2100), ("reduced", 900)] {
        let draft = TaxRateDraft { country: "NL".into(), tax_class: class.into(), rate_bp: rate };
        TaxRate::create(&app.state.db, &shop, &draft).await.unwrap();
    }
    let smtp = SmtpSink::start();
    let mailer = Mailer::new(&smtp.url(), "Shop <orders@shop.test>").unwrap();
    let backoff = Backoff { base: Duration::from_millis(5), max: Duration::from_millis(20) };
    // The webhook receivers below listen on 127.0.0.1.
    let engine =
        Engine::with_parts(&app.state, mailer, backoff).unwrap().with_private_networks(true).unwrap();
    World { app, shop, engine, smtp }
}

/// The shop sells `variant` (an active product "Product <SKU>"); returns the variant's id.
async fn sell(world: &World, variant: VariantBuilder) -> Uuid {
    ProductBuilder::selling(variant).create(&world.app, &world.shop).await.variant().id
}

/// anna@example.com orders `quantity` of `variant`, shipped to NL.
async fn place(world: &World, variant: Uuid, quantity: i64) -> Order {
    OrderBuilder::new().line(variant, quantity).place(&world.app, &world.shop).await
}

/// The outbox's `event_type` events as the bus would deliver them.
async fn envelopes(world: &World, event_type: &str) -> Vec<Envelope> {
    let events: Vec<OutboxEvent> = sqlx::query_as(
        "select id, seq, tenant_id, event_type, aggregate_type, aggregate_id, occurred_at, payload
         from outbox where event_type = $1 order by seq",
    )
    .bind(event_type)
    .fetch_all(&world.app.owner)
    .await
    .unwrap();
    events.iter().map(Envelope::from).collect()
}

async fn stock(world: &World, variant: Uuid) -> i32 {
    sqlx::query_scalar("select stock from product_variants where id = $1")
        .bind(variant)
        .fetch_one(&world.app.owner)
        .await
        .unwrap()
}

async fn runs(world: &World) -> Vec<(Uuid, RunStatus)> {
    sqlx::query_as("select id, status from workflow_runs order by created_at, id")
        .fetch_all(&world.app.owner)
        .await
        .unwrap()
}

/// The one run there is, which must have `status`.
async fn only_run(world: &World, status: RunStatus) -> Uuid {
    let runs = runs(world).await;
    assert_eq!(runs.iter().map(|(_, s)| *s).collect::<Vec<_>>(), [status]);
    runs[0].0
}

/// Sweeps until no run is due or waiting any more (or 5 s pass).
async fn settle(world: &World) {
    for _ in 0..500 {
        world.engine.sweep(100).await.unwrap();
        let open: i64 =
            sqlx::query_scalar("select count(*) from workflow_runs where status in ('running', 'retrying')")
                .fetch_one(&world.app.owner)
                .await
                .unwrap();
        if open == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("runs did not settle");
}

/// Creates `workflow` in place of the shop's "On order placed".
async fn replace_default_workflow(world: &World, workflow: WorkflowBuilder) -> Workflow {
    workflow.replacing("On order placed").create(&world.app, &world.shop).await
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn an_order_placed_deducts_stock_calculates_taxes_and_emails_the_customer_once(pool: PgPool) {
    let world = world(pool).await;
    let apron = sell(&world, VariantBuilder::new("APRON").price(1_210).stock(5)).await;
    let order = place(&world, apron, 2).await;
    assert_eq!(stock(&world, apron).await, 5, "placing an order leaves stock to the workflow");

    let [placed] = envelopes(&world, "order.placed").await.try_into().unwrap();
    assert_eq!(world.engine.handle(&placed).await, Handled::Done);

    let order = orders::get(&world.app.state.db, &world.shop, order.id).await.unwrap();
    assert_eq!(stock(&world, apron).await, 3);
    assert!(order.stock_deducted_at.is_some());
    // 2 × €12.10 = €24.20 including 21 %: 2420 × 2100 / 12100 = 420 exactly.
    assert_eq!((order.subtotal_amount, order.tax_amount, order.total_amount), (2_420, Some(420), 2_420));
    assert_eq!((order.lines[0].tax_rate_bp, order.lines[0].tax_amount), (Some(2100), Some(420)));
    let run = only_run(&world, RunStatus::Succeeded).await;

    let mails = world.smtp.messages();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert!(mail.contains("To: anna@example.com"), "{mail}");
    assert!(mail.contains(&format!("Subject: Order #{} confirmed - Shop shop", order.number)), "{mail}");
    assert!(mail.contains("2 x Product APRON (APRON)  EUR 24.20"), "{mail}");
    assert!(mail.contains("Tax (included): EUR 4.20"), "{mail}");
    assert!(mail.contains("Total: EUR 24.20"), "{mail}");
    assert!(mail.contains(&format!("Message-ID: <{run}.2@kassa>")), "{mail}");

    // The bus delivers the event again: nothing new happens.
    assert_eq!(world.engine.handle(&placed).await, Handled::Done);
    settle(&world).await;
    assert_eq!(stock(&world, apron).await, 3);
    assert_eq!(runs(&world).await.len(), 1);
    assert_eq!(world.smtp.messages().len(), 1);
    // Every step ran once.
    let detail = workflows::run_detail(&world.app.state.db, &world.shop, run).await.unwrap();
    let attempts: Vec<usize> = detail.steps.iter().map(|s| s.attempts.len()).collect();
    assert_eq!(attempts, [1, 1, 1]);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_hundred_parallel_orders_for_ten_in_stock_deduct_exactly_ten(pool: PgPool) {
    let world = world(pool).await;
    let mug = sell(&world, VariantBuilder::new("MUG").price(900).stock(10)).await;
    let placed = futures_util::future::join_all((0..100).map(|_| place(&world, mug, 1))).await;
    assert_eq!(placed.len(), 100);
    let events = envelopes(&world, "order.placed").await;
    assert_eq!(events.len(), 100);

    let workers = events.into_iter().map(|envelope| {
        let engine = world.engine.clone();
        tokio::spawn(async move { engine.handle(&envelope).await })
    });
    for outcome in futures_util::future::join_all(workers).await {
        assert_eq!(outcome.unwrap(), Handled::Done);
    }
    settle(&world).await;

    let (deducted, attention, stock_after): (i64, i64, i32) = sqlx::query_as(
        "select count(*) filter (where stock_deducted_at is not null),
                count(*) filter (where status = 'needs_attention'),
                (select stock from product_variants where id = $1)
         from orders",
    )
    .bind(mug)
    .fetch_one(&world.app.owner)
    .await
    .unwrap();
    assert_eq!((deducted, attention, stock_after), (10, 90, 0));
    let statuses = runs(&world).await;
    assert_eq!(statuses.iter().filter(|(_, s)| *s == RunStatus::Succeeded).count(), 10);
    assert_eq!(statuses.iter().filter(|(_, s)| *s == RunStatus::Stopped).count(), 90);
    let reason: String =
        sqlx::query_scalar("select status_reason from orders where status = 'needs_attention' limit 1")
            .fetch_one(&world.app.owner)
            .await
            .unwrap();
    assert_eq!(reason, "not enough stock for MUG");
    assert_eq!(world.smtp.messages().len(), 10, "only the orders that got their stock are confirmed");
}

/// A webhook receiver that answers 500 while `failing` says so (or for the first
/// `fail_first` calls) and checks every signature.
#[derive(Clone, Default)]
struct Receiver {
    calls: Arc<AtomicUsize>,
    fail_first: usize,
    failing: Arc<AtomicBool>,
    bad_signatures: Arc<AtomicUsize>,
}

const SECRET: &str = "whsec_test_0123456789";

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    let call = receiver.calls.fetch_add(1, Ordering::SeqCst) + 1;
    let signature = headers["kassa-signature"].to_str().unwrap();
    let (t, v1) = signature.strip_prefix("t=").unwrap().split_once(",v1=").unwrap();
    if kassa_engine::webhook::signature(SECRET, t.parse().unwrap(), body.as_bytes()) != v1 {
        receiver.bad_signatures.fetch_add(1, Ordering::SeqCst);
    }
    if call <= receiver.fail_first || receiver.failing.load(Ordering::SeqCst) {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

async fn serve(receiver: Receiver) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = Router::new().route("/hook", post(receive)).with_state(receiver);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// "Tell the ERP": for orders shipped to NL, set the order processing, then call `url`.
fn webhook_workflow(url: &str, max_attempts: i32) -> WorkflowBuilder {
    WorkflowBuilder::new("Tell the ERP")
        .condition("/shipping_country", ConditionOp::Eq, json!("NL"))
        .step("set_order_status", json!({"status": "processing"}))
        .step_attempts(
            "http_request",
            json!({"url": url, "secret": SECRET, "timeout_ms": 2000}),
            max_attempts,
        )
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_step_that_fails_twice_then_succeeds_shows_three_attempts(pool: PgPool) {
    let world = world(pool).await;
    let receiver = Receiver { fail_first: 2, ..Receiver::default() };
    let url = serve(receiver.clone()).await;
    replace_default_workflow(&world, webhook_workflow(&url, 5)).await;
    let order = place(&world, sell(&world, VariantBuilder::new("CUP").price(500).stock(3)).await, 1).await;

    let [placed] = envelopes(&world, "order.placed").await.try_into().unwrap();
    assert_eq!(world.engine.handle(&placed).await, Handled::Done);
    let run = only_run(&world, RunStatus::Retrying).await;
    settle(&world).await;

    let detail = workflows::run_detail(&world.app.state.db, &world.shop, run).await.unwrap();
    assert_eq!(detail.run.status, RunStatus::Succeeded);
    let hook: Vec<AttemptStatus> = detail.steps[1].attempts.iter().map(|a| a.status).collect();
    assert_eq!(hook, [AttemptStatus::Failed, AttemptStatus::Failed, AttemptStatus::Succeeded]);
    assert!(detail.steps[1].attempts[0].error.as_deref().unwrap().contains("500"));
    // Backoff: each retry started after the previous attempt finished.
    let attempts = &detail.steps[1].attempts;
    assert!(attempts.windows(2).all(|w| w[1].started_at > w[0].finished_at));
    assert_eq!(detail.steps[0].attempts.len(), 1);
    assert_eq!(receiver.calls.load(Ordering::SeqCst), 3);
    assert_eq!(receiver.bad_signatures.load(Ordering::SeqCst), 0);
    let order = orders::get(&world.app.state.db, &world.shop, order.id).await.unwrap();
    assert_eq!(order.status, orders::OrderStatus::Processing);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_run_out_of_attempts_fails_and_a_retry_resumes_at_the_failed_step(pool: PgPool) {
    let world = world(pool).await;
    let receiver = Receiver::default();
    receiver.failing.store(true, Ordering::SeqCst);
    let url = serve(receiver.clone()).await;
    replace_default_workflow(&world, webhook_workflow(&url, 2)).await;
    place(&world, sell(&world, VariantBuilder::new("CUP").price(500).stock(3)).await, 1).await;
    let [placed] = envelopes(&world, "order.placed").await.try_into().unwrap();
    world.engine.handle(&placed).await;
    settle(&world).await;
    let run = only_run(&world, RunStatus::Failed).await;
    assert_eq!(receiver.calls.load(Ordering::SeqCst), 2);

    // The receiver is fixed; a person retries. The retry's event wakes the worker.
    receiver.failing.store(false, Ordering::SeqCst);
    let retried = workflows::retry(&world.app.state.db, &world.shop, run).await.unwrap();
    assert_eq!(retried.status, RunStatus::Running);
    let [wake] = envelopes(&world, "workflow_run.retried").await.try_into().unwrap();
    assert_eq!(world.engine.handle(&wake).await, Handled::Done);

    let detail = workflows::run_detail(&world.app.state.db, &world.shop, run).await.unwrap();
    assert_eq!(detail.run.status, RunStatus::Succeeded);
    assert_eq!(detail.steps[0].attempts.len(), 1, "the finished step did not run again");
    let hook: Vec<AttemptStatus> = detail.steps[1].attempts.iter().map(|a| a.status).collect();
    assert_eq!(hook, [AttemptStatus::Failed, AttemptStatus::Failed, AttemptStatus::Succeeded]);
    assert_eq!(receiver.calls.load(Ordering::SeqCst), 3);
    // Only a failed run can be retried.
    let again = workflows::retry(&world.app.state.db, &world.shop, run).await.unwrap_err();
    assert!(matches!(
        again,
        kassa_domain::DomainError::InvalidState { code: kassa_domain::ErrorCode::RunNotRetryable, .. }
    ));
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_missing_tax_rate_fails_the_step_without_touching_the_order_until_the_rate_exists(pool: PgPool) {
    let world = world(pool).await;
    replace_default_workflow(
        &world,
        WorkflowBuilder::new("Taxes only").step_attempts("calculate_taxes", json!({}), 1),
    )
    .await;
    let db = &world.app.state.db;
    let book = ProductBuilder::selling(VariantBuilder::new("BOOK").price(2_000).stock(3))
        .tax_class("books")
        .create(&world.app, &world.shop)
        .await
        .variant()
        .id;
    let order = place(&world, book, 1).await;
    let [placed] = envelopes(&world, "order.placed").await.try_into().unwrap();
    world.engine.handle(&placed).await;
    let run = only_run(&world, RunStatus::Failed).await;
    let detail = workflows::run_detail(db, &world.shop, run).await.unwrap();
    assert_eq!(
        detail.steps[0].attempts[0].error.as_deref(),
        Some("no tax rate for NL / books; add it under /management/tax-rates")
    );
    assert_eq!(orders::get(db, &world.shop, order.id).await.unwrap().tax_amount, None);

    let draft = TaxRateDraft { country: "NL".into(), tax_class: "books".into(), rate_bp: 900 };
    TaxRate::create(db, &world.shop, &draft).await.unwrap();
    workflows::retry(db, &world.shop, run).await.unwrap();
    settle(&world).await;
    // €20.00 including 9 %: 2000 × 900 / 10900 = 165.13… → 165.
    assert_eq!(orders::get(db, &world.shop, order.id).await.unwrap().tax_amount, Some(165));
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn webhooks_reach_no_private_address_unless_private_networks_are_allowed(pool: PgPool) {
    let world = world(pool).await;
    let receiver = Receiver::default();
    let url = serve(receiver.clone()).await;
    let by_name = url.replace("127.0.0.1", "localhost");
    let internal = WorkflowBuilder::new("Internal").step_attempts(
        "http_request",
        json!({"url": url, "secret": SECRET}),
        1,
    );
    replace_default_workflow(&world, internal).await;
    WorkflowBuilder::new("Internal by name")
        .condition("/shipping_country", ConditionOp::Eq, json!("NL"))
        .step_attempts("http_request", json!({"url": by_name, "secret": SECRET, "timeout_ms": 2000}), 1)
        .create(&world.app, &world.shop)
        .await;
    place(&world, sell(&world, VariantBuilder::new("CUP").price(500).stock(3)).await, 1).await;
    let [placed] = envelopes(&world, "order.placed").await.try_into().unwrap();

    // The engine a deployment runs: public addresses only.
    let mailer = Mailer::new(&world.smtp.url(), "Shop <orders@shop.test>").unwrap();
    let guarded =
        Engine::with_parts(&world.app.state, mailer, Backoff::new(Duration::from_millis(5))).unwrap();
    assert_eq!(guarded.handle(&placed).await, Handled::Done);
    let mut errors = Vec::new();
    for (run, status) in runs(&world).await {
        assert_eq!(status, RunStatus::Failed);
        let detail = workflows::run_detail(&world.app.state.db, &world.shop, run).await.unwrap();
        errors.push(detail.steps[0].attempts[0].error.clone().unwrap());
    }
    errors.sort();
    assert_eq!(errors[0], "127.0.0.1 is not a public address; webhooks may only reach the internet");
    assert!(errors[1].ends_with("/hook failed: could not connect"), "{errors:?}");
    assert_eq!(receiver.calls.load(Ordering::SeqCst), 0, "nothing reached the private receiver");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_run_stopped_for_stock_resumes_when_retried_after_restocking(pool: PgPool) {
    let world = world(pool).await;
    let db = &world.app.state.db;
    let lamp = sell(&world, VariantBuilder::new("LAMP").price(4_000).stock(1)).await;
    let order = place(&world, lamp, 2).await;
    let [placed] = envelopes(&world, "order.placed").await.try_into().unwrap();
    world.engine.handle(&placed).await;
    let run = only_run(&world, RunStatus::Stopped).await;
    let waiting = orders::get(db, &world.shop, order.id).await.unwrap();
    assert_eq!(waiting.status, orders::OrderStatus::NeedsAttention);
    assert_eq!(stock(&world, lamp).await, 1);
    assert!(world.smtp.messages().is_empty());

    let restock = serde_json::from_value(json!({"delta": 5, "reason": "delivery"})).unwrap();
    variants::adjust_stock(db, &world.shop, lamp, &restock).await.unwrap();
    workflows::retry(db, &world.shop, run).await.unwrap();
    settle(&world).await;

    let detail = workflows::run_detail(db, &world.shop, run).await.unwrap();
    assert_eq!(detail.run.status, RunStatus::Succeeded);
    let deduct: Vec<AttemptStatus> = detail.steps[0].attempts.iter().map(|a| a.status).collect();
    assert_eq!(deduct, [AttemptStatus::Stopped, AttemptStatus::Succeeded]);
    let order = orders::get(db, &world.shop, order.id).await.unwrap();
    assert_eq!((order.status, order.status_reason), (orders::OrderStatus::Placed, None));
    assert_eq!(stock(&world, lamp).await, 4);
    assert_eq!(world.smtp.messages().len(), 1);
}
