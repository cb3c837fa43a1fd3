//! Every management write that changes what the storefront shows invalidates the shop's
//! cached storefront answers itself (the staff gate no longer does it as a side effect of
//! authentication): after each such write route, the next storefront read is computed
//! afresh. A write the storefront does not show (a tax rate) leaves the cache alone.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use http::{Method, StatusCode};
use kassa_cli::{local_routes, seed};
use kassa_testkit::{Issuer, StaffClient, TestApp};
use serde_json::{Value, json};
use sqlx::PgPool;

const SHOP_READ: &str = "/storefront/products?limit=5";

async fn cache_state(app: &TestApp) -> String {
    let response = app.get(SHOP_READ, &[("x-tenant-id", "demo")]).await;
    assert_eq!(response.status, StatusCode::OK);
    response.header("x-cache").unwrap().to_owned()
}

/// Reads until the answer is cached, runs `write`, and says what the next read was.
async fn after(
    app: &TestApp,
    owner: &StaffClient<'_>,
    method: Method,
    uri: &str,
    body: Option<Value>,
) -> String {
    cache_state(app).await;
    assert_eq!(cache_state(app).await, "hit", "the read is cached before {method} {uri}");
    let response = owner.call(method.clone(), uri, body.as_ref(), &[]).await;
    assert!(
        response.status.is_success(),
        "{method} {uri}: {} {}",
        response.status,
        String::from_utf8_lossy(&response.body)
    );
    cache_state(app).await
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn every_write_the_storefront_shows_invalidates_its_cache_where_it_happens(pool: PgPool) {
    let issuer = Issuer::start().await;
    let app = TestApp::with_config(pool, issuer.config(), local_routes);
    let shops = seed::seed_demo(&app.state.db).await.unwrap();
    let demo = shops.iter().find(|t| t.handle == "demo").unwrap();
    let owner = app.staff(&issuer, demo, "owner");
    let id = |body: &Value| body["id"].as_str().unwrap().to_owned();

    let product = id(&owner
        .post(
            "/management/products",
            &json!({"handle": "fresh", "title": {"en": "Fresh"}, "status": "draft"}),
        )
        .await
        .expect(StatusCode::CREATED));
    let variant_body = json!({"sku": "FRESH-1", "price": {"amount": 500, "currency": "EUR"}, "stock": 3});
    let variant = id(&owner
        .post(&format!("/management/products/{product}/variants"), &variant_body)
        .await
        .expect(StatusCode::CREATED));
    let group =
        owner.get("/management/customer-groups?limit=1").await.expect(StatusCode::OK)["items"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let list = owner.get("/management/price-lists?limit=1").await.expect(StatusCode::OK)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let collection = id(&owner
        .post(
            "/management/collections",
            &json!({"handle": "picks", "title": {"en": "Picks"}, "kind": "manual", "sort": "manual"}),
        )
        .await
        .expect(StatusCode::CREATED));
    let mut images = Vec::new();
    for n in 1..=2 {
        images.push(id(&owner
            .post(
                &format!("/management/products/{product}/media"),
                &json!({"url": format!("https://cdn.example/fresh-{n}.png")}),
            )
            .await
            .expect(StatusCode::CREATED)));
    }
    let image = images[0].clone();

    let writes: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            "/management/collections".into(),
            Some(
                json!({"handle": "sale", "title": {"en": "Sale"}, "kind": "automatic", "rules": {"tags": ["sale"]}}),
            ),
        ),
        (
            Method::PATCH,
            format!("/management/collections/{collection}"),
            Some(json!({"title": {"en": "Top"}})),
        ),
        (
            Method::PUT,
            format!("/management/collections/{collection}/products"),
            Some(json!({"product_ids": [product]})),
        ),
        (
            Method::PUT,
            format!("/management/products/{product}/media"),
            Some(json!({"media_ids": [images[1], images[0]]})),
        ),
        (
            Method::POST,
            format!("/management/products/{product}/media"),
            Some(json!({"url": "https://cdn.example/fresh-3.png"})),
        ),
        (
            Method::PATCH,
            format!("/management/products/{product}/media/{image}"),
            Some(json!({"alt": {"en": "Fresh"}})),
        ),
        (Method::DELETE, format!("/management/products/{product}/media/{image}"), None),
        (Method::DELETE, format!("/management/collections/{collection}"), None),
        (
            Method::POST,
            "/management/products".into(),
            Some(json!({"handle": "another", "title": {"en": "Another"}, "status": "active"})),
        ),
        (Method::PATCH, format!("/management/products/{product}"), Some(json!({"status": "active"}))),
        (
            Method::POST,
            format!("/management/products/{product}/variants"),
            Some(json!({"sku": "FRESH-2", "price": {"amount": 700, "currency": "EUR"}})),
        ),
        (
            Method::PATCH,
            format!("/management/products/{product}/variants/{variant}"),
            Some(json!({"price": {"amount": 450, "currency": "EUR"}})),
        ),
        (
            Method::POST,
            format!("/management/variants/{variant}/stock-adjustments"),
            Some(json!({"delta": -3, "reason": "sold out"})),
        ),
        (
            Method::POST,
            format!("/management/price-lists/{list}/prices"),
            Some(json!({"prices": [{"variant_id": variant, "amount": 400, "min_quantity": 1}]})),
        ),
        (Method::DELETE, format!("/management/price-lists/{list}/prices/{variant}/1"), None),
        (Method::PATCH, format!("/management/price-lists/{list}"), Some(json!({"priority": 7}))),
        (
            Method::POST,
            "/management/customer-groups".into(),
            Some(json!({"handle": "friends", "name": "Friends"})),
        ),
        (Method::PATCH, format!("/management/customer-groups/{group}"), Some(json!({"name": "Renamed"}))),
        (Method::DELETE, format!("/management/products/{product}/variants/{variant}"), None),
        (Method::DELETE, format!("/management/products/{product}"), None),
    ];
    for (method, uri, body) in writes {
        assert_eq!(
            after(&app, &owner, method.clone(), &uri, body).await,
            "miss",
            "{method} {uri} left the cache stale"
        );
    }
    // What the storefront does not show does not throw its cache away.
    let tax = json!({"country": "LU", "tax_class": "standard", "rate_bp": 1700});
    assert_eq!(after(&app, &owner, Method::POST, "/management/tax-rates", Some(tax)).await, "hit");
}
