//! The migrations Lambda: CloudFormation runs it on every deploy (custom resource) and an
//! operator invokes it once to create a shop (`events/migrations-*.json`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let config = kassa_runtime::Config::from_env()?;
    kassa_runtime::telemetry::init(config.log_format);
    let config = std::sync::Arc::new(config);
    lambda_runtime::run(lambda_runtime::service_fn(|event| kassa_migrations::handle(config.clone(), event)))
        .await
}
