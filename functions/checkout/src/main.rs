//! The checkout Lambda: API Gateway (HTTP API v2) → lambda_http → the shared app stack.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    let state = kassa_http::boot()?.publishing(kassa_events::fast_path::FastPath::for_runtime);
    lambda_http::run(kassa_http::app(kassa_checkout::router(state))).await
}
