//! The SQS bus against an AWS emulator (moto): committed events arrive as CloudEvents, a
//! consumer's effect happens once, and a poison event ends in the dead-letter queue after the
//! receive limit while the others flow; an event that hangs holds up its own aggregate only.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kassa_domain::db::begin_tenant_tx;
use kassa_domain::products::{self, ProductDraft};
use kassa_domain::relay;
use kassa_domain::tenant::{self, NewTenant, Tenant, TenantDraft};
use kassa_events::Envelope;
use kassa_events::sqs::{self, SqsBus, SqsError};
use kassa_events::{Handled, RetryPolicy};
use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use uuid::Uuid;

async fn bus(max_receives: u32) -> (Arc<SqsBus>, String) {
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL").expect("make test points AWS_ENDPOINT_URL at the emulator");
    let client = sqs::client(Some(&endpoint)).await;
    let name = format!("kassa-test-{}", Uuid::now_v7().simple());
    let urls = sqs::ensure_queue(&client, &name, max_receives).await.unwrap();
    (Arc::new(SqsBus::new(client, urls.queue)), urls.dead_letters)
}

async fn shop(pool: &PgPool) -> Tenant {
    tenant::create(pool, &NewTenant::parse(&TenantDraft::new("demo", "Demo")).unwrap()).await.unwrap()
}

async fn write(pool: &PgPool, demo: &Tenant, handle: &str) {
    let draft: ProductDraft =
        serde_json::from_value(serde_json::json!({"handle": handle, "title": {"en": handle}})).unwrap();
    products::create(pool, demo, &draft).await.unwrap();
}

async fn relay_all(pool: &PgPool, bus: &SqsBus) -> usize {
    let mut total = 0;
    loop {
        match relay::relay_batch(pool, 100, |events| bus.publish(events)).await.unwrap() {
            0 => return total,
            n => total += n,
        }
    }
}

/// Consumes `bus` in a task: each event's product handle goes to the receiver, then
/// `outcome` (given the handle) says how handling it ends.
fn consume_handles<F, Fut>(
    bus: &Arc<SqsBus>,
    outcome: F,
) -> (JoinHandle<Result<(), SqsError>>, mpsc::UnboundedReceiver<String>)
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Handled> + Send + 'static,
{
    let (sender, receiver) = mpsc::unbounded_channel();
    let consumer = bus.clone();
    let task = tokio::spawn(async move {
        consumer
            .consume(RetryPolicy { max_attempts: 3, delay: Duration::ZERO }, |envelope: Envelope| {
                let handle = envelope.data["data"]["handle"].as_str().unwrap_or("").to_owned();
                let _ = sender.send(handle.clone());
                outcome(handle)
            })
            .await
    });
    (task, receiver)
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_product_write_reaches_an_sqs_consumer_as_a_cloudevent_once(pool: PgPool) {
    let demo = shop(&pool).await;
    let (bus, _) = bus(3).await;
    write(&pool, &demo, "mug").await;
    assert_eq!(relay_all(&pool, &bus).await, 1);

    let (sender, mut receiver) = mpsc::unbounded_channel();
    let consumer = bus.clone();
    let consuming_pool = pool.clone();
    let task = tokio::spawn(async move {
        consumer
            .consume(RetryPolicy { max_attempts: 3, delay: Duration::ZERO }, |envelope: Envelope| {
                let (pool, sender) = (consuming_pool.clone(), sender.clone());
                async move {
                    let tenant = envelope.tenantid.into();
                    let mut tx = begin_tenant_tx(&pool, tenant).await.unwrap();
                    let first =
                        relay::first_delivery(&mut tx, tenant, "sqs-test", envelope.id).await.unwrap();
                    tx.commit().await.unwrap();
                    let _ = sender.send((envelope, first));
                    Handled::Done
                }
            })
            .await
    });
    let (envelope, first) =
        tokio::time::timeout(Duration::from_secs(10), receiver.recv()).await.unwrap().unwrap();
    assert!(first);
    assert_eq!(
        (envelope.event_type.as_str(), envelope.specversion.as_str()),
        ("event.product.created", "1.0")
    );
    assert_eq!(envelope.tenantid, demo.id.as_uuid());
    assert_eq!(envelope.data["data"]["handle"], "mug");
    // Deleted after handling: nothing comes again.
    assert!(tokio::time::timeout(Duration::from_secs(2), receiver.recv()).await.is_err());
    task.abort();
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_poison_event_lands_in_the_sqs_dead_letter_queue_while_the_others_flow(pool: PgPool) {
    let demo = shop(&pool).await;
    let (bus, dlq) = bus(3).await;
    for handle in ["a", "poison", "b", "c"] {
        write(&pool, &demo, handle).await;
    }
    assert_eq!(relay_all(&pool, &bus).await, 4);
    let (task, mut receiver) = consume_handles(&bus, |handle| async move {
        if handle == "poison" { Handled::Failed("always fails".into()) } else { Handled::Done }
    });
    let mut seen: HashMap<String, usize> = HashMap::new();
    while seen.get("poison").copied().unwrap_or(0) < 3 || seen.len() < 4 {
        let handle = tokio::time::timeout(Duration::from_secs(15), receiver.recv()).await.unwrap().unwrap();
        *seen.entry(handle).or_default() += 1;
    }
    assert_eq!((seen["a"], seen["b"], seen["c"]), (1, 1, 1));
    assert_eq!(seen["poison"], 3, "received up to the limit");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(receiver.try_recv().is_err(), "then no more");
    assert_eq!(bus.queue_length(&dlq).await.unwrap(), 1, "and it waits in the dead-letter queue");
    task.abort();
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn an_sqs_event_of_another_aggregate_is_handled_while_one_hangs(pool: PgPool) {
    let demo = shop(&pool).await;
    let (bus, _) = bus(3).await;
    write(&pool, &demo, "slow").await;
    write(&pool, &demo, "quick").await;
    assert_eq!(relay_all(&pool, &bus).await, 2);
    let (task, mut receiver) = consume_handles(&bus, |handle| async move {
        if handle == "slow" {
            // A receiver that never answers.
            std::future::pending::<()>().await;
        }
        Handled::Done
    });
    let mut seen = Vec::new();
    while !seen.contains(&"quick".to_owned()) {
        let handle = tokio::time::timeout(Duration::from_secs(10), receiver.recv()).await.unwrap().unwrap();
        seen.push(handle);
    }
    assert!(seen.contains(&"slow".to_owned()), "both were received together: {seen:?}");
    task.abort();
}
