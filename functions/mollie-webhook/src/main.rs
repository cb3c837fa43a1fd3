//! The Mollie webhook Lambda: API Gateway (HTTP API v2) → lambda_http → the shared app stack.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let state = kassa_http::boot()?;
    // Publishes each request's events right after its commit when EVENTS_QUEUE_URL is set.
    let events = kassa_events::fast_path::FastPath::configured(
        &state.db,
        state.config.events_queue_url.as_deref(),
        state.config.aws_endpoint_url.as_deref(),
    );
    lambda_http::run(kassa_http::app(kassa_mollie_webhook::router(state.publishing(events)))).await
}
