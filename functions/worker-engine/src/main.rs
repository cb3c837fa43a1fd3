//! The worker-engine Lambda: SQS event batches and the sweep schedule → the workflow engine.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let state = kassa_runtime::boot()?;
    let engine = kassa_engine::Engine::new(&state)?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| kassa_worker_engine::handle(&engine, event))).await
}
