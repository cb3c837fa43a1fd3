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
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.unwrap() }
    };
    let events = count("select count(*) from outbox").await;
    let second = seed::seed_demo(&pool).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(count("select count(*) from outbox").await, events, "the second run wrote nothing");

    let demo = &first[0];
    assert_eq!((demo.handle.as_str(), demo.zitadel_org_id.as_deref()), ("demo", Some("310000000000000002")));
    assert_eq!(demo.locales, ["en", "nl"]);
    assert_eq!(demo.default_currency, "EUR");
    assert_eq!(count("select count(*) from tenants").await, 2);
    assert_eq!(count("select count(*) from tenant_domains").await, 2);
    assert_eq!(count("select count(*) from products").await, 50);
    assert_eq!(count("select count(*) from products where title ? 'nl' and title ? 'en'").await, 50);
    assert_eq!(count("select count(*) from product_variants").await, 150);
    assert_eq!(count("select count(*) from product_variants where attributes ? 'color'").await, 150);
    assert_eq!(count("select count(*) from customer_groups").await, 2);
    assert_eq!(count("select count(*) from price_lists").await, 1);
    assert_eq!(count("select count(*) from price_list_prices").await, 300);
}

/// A browser preflight from `origin` for `method path`.
async fn preflight(app: &TestApp, path: &str, origin: &str) -> kassa_testkit::TestResponse {
    let request = http::Request::builder()
        .method(http::Method::OPTIONS)
        .uri(path)
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization, content-type, idempotency-key")
        .header("x-tenant-id", "demo")
        .body(axum::body::Body::empty())
        .unwrap();
    app.send(request).await
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn the_admin_origin_may_call_management_and_any_origin_the_storefront_but_no_other_page_management(
    pool: PgPool,
) {
    let app = TestApp::new(pool, local_routes);
    seed::seed_demo(&app.state.db).await.unwrap();
    let admin = "http://127.0.0.1:3000";
    let answer = preflight(&app, "/management/products", admin).await;
    assert!(answer.status.is_success(), "{}", answer.status);
    assert_eq!(answer.header("access-control-allow-origin"), Some(admin));
    let allowed = answer.header("access-control-allow-headers").unwrap_or_default().to_ascii_lowercase();
    for header in ["authorization", "idempotency-key", "if-match", "x-tenant-id"] {
        assert!(allowed.contains(header), "{header} in {allowed}");
    }

    let elsewhere = "https://evil.example";
    let answer = preflight(&app, "/management/products", elsewhere).await;
    assert_eq!(answer.header("access-control-allow-origin"), None, "no CORS grant for another page");
    let answer = app.get("/management/me", &[("origin", elsewhere)]).await;
    assert_eq!(answer.header("access-control-allow-origin"), None);

    let shop_site = "https://www.demo-shop.example";
    let answer = preflight(&app, "/storefront/carts", shop_site).await;
    assert_eq!(answer.header("access-control-allow-origin"), Some(shop_site));
    let answer = app.get("/storefront/products", &[("origin", shop_site), ("x-tenant-id", "demo")]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("access-control-allow-origin"), Some(shop_site));
    let exposed = answer.header("access-control-expose-headers").unwrap_or_default().to_ascii_lowercase();
    assert!(exposed.contains("etag"), "{exposed}");
}
