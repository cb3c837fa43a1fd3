//! What each step type does, by an exhaustive `match` on `StepKind` (the registry's
//! variants, `kassa_domain::workflows::steps`). Database steps run inside the transaction
//! that also records the attempt; outside steps (`StepType::external`: email, webhook) run
//! before it.

use kassa_domain::DomainError;
use kassa_domain::catalog::Money;
use kassa_domain::db::TenantTx;
use kassa_domain::orders::{self, Deduction};
use kassa_domain::tenant::{Tenant, TenantId};
use kassa_domain::workflows::{AttemptOutcome, Claimed, EmailTemplate, StepKind};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::Engine;

/// The order an order event is about (`source` `kassa/order`, its id in `subject`).
fn order_of(run: &Claimed) -> Result<Uuid, String> {
    let event = &run.event;
    let source = event.get("source").and_then(Value::as_str).unwrap_or_default();
    let event_type = event.get("type").and_then(Value::as_str).unwrap_or_default();
    if source != "kassa/order" {
        return Err(format!("this step needs an order event, not {event_type}"));
    }
    event
        .get("subject")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| "the event names no order".to_owned())
}

/// Runs a database step inside `tx`. `Err` means the transaction is unusable (the caller
/// drops it, rolling the effects back, and records a failed attempt).
pub async fn in_database(
    tx: &mut TenantTx,
    kind: &StepKind,
    tenant: TenantId,
    run: &Claimed,
) -> Result<AttemptOutcome, DomainError> {
    let order = match order_of(run) {
        Ok(order) => order,
        Err(message) => return Ok(AttemptOutcome::Failed(message)),
    };
    let outcome = match kind {
        StepKind::DeductStock(_) => match orders::deduct_stock(tx, tenant, order).await? {
            Deduction::Short { skus } => AttemptOutcome::Stopped(json!({
                "outcome": "insufficient_stock",
                "skus": skus,
                "order_status": "needs_attention",
            })),
            deduction => AttemptOutcome::Succeeded(serde_json::to_value(deduction).unwrap_or_default()),
        },
        StepKind::CalculateTaxes(_) => match orders::calculate_taxes(tx, tenant, order).await? {
            Ok(order) => AttemptOutcome::Succeeded(json!({
                "tax_amount": order.tax_amount,
                "total_amount": order.total_amount,
                "currency": order.currency,
                "prices_include_tax": order.prices_include_tax,
            })),
            Err(missing) => AttemptOutcome::Failed(missing.to_string()),
        },
        StepKind::SetOrderStatus(config) => {
            let order = orders::set_status(tx, tenant, order, config.status).await?;
            AttemptOutcome::Succeeded(json!({ "status": order.status }))
        }
        StepKind::SendEmail(_) | StepKind::HttpRequest(_) => {
            AttemptOutcome::Failed("not a database step".to_owned())
        }
    };
    Ok(outcome)
}

/// Runs a step whose effect lives outside Postgres.
pub async fn external(engine: &Engine, kind: &StepKind, tenant: &Tenant, run: &Claimed) -> AttemptOutcome {
    let position = run.next_step;
    let result = match kind {
        StepKind::SendEmail(config) => send_email(engine, config.template, tenant, run, position).await,
        StepKind::HttpRequest(config) => {
            match crate::webhook::check_literal(&config.url, engine.private_networks) {
                Ok(()) => {
                    let key = format!("{}:{position}", run.id);
                    crate::webhook::deliver(&engine.http, config, &run.event, &key).await
                }
                Err(refused) => Err(refused),
            }
        }
        StepKind::DeductStock(_) | StepKind::CalculateTaxes(_) | StepKind::SetOrderStatus(_) => {
            Err("not an outside step".to_owned())
        }
    };
    match result {
        Ok(output) => AttemptOutcome::Succeeded(output),
        Err(error) => AttemptOutcome::Failed(error),
    }
}

async fn send_email(
    engine: &Engine,
    template: EmailTemplate,
    tenant: &Tenant,
    run: &Claimed,
    position: i32,
) -> Result<Value, String> {
    let order_id = order_of(run)?;
    let order = orders::get(&engine.db, tenant, order_id).await.map_err(|e| e.to_string())?;
    let message = match template {
        EmailTemplate::OrderConfirmation => crate::mail::order_confirmation(tenant, &order),
    };
    let message_id = format!("<{}.{position}@kassa>", run.id);
    engine.mailer.send(&order.customer_email, message, &message_id).await.map_err(|e| e.to_string())?;
    let total = Money { amount: order.total_amount, currency: order.currency.clone() };
    Ok(json!({ "message_id": message_id, "total": orders::format_money(&total) }))
}
