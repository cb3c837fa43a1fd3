//! `GET /storefront/tenant` and tenant resolution: by header (id, handle), by Host, and
//! each way it can fail — always as problem+json.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use http::StatusCode;
use kassa_storefront::router;
use kassa_testkit::TestApp;
use serde_json::json;
use sqlx::PgPool;

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn the_tenant_is_found_by_its_id_in_the_header(pool: PgPool) {
    let app = TestApp::new(pool, router);
    let shop = app.tenant("aurora").await;
    let response = app.get("/storefront/tenant", &[("x-tenant-id", &shop.id.to_string())]).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        response.json(),
        json!({
            "id": shop.id.to_string(),
            "handle": "aurora",
            "name": "Shop aurora",
            "default_locale": "en",
            "locales": ["en", "nl"],
            "default_currency": "EUR",
        })
    );
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn the_tenant_is_found_by_its_handle_in_the_header(pool: PgPool) {
    let app = TestApp::new(pool, router);
    app.tenant("aurora").await;
    let other = app.tenant("borealis").await;
    let response = app.get("/storefront/tenant", &[("x-tenant-id", "borealis")]).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json()["id"], other.id.to_string());
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn the_tenant_is_found_by_the_host_it_is_served_on(pool: PgPool) {
    let app = TestApp::new(pool, router);
    app.tenant("aurora").await;
    let borealis = app.tenant("borealis").await;
    // Case and port do not matter.
    let response = app.get("/storefront/tenant", &[("host", "Borealis.Shop.Test:8443")]).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json()["id"], borealis.id.to_string());
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn an_unknown_tenant_is_a_404_problem(pool: PgPool) {
    let app = TestApp::new(pool, router);
    app.tenant("aurora").await;
    for key in ["nobody", "01a21415-2aeb-7023-95b1-b6810d9fa8df"] {
        let response = app.get("/storefront/tenant", &[("x-tenant-id", key)]).await;
        let problem = response.problem(StatusCode::NOT_FOUND, "tenant_not_found");
        assert_eq!(problem["instance"], "/storefront/tenant");
        assert_eq!(problem["detail"], format!("no tenant '{key}' exists"));
    }
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_header_and_host_naming_different_tenants_is_a_mismatch(pool: PgPool) {
    let app = TestApp::new(pool, router);
    app.tenant("aurora").await;
    app.tenant("borealis").await;
    let response =
        app.get("/storefront/tenant", &[("x-tenant-id", "aurora"), ("host", "borealis.shop.test")]).await;
    response.problem(StatusCode::BAD_REQUEST, "tenant_mismatch");

    // Both naming the same tenant is fine.
    let response =
        app.get("/storefront/tenant", &[("x-tenant-id", "aurora"), ("host", "aurora.shop.test")]).await;
    assert_eq!(response.status, StatusCode::OK);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_request_naming_no_tenant_is_told_how_to_name_one(pool: PgPool) {
    let app = TestApp::new(pool, router);
    app.tenant("aurora").await;
    for headers in [vec![], vec![("host", "localhost:8080")], vec![("host", "api.example.com")]] {
        let response = app.get("/storefront/tenant", &headers).await;
        let problem = response.problem(StatusCode::BAD_REQUEST, "tenant_required");
        let expected = json!({
            "type": "urn:kassa:problem:tenant_required",
            "title": "Bad Request",
            "status": 400,
            "detail": "name the shop with an X-Tenant-ID header (id or handle) or call it on one of its domains",
            "instance": "/storefront/tenant",
            "code": "tenant_required",
            "request_id": problem["request_id"],
        });
        assert_eq!(problem, expected);
    }
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_wrong_method_on_a_tenant_route_is_a_405_before_any_tenant_lookup(pool: PgPool) {
    let app = TestApp::new(pool, router);
    let request = http::Request::post("/storefront/tenant").body(axum::body::Body::empty()).unwrap();
    let response = app.send(request).await;
    response.problem(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert_eq!(response.header("allow"), Some("GET,HEAD"));
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_caller_request_id_is_echoed_and_a_missing_one_is_made(pool: PgPool) {
    let app = TestApp::new(pool, router);
    app.tenant("aurora").await;
    let response =
        app.get("/storefront/tenant", &[("x-tenant-id", "aurora"), ("x-request-id", "abc-123")]).await;
    assert_eq!(response.header("x-request-id"), Some("abc-123"));
    let response = app.get("/storefront/tenant", &[("x-tenant-id", "aurora")]).await;
    let made = response.header("x-request-id").unwrap();
    assert!(uuid::Uuid::parse_str(made).is_ok(), "{made} is a uuid");
}
