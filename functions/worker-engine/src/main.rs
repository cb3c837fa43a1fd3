//! The worker-engine Lambda: SQS event batches and the sweep schedule → the workflow engine.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let state = kassa_runtime::boot()?;
    let engine = kassa_engine::Engine::new(&state)?;
    let events = kassa_events::fast_path::FastPath::for_runtime(&state);
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        kassa_worker_engine::handle_publishing(&engine, events.as_ref(), event)
    }))
    .await
}
