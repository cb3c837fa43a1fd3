//! The recorded schedule event, replayed through the function's handler: the outbox is
//! published to the SQS queue on the AWS emulator, once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kassa_domain::products::{self, ProductDraft};
use kassa_domain::tenant::{self, NewTenant, TenantDraft};
use kassa_events::Envelope;
use kassa_events::sqs::{self, SqsBus};
use kassa_events::{Handled, RetryPolicy};
use kassa_outbox_relay::{Relay, RelaySummary, handle};
use lambda_runtime::{Context, LambdaEvent};
use sqlx::PgPool;

fn scheduled() -> LambdaEvent<serde_json::Value> {
    let event = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/outbox-relay-schedule.json"
    ));
    let mut context = Context::default();
    context.deadline =
        u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap() + 60_000;
    LambdaEvent::new(serde_json::from_str(&event.unwrap()).unwrap(), context)
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_scheduled_invocation_publishes_the_outbox_to_sqs_once(pool: PgPool) {
    let demo =
        tenant::create(&pool, &NewTenant::parse(&TenantDraft::new("demo", "Demo")).unwrap()).await.unwrap();
    for handle in ["mug", "cup"] {
        let draft: ProductDraft =
            serde_json::from_value(serde_json::json!({"handle": handle, "title": {"en": handle}})).unwrap();
        products::create(&pool, &demo, &draft).await.unwrap();
    }
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL").expect("make test points AWS_ENDPOINT_URL at the emulator");
    let client = sqs::client(Some(&endpoint)).await;
    let name = format!("kassa-relay-test-{}", uuid::Uuid::now_v7().simple());
    let urls = sqs::ensure_queue(&client, &name, 3).await.unwrap();
    let relay = Relay { db: pool.clone(), bus: SqsBus::new(client.clone(), urls.queue.clone()) };

    assert_eq!(handle(&relay, scheduled()).await.unwrap(), RelaySummary { published: 2, batches: 1 });
    assert_eq!(handle(&relay, scheduled()).await.unwrap(), RelaySummary { published: 0, batches: 0 });

    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<Envelope>();
    let consumer = SqsBus::new(client, urls.queue);
    let task = tokio::spawn(async move {
        consumer
            .consume(RetryPolicy::default(), |envelope| {
                let sender = sender.clone();
                async move {
                    let _ = sender.send(envelope);
                    Handled::Done
                }
            })
            .await
    });
    let mut handles = Vec::new();
    for _ in 0..2 {
        let envelope = tokio::time::timeout(Duration::from_secs(10), receiver.recv()).await.unwrap().unwrap();
        assert_eq!(envelope.event_type, "event.product.created");
        handles.push(envelope.data["data"]["handle"].as_str().unwrap().to_owned());
    }
    handles.sort();
    assert_eq!(handles, ["cup", "mug"]);
    task.abort();
}
