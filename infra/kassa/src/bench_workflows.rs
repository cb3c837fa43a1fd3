//! `kassa bench-workflows`: order commit → "On order placed" finished (stock deducted, taxes
//! stored, confirmation accepted by the SMTP server at `SMTP_URL`), one order every `PACE` (a
//! rate one local worker, which handles one event at a time, sustains: this measures
//! latency, not a backlog) — through the outbox relay, RabbitMQ and the workflow worker, or
//! (`--bus sqs`, the cloud's path) with no relay: each order's events published right after
//! its commit as the functions do ([`kassa_events::fast_path`]) to SQS on the AWS emulator,
//! and the worker's SQS loop running the workflow.

use std::time::{Duration, Instant};

use kassa_domain::db::begin_tenant_tx;
use kassa_domain::orders::{self, OrderDraft, OrderLineDraft};
use kassa_domain::outbox;
use kassa_domain::tenant::Tenant;
use kassa_events::fast_path::Outcome;
use kassa_events::rabbitmq::Topology;
use kassa_http::AppState;
use uuid::Uuid;

use crate::bench_relay::BenchQueue;

const PACE: Duration = Duration::from_millis(100);

/// The bus a bench measures: how events leave the outbox and reach their consumer.
pub enum Bus {
    /// The relay loop and RabbitMQ at this URL (local).
    RabbitMq(String),
    /// Publish after commit to a fresh FIFO queue on the AWS emulator at this endpoint.
    Sqs(String),
}

/// Latencies in milliseconds, sorted.
pub async fn measure(state: &AppState, tenant: &Tenant, bus: &Bus, count: usize) -> anyhow::Result<Vec<f64>> {
    let db = &state.db;
    // One variant with untracked stock (so every run deducts and finishes) and a tax rate.
    let mut tx = begin_tenant_tx(db, tenant.id).await?;
    let variant: Uuid = sqlx::query_scalar(
        "update product_variants set stock = null
         where id = (select v.id from product_variants v join products p on p.id = v.product_id
                     where p.status = 'active' and v.currency = $1 order by v.id limit 1)
         returning id",
    )
    .bind(&tenant.default_currency)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "insert into tax_rates (id, tenant_id, country, tax_class, rate_bp)
         select $1, $2, 'NL', p.tax_class, 2100 from product_variants v join products p on p.id = v.product_id
         where v.id = $3 on conflict do nothing",
    )
    .bind(Uuid::now_v7())
    .bind(tenant.id)
    .bind(variant)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;

    let engine = kassa_engine::Engine::new(state)?;
    let (tasks, queue) = match bus {
        Bus::RabbitMq(rabbitmq_url) => {
            let topology = Topology { exchange: format!("kassa.bench.{}", Uuid::now_v7()), transient: true };
            let worker = engine
                .spawn_rabbitmq(rabbitmq_url.to_owned(), topology.clone(), Duration::from_secs(10))
                .await?;
            let relay = tokio::spawn(kassa_events::relay::run(db.clone(), rabbitmq_url.to_owned(), topology));
            (vec![worker, relay], None)
        }
        Bus::Sqs(endpoint) => {
            let queue = BenchQueue::create(db, endpoint).await?;
            let worker = tokio::spawn(engine.consume_sqs(queue.client.clone(), queue.urls.queue.clone()));
            (vec![worker], Some(queue))
        }
    };

    let draft = OrderDraft {
        customer_email: "bench@example.com".to_owned(),
        shipping_country: "NL".to_owned(),
        currency: None,
        lines: vec![OrderLineDraft { variant_id: variant, quantity: 1 }],
    };
    let mut ids = Vec::with_capacity(count);
    for _ in 0..count {
        // As a function's request would: collect what the order appended, then publish it.
        let (order, appended) = outbox::collect(orders::place(db, tenant, &draft)).await;
        ids.push(order?.id);
        if let Some(queue) = &queue {
            let outcome = queue.fast.publish(&appended).await;
            anyhow::ensure!(
                matches!(outcome, Outcome::Published(n) if n == appended.len()),
                "the fast path left events to the relay: {outcome:?}"
            );
        }
        tokio::time::sleep(PACE).await;
    }
    let started = Instant::now();
    let latencies: Vec<f64> = loop {
        let mut tx = begin_tenant_tx(db, tenant.id).await?;
        let done: Vec<f64> = sqlx::query_scalar(
            "select (extract(epoch from r.finished_at - o.created_at) * 1000)::float8
             from workflow_runs r join orders o on o.id = (r.event ->> 'subject')::uuid
             where o.id = any($1) and r.status = 'succeeded'",
        )
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        if done.len() == count {
            break done;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(120),
            "only {} of {count} runs finished",
            done.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for task in tasks {
        task.abort();
    }
    if let Some(queue) = queue {
        queue.remove().await;
    }
    let mut latencies = latencies;
    latencies.sort_by(f64::total_cmp);
    Ok(latencies)
}
