//! The local platform end to end: an order placed through the API is published by the
//! outbox relay to RabbitMQ, consumed by the workflow worker and run through "On order
//! placed" — stock deducted, taxes stored, confirmation at a real SMTP server.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::time::{Duration, Instant};

use http::StatusCode;
use kassa_cli::local_routes;
use kassa_domain::{products, variants};
use kassa_engine::{Backoff, Engine, Mailer};
use kassa_events::rabbitmq::{RabbitBus, Topology};
use kassa_testkit::smtp::SmtpSink;
use kassa_testkit::{Issuer, TestApp};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn an_order_placed_over_the_api_runs_on_order_placed_through_rabbitmq(pool: PgPool) {
    let issuer = Issuer::start().await;
    let app = TestApp::with_config(pool.clone(), issuer.config(), local_routes);
    let shop = app.tenant("shop").await;
    let db = &app.state.db;
    sqlx::query("insert into tax_rates (id, tenant_id, country, tax_class, rate_bp) values ($1, $2, 'BE', 'standard', 2100)")
        .bind(Uuid::now_v7())
        .bind(shop.id)
        .execute(db)
        .await
        .unwrap();
    let product: products::ProductDraft =
        serde_json::from_value(json!({"handle": "lamp", "title": {"en": "Lamp"}, "status": "active"}))
            .unwrap();
    let product = products::create(db, &shop, &product).await.unwrap();
    let variant: variants::VariantDraft = serde_json::from_value(
        json!({"sku": "LAMP", "price": {"amount": 4_999, "currency": "EUR"}, "stock": 5}),
    )
    .unwrap();
    let variant = variants::create(db, &shop, product.id, &variant).await.unwrap();

    // The relay and the worker, as `kassa serve` runs them, on an exchange of this test's own.
    let url =
        std::env::var("RABBITMQ_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned());
    let topology = Topology { exchange: format!("kassa.test.orders.{}", Uuid::now_v7()), transient: true };
    let smtp = SmtpSink::start();
    let mailer = Mailer::new(&smtp.url(), "Shop <orders@shop.test>").unwrap();
    let engine = Engine::with_parts(&app.state, mailer, Backoff::new(Duration::from_millis(50))).unwrap();
    let worker = tokio::spawn(engine.consume_rabbitmq(url.clone(), topology.clone()));
    let queue = format!("{}.worker-engine", topology.exchange);
    let started = Instant::now();
    // A passive declare of a missing queue closes its channel: probe on a fresh connection.
    while RabbitBus::connect(&url, topology.clone()).await.unwrap().queue_length(&queue).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "the worker did not declare its queue");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let relay = tokio::spawn(kassa_events::relay::run(pool.clone(), url, topology));

    let owner = app.staff(&issuer, &shop, "owner");
    let order = owner
        .post(
            "/management/orders",
            &json!({"customer_email": "bert@example.be", "shipping_country": "BE",
                    "lines": [{"variant_id": variant.id, "quantity": 2}]}),
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
    worker.abort();
    relay.abort();

    let run = runs["items"][0]["id"].as_str().unwrap();
    let detail = owner.get(&format!("/management/workflow-runs/{run}")).await.expect(StatusCode::OK);
    assert_eq!(detail["event"]["type"], "order.placed");
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
        .bind(variant.id)
        .fetch_one(db)
        .await
        .unwrap();
    assert_eq!(stock, 3);
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("Order #1 confirmed"), "{}", mails[0]);
    assert!(mails[0].contains("Total: EUR 99.98"), "{}", mails[0]);
    assert!(mails[0].contains("Tax (included): EUR 17.35"), "{}", mails[0]);
}
