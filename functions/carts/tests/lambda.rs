//! The Lambda path: a recorded API Gateway HTTP API (v2) event creating a cart, replayed
//! through the `lambda_http` adapter that `main.rs` runs, on the DynamoDB store as in AWS.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use kassa_testkit::{TenantBuilder, test_config};
use lambda_http::request::LambdaRequest;
use lambda_http::tower::ServiceExt;
use lambda_http::{Adapter, Context, LambdaEvent};
use serde_json::Value;
use sqlx::PgPool;

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn the_recorded_create_cart_event_is_answered_through_lambda_http(pool: PgPool) {
    TenantBuilder::new("demo").domains(&["demo.localhost"]).without_staff().create(&pool).await;
    let config = test_config(&[("CART_STORE", "dynamodb"), ("CARTS_TABLE", "kassa-carts-test")]);
    kassa_store::DynamoStore::shared(config.aws_endpoint_url.as_deref(), "kassa-carts-test")
        .await
        .ensure_table()
        .await
        .unwrap();
    let state = kassa_http::AppState::with_pool(config, kassa_testkit::service_pool(&pool)).unwrap();
    let app = kassa_http::app(kassa_carts::router(state));

    let event =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/carts-create.json"))
            .unwrap();
    let answer = |event: &str| {
        let request: LambdaRequest = serde_json::from_str(event).unwrap();
        let app = app.clone();
        async move {
            let response =
                Adapter::from(app).oneshot(LambdaEvent::new(request, Context::default())).await.unwrap();
            serde_json::to_value(&response).unwrap()
        }
    };
    let first = answer(&event).await;
    assert_eq!(first["statusCode"], 201, "{first}");
    assert_eq!(first["headers"]["x-request-id"], "replay-carts-create-1");
    let body: Value = serde_json::from_str(first["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["cart"]["currency"], "EUR");
    assert_eq!(body["cart_token"].as_str().unwrap().len(), 43);
    // The event carries an Idempotency-Key: replayed, it answers the same cart.
    let again = answer(&event).await;
    assert_eq!(again["headers"]["idempotent-replayed"], "true");
    assert_eq!(again["body"], first["body"]);
}
