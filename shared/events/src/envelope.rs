//! The CloudEvents 1.0 JSON envelope of a Kassa event, and the one place where an event's
//! domain name becomes its name on the bus.
//!
//! Kassa names an event `<aggregate>.<action>` (`order.placed`) in the outbox's `event_type`
//! column, in workflow triggers and in runs' `event_type`: what tenants have stored keeps
//! working unchanged. On the bus — the RabbitMQ routing key, the CloudEvent `type` (RabbitMQ,
//! SQS, and the CloudEvent a webhook step posts) — it is `event.<aggregate>.<action>`
//! (`event.order.placed`), as [`bus_type`] maps it when an outbox row becomes an
//! [`Envelope`]. Consumers compare a delivered envelope with `Envelope::from(<stored row>)`,
//! so both sides go through the same mapping. The catalogue of names is
//! `kassa_domain::outbox::catalogue`.

use chrono::{DateTime, Utc};
use kassa_domain::relay::OutboxEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// What the bus calls every event: `event.` + the domain name.
pub const BUS_PREFIX: &str = "event.";

/// The bus name (routing key and CloudEvent `type`) of the domain event type `event_type`:
/// `order.placed` → `event.order.placed`.
pub fn bus_type(event_type: &str) -> String {
    format!("{BUS_PREFIX}{event_type}")
}

/// The domain event type a delivered CloudEvent `type` names: `event.order.placed` →
/// `order.placed`. A type without the prefix is taken as it is: messages relayed before the
/// bus names changed (`order.placed`) may still wait in a queue.
pub fn domain_type(bus_type: &str) -> &str {
    bus_type.strip_prefix(BUS_PREFIX).unwrap_or(bus_type)
}

/// A CloudEvent as Kassa sends it (structured JSON mode).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub specversion: String,
    pub id: Uuid,
    /// `kassa/<aggregate type>`, e.g. `kassa/product`.
    pub source: String,
    /// `event.product.created`, `event.order.placed`, … ([`bus_type`] of the outbox's
    /// `event_type`); also the RabbitMQ routing key.
    #[serde(rename = "type")]
    pub event_type: String,
    pub time: DateTime<Utc>,
    /// The aggregate's id.
    pub subject: String,
    pub datacontenttype: String,
    /// Extension attribute: the tenant the event belongs to.
    pub tenantid: Uuid,
    /// Extension attribute: the outbox sequence, for ordering per aggregate.
    pub sequence: i64,
    /// `{"schema_version": 1, "data": <new state>}`.
    pub data: Value,
}

impl From<&OutboxEvent> for Envelope {
    fn from(event: &OutboxEvent) -> Self {
        Envelope {
            specversion: "1.0".to_owned(),
            id: event.id,
            source: format!("kassa/{}", event.aggregate_type),
            event_type: bus_type(&event.event_type),
            time: event.occurred_at,
            subject: event.aggregate_id.to_string(),
            datacontenttype: "application/json".to_owned(),
            tenantid: event.tenant_id.as_uuid(),
            sequence: event.seq,
            data: event.payload.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bus_name_is_event_dot_the_domain_name_and_maps_back() {
        assert_eq!(bus_type("product.created"), "event.product.created");
        assert_eq!(domain_type("event.product.created"), "product.created");
        assert_eq!(domain_type(&bus_type("workflow_run.retried")), "workflow_run.retried");
        // Relayed before the rename: taken as the domain name it is.
        assert_eq!(domain_type("order.placed"), "order.placed");
        // The prefix comes off once only.
        assert_eq!(domain_type("event.event.order.placed"), "event.order.placed");
    }
}
