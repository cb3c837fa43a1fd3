//! The outbox relay and the RabbitMQ bus against the real broker: every committed event
//! arrives as a CloudEvent, in order per aggregate even with concurrent relays, and a
//! consumer's effect happens once however often an event is delivered.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kassa_domain::db::begin_tenant_tx;
use kassa_domain::products::{self, ProductDraft};
use kassa_domain::relay::{self, OutboxEvent};
use kassa_domain::tenant::{self, NewTenant, Tenant, TenantDraft};
use kassa_events::Envelope;
use kassa_events::rabbitmq::{RabbitBus, Topology};
use kassa_events::{Handled, RetryPolicy};
use sqlx::PgPool;
use tokio::sync::mpsc;
use uuid::Uuid;

fn rabbitmq_url() -> String {
    std::env::var("RABBITMQ_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// Waits (up to 10 s) until `queue` has a consumer. `RabbitBus::consume` declares and binds
/// its queue before it starts consuming, so from then on every message published to the
/// exchange reaches it.
async fn until_consuming(queue: &str) {
    use lapin::options::QueueDeclareOptions;
    use lapin::types::FieldTable;
    let connection =
        lapin::Connection::connect(&rabbitmq_url(), lapin::ConnectionProperties::default()).await.unwrap();
    let passive = QueueDeclareOptions { passive: true, ..QueueDeclareOptions::default() };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        // A passive declare of a missing queue closes its channel: a fresh channel per probe.
        let channel = connection.create_channel().await.unwrap();
        let declared = channel.queue_declare(queue.into(), passive, FieldTable::default()).await;
        if declared.is_ok_and(|q| q.consumer_count() > 0) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "nobody consumes {queue} after 10 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A bus on an exchange of this test's own, and a consumer on a queue of its own that
/// forwards every envelope it gets.
async fn bus_and_consumer(
    pool: &PgPool,
    name: &str,
) -> (Arc<RabbitBus>, mpsc::UnboundedReceiver<(Envelope, bool)>) {
    let topology = Topology { exchange: format!("kassa.test.{name}.{}", Uuid::now_v7()), transient: true };
    let bus = Arc::new(RabbitBus::connect(&rabbitmq_url(), topology.clone()).await.unwrap());
    let consumer = RabbitBus::connect(&rabbitmq_url(), topology).await.unwrap();
    let (sender, receiver) = mpsc::unbounded_channel();
    let pool = pool.clone();
    let queue = format!("kassa.test.{name}.{}", Uuid::now_v7());
    let consuming = queue.clone();
    tokio::spawn(async move {
        consumer
            .consume(&consuming, &["#"], 50, RetryPolicy::default(), |envelope: Envelope| {
                let (pool, sender) = (pool.clone(), sender.clone());
                async move {
                    // The effect and the inbox record commit together.
                    let tenant = envelope.tenantid.into();
                    let mut tx = begin_tenant_tx(&pool, tenant).await.unwrap();
                    let first =
                        relay::first_delivery(&mut tx, tenant, "test-consumer", envelope.id).await.unwrap();
                    tx.commit().await.unwrap();
                    if sender.send((envelope, first)).is_ok() {
                        Handled::Done
                    } else {
                        Handled::Failed("test over".into())
                    }
                }
            })
            .await
            .unwrap();
    });
    // Nothing is published before the consumer's queue is bound.
    until_consuming(&queue).await;
    (bus, receiver)
}

async fn shop(pool: &PgPool) -> Tenant {
    let draft = TenantDraft { locales: vec!["nl".into()], ..TenantDraft::new("demo", "Demo") };
    tenant::create(pool, &NewTenant::parse(&draft).unwrap()).await.unwrap()
}

async fn relay_all(pool: &PgPool, bus: &RabbitBus) -> usize {
    let mut total = 0;
    loop {
        let published = relay::relay_batch(pool, 100, |events| bus.publish(events)).await.unwrap();
        if published == 0 {
            return total;
        }
        total += published;
    }
}

async fn receive(
    receiver: &mut mpsc::UnboundedReceiver<(Envelope, bool)>,
    count: usize,
) -> Vec<(Envelope, bool)> {
    let mut got = Vec::new();
    while got.len() < count {
        let next = tokio::time::timeout(Duration::from_secs(10), receiver.recv()).await;
        got.push(next.expect("an event arrives in time").unwrap());
    }
    got
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_product_write_reaches_a_consumer_as_a_cloudevent_and_takes_effect_once(pool: PgPool) {
    let demo = shop(&pool).await;
    let (bus, mut receiver) = bus_and_consumer(&pool, "product").await;
    let draft: ProductDraft =
        serde_json::from_value(serde_json::json!({"handle": "mug", "title": {"en": "Mug"}})).unwrap();
    let product = products::create(&pool, &demo, &draft).await.unwrap();

    assert_eq!(relay_all(&pool, &bus).await, 1);
    let (envelope, first) = receive(&mut receiver, 1).await.remove(0);
    assert!(first);
    assert_eq!(envelope.specversion, "1.0");
    assert_eq!(envelope.event_type, "event.product.created");
    assert_eq!(envelope.source, "kassa/product");
    assert_eq!(envelope.subject, product.id.to_string());
    assert_eq!(envelope.tenantid, demo.id.as_uuid());
    assert_eq!(envelope.datacontenttype, "application/json");
    assert_eq!(envelope.data["schema_version"], 1);
    assert_eq!(envelope.data["data"]["handle"], "mug");

    // Published: the relay has nothing left, and a redelivery of the same event changes nothing.
    assert_eq!(relay_all(&pool, &bus).await, 0);
    let row: OutboxEvent = sqlx::query_as(
        "select id, seq, tenant_id, event_type, aggregate_type, aggregate_id, occurred_at, payload from outbox",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    bus.publish(vec![row]).await.unwrap();
    let (again, first) = receive(&mut receiver, 1).await.remove(0);
    assert_eq!(again.id, envelope.id);
    assert!(!first, "the redelivered event found its inbox record");
    let inbox: i64 = sqlx::query_scalar("select count(*) from inbox").fetch_one(&pool).await.unwrap();
    assert_eq!(inbox, 1);
}

/// The bus asks for 16 KiB frames (a small buffer per connection): an event many frames long
/// still arrives whole.
#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn an_event_larger_than_a_frame_arrives_whole(pool: PgPool) {
    let demo = shop(&pool).await;
    let (bus, mut receiver) = bus_and_consumer(&pool, "large").await;
    assert_eq!(bus.frame_max(), 16 * 1024, "the broker agreed to the bus's frame size");
    let text: String = (0..200_000).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    let event = OutboxEvent {
        id: Uuid::now_v7(),
        seq: 1,
        tenant_id: demo.id,
        event_type: "product.updated".into(),
        aggregate_type: "product".into(),
        aggregate_id: Uuid::now_v7(),
        occurred_at: chrono::Utc::now(),
        payload: serde_json::json!({"schema_version": 1, "data": {"description": text}}),
    };
    bus.publish(vec![event.clone()]).await.unwrap();
    let (envelope, first) = receive(&mut receiver, 1).await.remove(0);
    assert!(first);
    assert_eq!(envelope.id, event.id);
    assert_eq!(envelope.data, event.payload);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn concurrent_relays_publish_every_event_once_in_order_per_aggregate(pool: PgPool) {
    let demo = shop(&pool).await;
    let (bus, mut receiver) = bus_and_consumer(&pool, "order").await;
    // 20 aggregates x 10 events each, committed in interleaved order.
    sqlx::query(
        "insert into outbox (id, tenant_id, event_type, aggregate_type, aggregate_id, payload)
         select gen_random_uuid(), $1, 'product.updated', 'product', ('00000000-0000-0000-0000-' || lpad(a::text, 12, '0'))::uuid,
                jsonb_build_object('schema_version', 1, 'data', jsonb_build_object('step', s))
         from generate_series(1, 10) s, generate_series(1, 20) a order by s, a",
    )
    .bind(demo.id)
    .execute(&pool)
    .await
    .unwrap();

    let relays = (0..3).map(|_| {
        let (pool, bus) = (pool.clone(), bus.clone());
        tokio::spawn(async move { relay_all(&pool, &bus).await })
    });
    let published: usize = futures_util::future::join_all(relays).await.into_iter().map(|r| r.unwrap()).sum();
    assert_eq!(published, 200, "every event published once across the relays");

    let received = receive(&mut receiver, 200).await;
    let mut ids = std::collections::HashSet::new();
    let mut last_step: HashMap<String, i64> = HashMap::new();
    for (envelope, first) in &received {
        assert!(*first && ids.insert(envelope.id), "event {} arrived twice", envelope.id);
        let step = envelope.data["data"]["step"].as_i64().unwrap();
        let previous = last_step.insert(envelope.subject.clone(), step).unwrap_or(0);
        assert_eq!(step, previous + 1, "aggregate {} out of order", envelope.subject);
    }
    let unpublished: i64 = sqlx::query_scalar("select count(*) from outbox where published_at is null")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(unpublished, 0);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn the_relay_loop_delivers_new_events_without_being_asked(pool: PgPool) {
    let demo = shop(&pool).await;
    let (bus, mut receiver) = bus_and_consumer(&pool, "loop").await;
    let topology = Topology { exchange: bus.exchange().to_owned(), transient: true };
    let relay = tokio::spawn(kassa_events::relay::run(pool.clone(), rabbitmq_url(), topology));
    for handle in ["cup", "plate"] {
        let draft: ProductDraft =
            serde_json::from_value(serde_json::json!({"handle": handle, "title": {"en": handle}})).unwrap();
        products::create(&pool, &demo, &draft).await.unwrap();
    }
    let got = receive(&mut receiver, 2).await;
    let handles: Vec<&str> = got.iter().map(|(e, _)| e.data["data"]["handle"].as_str().unwrap()).collect();
    assert_eq!(handles, ["cup", "plate"]);
    relay.abort();
}

/// `kassa serve` with `DATABASE_MAX_CONNECTIONS=1`: the relay's LISTEN must not keep the
/// pool's only connection, or every write (and the relay's own batches) would time out.
#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn the_relay_loop_leaves_a_one_connection_pool_to_the_requests(pool: PgPool) {
    let demo = shop(&pool).await;
    let (bus, mut receiver) = bus_and_consumer(&pool, "one-connection").await;
    let topology = Topology { exchange: bus.exchange().to_owned(), transient: true };
    let one = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(3))
        .connect_with((*pool.connect_options()).clone())
        .await
        .unwrap();
    let relay = tokio::spawn(kassa_events::relay::run(one.clone(), rabbitmq_url(), topology));
    for handle in ["cup", "plate", "bowl"] {
        let draft: ProductDraft =
            serde_json::from_value(serde_json::json!({"handle": handle, "title": {"en": handle}})).unwrap();
        products::create(&one, &demo, &draft).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let got = receive(&mut receiver, 3).await;
    let handles: Vec<&str> = got.iter().map(|(e, _)| e.data["data"]["handle"].as_str().unwrap()).collect();
    assert_eq!(handles, ["cup", "plate", "bowl"]);
    relay.abort();
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_poison_event_is_retried_then_dead_lettered_while_the_others_flow(pool: PgPool) {
    let demo = shop(&pool).await;
    let topology = Topology { exchange: format!("kassa.test.poison.{}", Uuid::now_v7()), transient: true };
    let bus = RabbitBus::connect(&rabbitmq_url(), topology.clone()).await.unwrap();
    let consumer = RabbitBus::connect(&rabbitmq_url(), topology).await.unwrap();
    let queue = format!("kassa.test.poison.{}", Uuid::now_v7());
    let (sender, mut receiver) = mpsc::unbounded_channel::<(String, bool)>();
    let retry = RetryPolicy { max_attempts: 3, delay: Duration::from_millis(100) };
    let consuming = queue.clone();
    tokio::spawn(async move {
        consumer
            .consume(&consuming, &["#"], 10, retry, |envelope: Envelope| {
                let sender = sender.clone();
                async move {
                    let poison = envelope.data["data"]["handle"] == "poison";
                    let _ = sender
                        .send((envelope.data["data"]["handle"].as_str().unwrap_or("").to_owned(), poison));
                    if poison { Handled::Failed("always fails".into()) } else { Handled::Done }
                }
            })
            .await
            .unwrap();
    });
    until_consuming(&queue).await;
    for handle in ["a", "poison", "b", "c"] {
        let draft: ProductDraft =
            serde_json::from_value(serde_json::json!({"handle": handle, "title": {"en": handle}})).unwrap();
        products::create(&pool, &demo, &draft).await.unwrap();
    }
    relay_all(&pool, &bus).await;

    let mut seen: HashMap<String, usize> = HashMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while seen.get("poison").copied().unwrap_or(0) < 3 || seen.len() < 4 {
        let (handle, _) =
            tokio::time::timeout_at(deadline, receiver.recv()).await.expect("deliveries in time").unwrap();
        *seen.entry(handle).or_default() += 1;
    }
    assert_eq!((seen["a"], seen["b"], seen["c"]), (1, 1, 1), "the others flowed once each");
    assert_eq!(seen["poison"], 3, "three attempts in all");
    // Then it rests in the dead-letter queue, and is delivered no more.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(receiver.try_recv().is_err());
    let dead = bus.queue_length(&format!("{queue}.dlq")).await.unwrap();
    assert_eq!(dead, 1);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_consumer_killed_mid_batch_and_restarted_applies_every_effect_exactly_once(pool: PgPool) {
    let demo = shop(&pool).await;
    // The consumer's effect: a row per handled event, written with its inbox record.
    sqlx::query("create table effects (tenant_id uuid not null, event_id uuid not null)")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "insert into outbox (id, tenant_id, event_type, aggregate_type, aggregate_id, payload)
         select gen_random_uuid(), $1, 'product.updated', 'product', gen_random_uuid(), '{\"schema_version\": 1, \"data\": {}}'
         from generate_series(1, 500)",
    )
    .bind(demo.id)
    .execute(&pool)
    .await
    .unwrap();
    let topology = Topology { exchange: format!("kassa.test.kill.{}", Uuid::now_v7()), transient: true };
    let queue = format!("kassa.test.kill.{}", Uuid::now_v7());
    let (sender, mut receiver) = mpsc::unbounded_channel::<Uuid>();
    // `hang_at`: the consumer commits that event's effect and then hangs before acknowledging
    // it — the worst moment to die.
    let start = |topology: Topology,
                 queue: String,
                 sender: mpsc::UnboundedSender<Uuid>,
                 pool: PgPool,
                 hang_at: usize| {
        let handled = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        tokio::spawn(async move {
            let consumer = RabbitBus::connect(&rabbitmq_url(), topology).await.unwrap();
            consumer
                .consume(&queue, &["#"], 20, RetryPolicy::default(), |envelope: Envelope| {
                    let (pool, sender, handled) = (pool.clone(), sender.clone(), handled.clone());
                    async move {
                        let tenant = envelope.tenantid.into();
                        let mut tx = begin_tenant_tx(&pool, tenant).await.unwrap();
                        if relay::first_delivery(&mut tx, tenant, "kill-test", envelope.id).await.unwrap() {
                            sqlx::query("insert into effects (tenant_id, event_id) values ($1, $2)")
                                .bind(envelope.tenantid)
                                .bind(envelope.id)
                                .execute(&mut *tx)
                                .await
                                .unwrap();
                        }
                        tx.commit().await.unwrap();
                        let _ = sender.send(envelope.id);
                        if handled.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 == hang_at {
                            std::future::pending::<()>().await;
                        }
                        Handled::Done
                    }
                })
                .await
        })
    };
    let first = start(topology.clone(), queue.clone(), sender.clone(), pool.clone(), 150);
    until_consuming(&queue).await;
    let bus = RabbitBus::connect(&rabbitmq_url(), topology.clone()).await.unwrap();
    assert_eq!(relay_all(&pool, &bus).await, 500);

    // Kill the consumer once it hangs after its 150th effect: the unacknowledged messages,
    // that one included, go back to the queue.
    let mut deliveries = 0;
    while deliveries < 150 {
        tokio::time::timeout(Duration::from_secs(10), receiver.recv()).await.unwrap().unwrap();
        deliveries += 1;
    }
    first.abort();
    let _ = first.await;
    let restarted = start(topology, queue, sender, pool.clone(), usize::MAX);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let effects: i64 = sqlx::query_scalar("select count(*) from effects").fetch_one(&pool).await.unwrap();
        if effects == 500 || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(300), receiver.recv()).await {
        deliveries += 1;
    }
    let (effects, distinct): (i64, i64) =
        sqlx::query_as("select count(*), count(distinct event_id) from effects")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((effects, distinct), (500, 500), "every effect exactly once");
    assert!(deliveries > 500, "the event whose ack was lost came again: {deliveries} deliveries");
    println!("kill/restart: 500 events, {deliveries} deliveries, {effects} effects");
    restarted.abort();
}

/// A queue of the test's own (server-named, gone with the connection) on `exchange`, bound to
/// `binding` only, as an outside consumer would declare it.
async fn queue_bound_to(channel: &lapin::Channel, exchange: &str, binding: &str) -> String {
    use lapin::options::{QueueBindOptions, QueueDeclareOptions};
    use lapin::types::FieldTable;
    let own = QueueDeclareOptions { exclusive: true, auto_delete: true, ..QueueDeclareOptions::default() };
    let queue = channel.queue_declare("".into(), own, FieldTable::default()).await.unwrap();
    let name = queue.name().to_string();
    channel
        .queue_bind(
            name.as_str().into(),
            exchange.into(),
            binding.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    name
}

/// Every message waiting in `queue` that belongs to `tenant` (the exchange is shared with
/// whatever else runs), with its routing key. The relay has had every publish confirmed,
/// and RabbitMQ confirms a routed message once it is in its queues: nothing is on its way.
async fn drain(channel: &lapin::Channel, queue: &str, tenant: &Tenant) -> Vec<(String, Envelope)> {
    use lapin::options::BasicGetOptions;
    let mut got = Vec::new();
    while let Some(message) = channel.basic_get(queue.into(), BasicGetOptions { no_ack: true }).await.unwrap()
    {
        let envelope: Envelope = serde_json::from_slice(&message.delivery.data).unwrap();
        if envelope.tenantid == tenant.id.as_uuid() {
            got.push((message.delivery.routing_key.to_string(), envelope));
        }
    }
    got
}

/// Issue 11 item 9: the backlog's consumer binds `event.product.created` on `kassa.events`;
/// the relay used to publish `product.created`, so it received nothing.
#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_consumer_bound_to_event_product_created_receives_a_created_product(pool: PgPool) {
    let demo = shop(&pool).await;
    // The production exchange (declared as the relay declares it), and queues of our own.
    let bus = RabbitBus::connect(&rabbitmq_url(), Topology::default()).await.unwrap();
    assert_eq!(bus.exchange(), "kassa.events");
    let connection =
        lapin::Connection::connect(&rabbitmq_url(), lapin::ConnectionProperties::default()).await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    let backlog = queue_bound_to(&channel, "kassa.events", "event.product.created").await;
    let wildcard = queue_bound_to(&channel, "kassa.events", "event.product.*").await;
    let old_name = queue_bound_to(&channel, "kassa.events", "product.created").await;

    let draft: ProductDraft =
        serde_json::from_value(serde_json::json!({"handle": "mug", "title": {"en": "Mug"}})).unwrap();
    let product = products::create(&pool, &demo, &draft).await.unwrap();
    let stored: String = sqlx::query_scalar("select event_type from outbox where aggregate_id = $1")
        .bind(product.id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, "product.created", "the outbox keeps the domain name");
    assert!(relay_all(&pool, &bus).await >= 1);

    let received = drain(&channel, &backlog, &demo).await;
    assert_eq!(received.len(), 1, "exactly one message: {received:?}");
    let (routing_key, envelope) = &received[0];
    assert_eq!(routing_key, "event.product.created");
    assert_eq!(envelope.event_type, "event.product.created");
    assert_eq!(envelope.source, "kassa/product");
    assert_eq!(envelope.subject, product.id.to_string());
    assert_eq!(envelope.data["data"]["handle"], "mug");
    let by_wildcard = drain(&channel, &wildcard, &demo).await;
    assert_eq!(by_wildcard.iter().map(|(_, e)| e.id).collect::<Vec<_>>(), [envelope.id]);
    assert!(drain(&channel, &old_name, &demo).await.is_empty(), "nothing goes by the old name");
}
