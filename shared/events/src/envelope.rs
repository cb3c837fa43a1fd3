//! The CloudEvents 1.0 JSON envelope of a Kassa event.

use chrono::{DateTime, Utc};
use kassa_domain::relay::OutboxEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// A CloudEvent as Kassa sends it (structured JSON mode).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub specversion: String,
    pub id: Uuid,
    /// `kassa/<aggregate type>`, e.g. `kassa/product`.
    pub source: String,
    /// `product.created`, `order.placed`, …
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
            event_type: event.event_type.clone(),
            time: event.occurred_at,
            subject: event.aggregate_id.to_string(),
            datacontenttype: "application/json".to_owned(),
            tenantid: event.tenant_id.as_uuid(),
            sequence: event.seq,
            data: event.payload.clone(),
        }
    }
}
