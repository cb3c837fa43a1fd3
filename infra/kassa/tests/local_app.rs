//! `kassa serve`'s app: every function merged behind the shared stack, plus the demo seed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use http::StatusCode;
use kassa_cli::{local_routes, seed};
use kassa_testkit::TestApp;
use sqlx::PgPool;

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn the_local_server_serves_operations_and_every_function(pool: PgPool) {
    let app = TestApp::new(pool, local_routes);
    assert_eq!(app.get("/health", &[]).await.status, StatusCode::OK);
    assert_eq!(app.get("/ready", &[]).await.status, StatusCode::OK);
    seed::seed_demo(&app.state.db).await.unwrap();
    let response = app.get("/storefront/tenant", &[("host", "demo.localhost:8080")]).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json()["handle"], "demo");
    app.get("/nowhere", &[]).await.problem(StatusCode::NOT_FOUND, "route_not_found");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn seeding_the_demo_twice_changes_nothing(pool: PgPool) {
    let first = seed::seed_demo(&pool).await.unwrap();
    let second = seed::seed_demo(&pool).await.unwrap();
    assert_eq!(first, second);
    let demo = &first[0];
    assert_eq!((demo.handle.as_str(), demo.zitadel_org_id.as_deref()), ("demo", Some("310000000000000002")));
    assert_eq!(demo.locales, ["en", "nl"]);
    assert_eq!(demo.default_currency, "EUR");
    let (tenants, domains): (i64, i64) =
        sqlx::query_as("select (select count(*) from tenants), (select count(*) from tenant_domains)")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((tenants, domains), (2, 2));
}
