//! The outbox-relay Lambda: a schedule (EventBridge) → publish the outbox to SQS.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let state = kassa_runtime::boot()?;
    let queue_url = state.config.events_queue_url.clone().ok_or("EVENTS_QUEUE_URL is not set")?;
    let client = kassa_events::sqs::client(state.config.aws_endpoint_url.as_deref()).await;
    let relay = kassa_outbox_relay::Relay {
        db: state.db.clone(),
        bus: kassa_events::sqs::SqsBus::new(client, queue_url),
    };
    lambda_runtime::run(lambda_runtime::service_fn(|event| kassa_outbox_relay::handle(&relay, event))).await
}
