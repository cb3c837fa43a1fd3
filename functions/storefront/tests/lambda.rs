//! The Lambda path: a recorded API Gateway HTTP API (v2) event replayed through the
//! `lambda_http` adapter that `main.rs` runs, into the same app and back out as the
//! response API Gateway receives.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use kassa_testkit::{TenantBuilder, test_config};
use lambda_http::request::LambdaRequest;
use lambda_http::tower::ServiceExt;
use lambda_http::{Adapter, Context, LambdaEvent};
use serde_json::Value;
use sqlx::PgPool;

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn the_recorded_api_gateway_event_is_answered_through_lambda_http(pool: PgPool) {
    let demo = TenantBuilder::new("demo")
        .name("Demo Shop")
        .domains(&["demo.localhost"])
        .without_staff()
        .create(&pool)
        .await;
    let state =
        kassa_http::AppState::with_pool(test_config(&[]), kassa_testkit::service_pool(&pool)).unwrap();
    let app = kassa_http::app(kassa_storefront::router(state));

    let event =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/storefront-tenant.json"))
            .unwrap();
    let request: LambdaRequest = serde_json::from_str(&event).unwrap();
    let response = Adapter::from(app).oneshot(LambdaEvent::new(request, Context::default())).await.unwrap();

    let response = serde_json::to_value(&response).unwrap();
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(response["headers"]["content-type"], "application/json");
    assert_eq!(response["headers"]["x-request-id"], "replay-storefront-tenant-1");
    let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["id"], demo.id.to_string());
    assert_eq!(body["handle"], "demo");
    assert_eq!(body["default_currency"], "EUR");
}
