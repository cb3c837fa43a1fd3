//! The RabbitMQ bus: a durable topic exchange (routing key = the CloudEvent `type`,
//! `event.<aggregate>.<action>`: bind `event.order.*`, `event.#`, or `#`), publisher
//! confirms, and per consumer a durable queue with a dead-letter queue, manual acks and a
//! bounded prefetch.

use futures_util::StreamExt;
use kassa_domain::relay::OutboxEvent;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};

use crate::{Envelope, Handled, RetryPolicy};

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error(transparent)]
    Amqp(#[from] lapin::Error),
    #[error("not an AMQP URL: {0}")]
    Url(String),
    #[error("the broker did not confirm event {0}")]
    NotConfirmed(uuid::Uuid),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

/// Where events go: the exchange's name (`kassa.events` in production; tests use their own)
/// and whether exchanges and queues go away with their last user (tests) or stay (durable).
#[derive(Debug, Clone)]
pub struct Topology {
    pub exchange: String,
    pub transient: bool,
}

impl Default for Topology {
    fn default() -> Self {
        Topology { exchange: "kassa.events".to_owned(), transient: false }
    }
}

impl Topology {
    fn dead_letter_exchange(&self) -> String {
        format!("{}.dlx", self.exchange)
    }
}

/// The largest AMQP frame Kassa asks for when the URL names none. lapin keeps a send and a
/// receive buffer of 32 frames per connection, so the broker's default (128 KiB) would cost
/// 8 MiB of resident memory per connection; events are a few KiB, and a larger message is
/// simply sent in more frames.
const FRAME_MAX: u32 = 16 * 1024;

/// `url` as lapin reads it, with [`FRAME_MAX`] unless the URL sets `frame_max` itself.
fn amqp_uri(url: &str) -> Result<lapin::uri::AMQPUri, BusError> {
    let mut uri = url.parse::<lapin::uri::AMQPUri>().map_err(BusError::Url)?;
    uri.query.frame_max.get_or_insert(FRAME_MAX);
    Ok(uri)
}

pub struct RabbitBus {
    connection: Connection,
    channel: Channel,
    topology: Topology,
}

impl RabbitBus {
    /// The frame size agreed with the broker.
    pub fn frame_max(&self) -> u32 {
        self.connection.configuration().frame_max()
    }

    /// Connects and declares the exchanges.
    pub async fn connect(url: &str, topology: Topology) -> Result<Self, BusError> {
        let connection = Connection::connect_uri(amqp_uri(url)?, ConnectionProperties::default()).await?;
        let channel = connection.create_channel().await?;
        channel.confirm_select(ConfirmSelectOptions::default()).await?;
        let durable = ExchangeDeclareOptions {
            durable: !topology.transient,
            auto_delete: topology.transient,
            ..ExchangeDeclareOptions::default()
        };
        for exchange in [topology.exchange.clone(), topology.dead_letter_exchange()] {
            channel
                .exchange_declare(
                    exchange.as_str().into(),
                    ExchangeKind::Topic,
                    durable,
                    FieldTable::default(),
                )
                .await?;
        }
        Ok(Self { connection, channel, topology })
    }

    /// Messages waiting in a queue (it must exist).
    pub async fn queue_length(&self, queue: &str) -> Result<u32, BusError> {
        let passive = QueueDeclareOptions { passive: true, ..QueueDeclareOptions::default() };
        Ok(self.channel.queue_declare(queue.into(), passive, FieldTable::default()).await?.message_count())
    }

    /// How many consumers `queue` has (a passive declare; an error if the queue is missing).
    /// A consumer is started after its queue is bound, so a count above zero means events
    /// published from now on reach it.
    pub async fn consumer_count(&self, queue: &str) -> Result<u32, BusError> {
        let passive = QueueDeclareOptions { passive: true, ..QueueDeclareOptions::default() };
        Ok(self.channel.queue_declare(queue.into(), passive, FieldTable::default()).await?.consumer_count())
    }

    pub fn exchange(&self) -> &str {
        &self.topology.exchange
    }

    /// Publishes the events as persistent CloudEvents and waits for every confirm.
    pub async fn publish(&self, events: Vec<OutboxEvent>) -> Result<Vec<OutboxEvent>, BusError> {
        let mut confirms = Vec::with_capacity(events.len());
        for event in &events {
            let envelope = Envelope::from(event);
            let body = serde_json::to_vec(&envelope)?;
            let properties = BasicProperties::default()
                .with_content_type("application/cloudevents+json".into())
                .with_message_id(event.id.to_string().into())
                .with_delivery_mode(2);
            let confirm = self
                .channel
                .basic_publish(
                    self.topology.exchange.as_str().into(),
                    // The bus name, as in the envelope: `event.product.created`.
                    envelope.event_type.as_str().into(),
                    BasicPublishOptions::default(),
                    &body,
                    properties,
                )
                .await?;
            confirms.push((event.id, confirm));
        }
        for (id, confirm) in confirms {
            if !confirm.await?.is_ack() {
                return Err(BusError::NotConfirmed(id));
            }
        }
        Ok(events)
    }

    /// Declares `queue` (durable, dead-lettering to `<queue>.dlq`) and its retry queue,
    /// binds it to the bus names it wants (`event.order.*`, `#` for all), and consumes it with at most
    /// `prefetch` unacknowledged messages. A failed event is retried after `retry.delay`, up
    /// to `retry.max_attempts` deliveries in all; then it goes to the dead-letter queue and the
    /// others keep flowing. Messages that are no Kassa CloudEvent go there at once.
    pub async fn consume<F, Fut>(
        &self,
        queue: &str,
        bindings: &[&str],
        prefetch: u16,
        retry: RetryPolicy,
        mut handle: F,
    ) -> Result<(), BusError>
    where
        F: FnMut(Envelope) -> Fut,
        Fut: Future<Output = Handled>,
    {
        let channel = &self.channel;
        let transient = self.topology.transient;
        // Transient queues (tests) are not durable, yet outlive a consumer that dies: they
        // expire a minute after their last use (x-expires below) instead of auto-deleting.
        let durable = QueueDeclareOptions { durable: !transient, ..QueueDeclareOptions::default() };
        let dead_letters = self.topology.dead_letter_exchange();
        // Transient queues (tests) disappear a minute after their last use.
        let arguments = || {
            let mut arguments = FieldTable::default();
            if transient {
                arguments.insert("x-expires".into(), AMQPValue::LongLongInt(60_000));
            }
            arguments
        };
        let dlq = format!("{queue}.dlq");
        channel.queue_declare(dlq.as_str().into(), durable, arguments()).await?;
        channel
            .queue_bind(
                dlq.as_str().into(),
                dead_letters.as_str().into(),
                queue.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let mut main = arguments();
        main.insert("x-dead-letter-exchange".into(), AMQPValue::LongString(dead_letters.as_str().into()));
        main.insert("x-dead-letter-routing-key".into(), AMQPValue::LongString(queue.into()));
        channel.queue_declare(queue.into(), durable, main).await?;
        // Retries wait in `<queue>.retry` until their TTL sends them back to the queue.
        let retry_queue = format!("{queue}.retry");
        let mut waiting = arguments();
        waiting.insert("x-message-ttl".into(), AMQPValue::LongLongInt(retry.delay.as_millis() as i64));
        waiting.insert("x-dead-letter-exchange".into(), AMQPValue::LongString("".into()));
        waiting.insert("x-dead-letter-routing-key".into(), AMQPValue::LongString(queue.into()));
        channel.queue_declare(retry_queue.as_str().into(), durable, waiting).await?;
        for binding in bindings {
            channel
                .queue_bind(
                    queue.into(),
                    self.topology.exchange.as_str().into(),
                    (*binding).into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        channel.basic_qos(prefetch, BasicQosOptions::default()).await?;
        let mut consumer = channel
            .basic_consume(
                queue.into(),
                format!("{queue}-consumer").as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        while let Some(delivery) = consumer.next().await {
            let delivery = delivery?;
            let attempt = attempt_of(&delivery.properties);
            let outcome = match serde_json::from_slice::<Envelope>(&delivery.data) {
                Ok(envelope) => handle(envelope).await,
                Err(err) => Handled::Poison(format!("not a Kassa CloudEvent: {err}")),
            };
            match outcome {
                Handled::Done => {
                    delivery.ack(BasicAckOptions::default()).await?;
                }
                Handled::Failed(reason) if attempt < retry.max_attempts => {
                    tracing::warn!(queue, attempt, reason, "event failed; retrying later");
                    let mut headers = FieldTable::default();
                    headers.insert(ATTEMPT.into(), AMQPValue::LongLongInt(i64::from(attempt + 1)));
                    let properties = delivery.properties.clone().with_headers(headers);
                    let confirm = channel
                        .basic_publish(
                            "".into(),
                            retry_queue.as_str().into(),
                            BasicPublishOptions::default(),
                            &delivery.data,
                            properties,
                        )
                        .await?;
                    if !confirm.await?.is_ack() {
                        return Err(BusError::NotConfirmed(uuid::Uuid::nil()));
                    }
                    delivery.ack(BasicAckOptions::default()).await?;
                }
                Handled::Failed(reason) | Handled::Poison(reason) => {
                    tracing::error!(queue, attempt, reason, "event dead-lettered");
                    delivery.nack(BasicNackOptions { requeue: false, ..BasicNackOptions::default() }).await?;
                }
            }
        }
        Ok(())
    }
}

/// The header counting deliveries of a retried event.
const ATTEMPT: &str = "x-kassa-attempt";

fn attempt_of(properties: &BasicProperties) -> u32 {
    properties
        .headers()
        .as_ref()
        .and_then(|headers| headers.inner().get(ATTEMPT).cloned())
        .and_then(|value| match value {
            AMQPValue::LongLongInt(n) => u32::try_from(n).ok(),
            _ => None,
        })
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_ask_for_small_frames_unless_the_url_says_otherwise() {
        let plain = amqp_uri("amqp://guest:guest@127.0.0.1:5672/%2f").unwrap();
        assert_eq!(plain.query.frame_max, Some(FRAME_MAX));
        let chosen = amqp_uri("amqp://guest:guest@127.0.0.1:5672/%2f?frame_max=131072").unwrap();
        assert_eq!(chosen.query.frame_max, Some(131_072));
        assert!(amqp_uri("http://not-amqp").is_err());
    }
}
