//! Publish after commit (the cloud's fast path) against the AWS emulator's SQS: with
//! `EVENTS_QUEUE_URL` set, a write's events are on the queue and marked published before the
//! answer, with no relay running; when SQS cannot take them, or an earlier event of the same
//! product is still waiting, the write still succeeds and the events wait for the relay, in
//! order.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use http::StatusCode;
use kassa_domain::products::{self, ProductDraft};
use kassa_domain::relay;
use kassa_domain::tenant::Tenant;
use kassa_events::Envelope;
use kassa_events::fast_path::FastPath;
use kassa_events::sqs::{self, SqsBus};
use kassa_http::AppState;
use kassa_testkit::issuer::Issuer;
use kassa_testkit::{TestApp, service_pool};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

/// A fresh FIFO queue on the emulator: its URL and a client to read it.
async fn queue() -> (String, aws_sdk_sqs::Client) {
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL").expect("make test points AWS_ENDPOINT_URL at the emulator");
    let client = sqs::client(Some(&endpoint)).await;
    let name = format!("kassa-fast-{}", Uuid::now_v7().simple());
    let urls = sqs::ensure_queue(&client, &name, 3).await.unwrap();
    (urls.queue, client)
}

/// The products function as its `main.rs` builds it with `EVENTS_QUEUE_URL` set.
async fn app_publishing_to(pool: PgPool, queue_url: &str) -> (TestApp, Issuer, Tenant) {
    let issuer = Issuer::start().await;
    let config = issuer.config_with(&[("EVENTS_QUEUE_URL", queue_url)]);
    let state = AppState::with_pool(config, service_pool(&pool)).unwrap().publishing(FastPath::for_runtime);
    assert!(state.events.is_some());
    let app = TestApp::with_state(pool, state, kassa_products::router);
    let demo = app.tenant("demo").await;
    (app, issuer, demo)
}

/// (event type, published?) of the shop's outbox, in commit order.
async fn outbox(app: &TestApp, shop: &Tenant) -> Vec<(String, bool)> {
    sqlx::query_as(
        "select event_type, published_at is not null from outbox where tenant_id = $1 order by seq",
    )
    .bind(shop.id)
    .fetch_all(&app.owner)
    .await
    .unwrap()
}

/// The messages waiting on the queue, in order (received: they stay invisible for a while).
async fn queued(client: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<Envelope> {
    let received =
        client.receive_message().queue_url(queue_url).max_number_of_messages(10).send().await.unwrap();
    received.messages().iter().map(|m| serde_json::from_str(m.body().unwrap()).unwrap()).collect()
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_writes_events_are_on_the_queue_and_marked_published_before_it_answers(pool: PgPool) {
    let (queue_url, client) = queue().await;
    let (app, issuer, demo) = app_publishing_to(pool, &queue_url).await;
    let editor = app.staff(&issuer, &demo, "editor");
    let created =
        editor.post("/management/products", &json!({"handle": "apron", "title": {"en": "Apron"}})).await;
    let product = created.expect(StatusCode::CREATED);

    // No relay runs in this test: only the request itself can have published it.
    assert_eq!(outbox(&app, &demo).await, vec![("product.created".to_owned(), true)]);
    let messages = queued(&client, &queue_url).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].event_type, "event.product.created");
    assert_eq!(messages[0].tenantid.to_string(), demo.id.as_uuid().to_string());
    assert_eq!(messages[0].data["data"]["handle"], "apron");
    assert_eq!(Some(messages[0].subject.as_str()), product["id"].as_str());

    // A request that writes nothing publishes nothing (and answers as before).
    editor.get("/management/products").await.expect(StatusCode::OK);
    assert!(queued(&client, &queue_url).await.is_empty());
    assert_eq!(outbox(&app, &demo).await.len(), 1);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn when_sqs_refuses_the_write_still_succeeds_and_its_event_waits_for_the_relay(pool: PgPool) {
    let (queue_url, client) = queue().await;
    // A queue that does not exist: every send fails.
    let missing = format!("{}-gone.fifo", queue_url.trim_end_matches(".fifo"));
    let (app, issuer, demo) = app_publishing_to(pool, &missing).await;
    let editor = app.staff(&issuer, &demo, "editor");
    editor
        .post("/management/products", &json!({"handle": "apron", "title": {"en": "Apron"}}))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(outbox(&app, &demo).await, vec![("product.created".to_owned(), false)]);

    // The relay (the safety net) publishes it to the real queue.
    let bus = SqsBus::new(client.clone(), queue_url.clone());
    assert_eq!(relay::relay_batch(&app.owner, 100, |events| bus.publish(events)).await.unwrap(), 1);
    assert_eq!(outbox(&app, &demo).await, vec![("product.created".to_owned(), true)]);
    assert_eq!(queued(&client, &queue_url).await.len(), 1);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn an_event_whose_product_has_an_earlier_one_waiting_is_left_to_the_relay_so_order_holds(pool: PgPool) {
    let (queue_url, client) = queue().await;
    let (app, issuer, demo) = app_publishing_to(pool, &queue_url).await;
    // Written outside a request (as a migration or script would): nothing publishes it.
    let draft: ProductDraft =
        serde_json::from_value(json!({"handle": "apron", "title": {"en": "Apron"}})).unwrap();
    let product = products::create(&app.owner, &demo, &draft).await.unwrap();

    let editor = app.staff(&issuer, &demo, "editor");
    editor
        .patch(
            &format!("/management/products/{}", product.id),
            &json!({"title": {"en": "Linen apron"}}),
            Some(1),
        )
        .await
        .expect(StatusCode::OK);
    // The update must not overtake the creation.
    assert_eq!(
        outbox(&app, &demo).await,
        vec![("product.created".to_owned(), false), ("product.updated".to_owned(), false)]
    );
    assert!(queued(&client, &queue_url).await.is_empty());

    let bus = SqsBus::new(client.clone(), queue_url.clone());
    let mut relayed = 0;
    while let Ok(n @ 1..) = relay::relay_batch(&app.owner, 100, |events| bus.publish(events)).await {
        relayed += n;
    }
    assert_eq!(relayed, 2);
    let types: Vec<String> = queued(&client, &queue_url).await.into_iter().map(|e| e.event_type).collect();
    assert_eq!(types, ["event.product.created", "event.product.updated"]);
}
