//! Tests that run once per cart store: [`on_both_cart_stores!`](crate::on_both_cart_stores)
//! instantiates async test fns `fn(TestApp)` as `#[sqlx::test]`s on Valkey and on DynamoDB (the
//! AWS emulator at `AWS_ENDPOINT_URL`), each app from [`app_on`].

use axum::Router;
use kassa_http::AppState;
use sqlx::PgPool;

use crate::{TestApp, test_config};

/// The DynamoDB table the tests share (created when missing).
pub const TEST_TABLE: &str = "kassa-carts-test";

/// An app of `routes` whose carts and idempotency records live in `store` (`valkey` or
/// `dynamodb`). Valkey may take up to 2 s here: a loaded test machine must not turn a slow
/// answer into a 500.
pub async fn app_on(pool: PgPool, store: &str, routes: impl FnOnce(AppState) -> Router) -> TestApp {
    let config =
        test_config(&[("CART_STORE", store), ("CARTS_TABLE", TEST_TABLE), ("VALKEY_TIMEOUT_MS", "2000")]);
    if store == "dynamodb" {
        let dynamo = kassa_store::DynamoStore::shared(config.aws_endpoint_url.as_deref(), TEST_TABLE).await;
        dynamo.ensure_table().await.expect("the DynamoDB test table exists");
    }
    TestApp::with_config(pool, config, routes)
}

/// `on_both_cart_stores!(routes; test_a, test_b)`: each `async fn test_a(app: TestApp)` runs as
/// `valkey_store::test_a` and `dynamodb_store::test_a`, on a database of its own.
#[macro_export]
macro_rules! on_both_cart_stores {
    ($routes:path; $($name:ident),* $(,)?) => {
        mod valkey_store {
            $( #[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
               async fn $name(pool: sqlx::PgPool) {
                   super::$name($crate::cart_stores::app_on(pool, "valkey", $routes).await).await
               } )*
        }
        mod dynamodb_store {
            $( #[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
               async fn $name(pool: sqlx::PgPool) {
                   super::$name($crate::cart_stores::app_on(pool, "dynamodb", $routes).await).await
               } )*
        }
    };
}
