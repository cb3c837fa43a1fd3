//! Kassa's event bus: outbox rows become CloudEvents 1.0 JSON envelopes, the relay publishes
//! them, and consumers handle each event's effects exactly once through the inbox.

pub mod catalogue;
pub mod consumer;
pub mod envelope;
pub mod fast_path;
#[cfg(feature = "rabbitmq")]
pub mod rabbitmq;
pub mod relay;
pub mod sqs;

pub use consumer::{Handled, RetryPolicy};
pub use envelope::Envelope;
