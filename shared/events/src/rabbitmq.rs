//! The RabbitMQ bus: a durable topic exchange (routing key = event type), publisher
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

use crate::Envelope;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error(transparent)]
    Amqp(#[from] lapin::Error),
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

pub struct RabbitBus {
    _connection: Connection,
    channel: Channel,
    topology: Topology,
}

impl RabbitBus {
    /// Connects and declares the exchanges.
    pub async fn connect(url: &str, topology: Topology) -> Result<Self, BusError> {
        let connection = Connection::connect(url, ConnectionProperties::default()).await?;
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
        Ok(Self { _connection: connection, channel, topology })
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
                    event.event_type.as_str().into(),
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

    /// Declares `queue` (durable, dead-lettering to `<queue>.dlq`), binds it to the event
    /// types it wants (`#` for all), and consumes it with at most `prefetch` unacknowledged
    /// messages. `handle` returns whether the message is done (ack) or must be dead-lettered.
    pub async fn consume<F, Fut>(
        &self,
        queue: &str,
        bindings: &[&str],
        prefetch: u16,
        mut handle: F,
    ) -> Result<(), BusError>
    where
        F: FnMut(Envelope) -> Fut,
        Fut: Future<Output = bool>,
    {
        let channel = &self.channel;
        let transient = self.topology.transient;
        let durable = QueueDeclareOptions {
            durable: !transient,
            auto_delete: transient,
            ..QueueDeclareOptions::default()
        };
        let dlq = format!("{queue}.dlq");
        channel.queue_declare(dlq.as_str().into(), durable, FieldTable::default()).await?;
        channel
            .queue_bind(
                dlq.as_str().into(),
                self.topology.dead_letter_exchange().as_str().into(),
                queue.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let mut arguments = FieldTable::default();
        arguments.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(self.topology.dead_letter_exchange().into()),
        );
        arguments.insert("x-dead-letter-routing-key".into(), AMQPValue::LongString(queue.into()));
        channel.queue_declare(queue.into(), durable, arguments).await?;
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
            let done = match serde_json::from_slice::<Envelope>(&delivery.data) {
                Ok(envelope) => handle(envelope).await,
                Err(err) => {
                    tracing::warn!(error = %err, queue, "not a Kassa CloudEvent; dead-lettering it");
                    false
                }
            };
            if done {
                delivery.ack(BasicAckOptions::default()).await?;
            } else {
                delivery.nack(BasicNackOptions { requeue: false, ..BasicNackOptions::default() }).await?;
            }
        }
        Ok(())
    }
}
