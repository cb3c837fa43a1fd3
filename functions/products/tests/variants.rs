//! Variants and stock: SKUs unique per shop, money in minor units of a known currency,
//! merge-patch updates, and stock adjustments that never go below zero — also when many
//! buyers take the last units at once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use http::StatusCode;
use kassa_domain::tenant::Tenant;
use kassa_testkit::{Issuer, TestApp, problem_errors};
use serde_json::{Value, json};
use sqlx::PgPool;

async fn app(pool: PgPool) -> (TestApp, Issuer, Tenant, String) {
    let issuer = Issuer::start().await;
    let app = TestApp::with_config(pool, issuer.config(), kassa_products::router);
    let demo = app.tenant("demo").await;
    let editor = app.staff(&issuer, &demo, "editor");
    let product =
        editor.post("/management/products", &json!({"handle": "mug", "title": {"en": "Mug"}})).await;
    let id = product.expect(StatusCode::CREATED)["id"].as_str().unwrap().to_owned();
    (app, issuer, demo, id)
}

fn variant(sku: &str, stock: Value) -> Value {
    json!({"sku": sku, "price": {"amount": 1295, "currency": "eur"}, "stock": stock, "attributes": {"color": "red"}})
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn variants_are_created_listed_patched_and_deleted(pool: PgPool) {
    let (app, issuer, demo, product) = app(pool).await;
    let editor = app.staff(&issuer, &demo, "editor");
    let variants = format!("/management/products/{product}/variants");
    let response = editor.post(&variants, &variant("MUG-RED", json!(12))).await;
    let red = response.expect(StatusCode::CREATED);
    assert_eq!(
        red["price"],
        json!({"amount": 1295, "currency": "EUR"}),
        "currency codes are stored canonical"
    );
    assert_eq!((red["stock"].clone(), red["position"].clone()), (json!(12), json!(0)));
    let red_uri = format!("{variants}/{}", red["id"].as_str().unwrap());
    assert_eq!(response.header("location"), Some(red_uri.as_str()));

    let mut untracked = variant("MUG-BLUE", Value::Null);
    untracked["attributes"] = json!({"color": "blue"});
    let blue = editor.post(&variants, &untracked).await.expect(StatusCode::CREATED);
    assert_eq!((blue["stock"].clone(), blue["position"].clone()), (Value::Null, json!(1)));
    let defaulted =
        editor.post(&variants, &json!({"sku": "MUG-GREEN", "price": {"amount": 0, "currency": "EUR"}})).await;
    assert_eq!(defaulted.expect(StatusCode::CREATED)["stock"], 0, "stock is tracked (0) unless null is sent");

    let listed = editor.get(&variants).await.expect(StatusCode::OK);
    let skus: Vec<&str> =
        listed["items"].as_array().unwrap().iter().map(|v| v["sku"].as_str().unwrap()).collect();
    assert_eq!(skus, ["MUG-RED", "MUG-BLUE", "MUG-GREEN"]);

    let patched = editor
        .patch(&red_uri, &json!({"price": {"amount": 1095}, "attributes": {"size": "L"}}), Some(1))
        .await;
    let patched = patched.expect(StatusCode::OK);
    assert_eq!(patched["price"], json!({"amount": 1095, "currency": "EUR"}));
    assert_eq!(patched["attributes"], json!({"color": "red", "size": "L"}));
    editor
        .patch(&red_uri, &json!({"sku": "X"}), Some(1))
        .await
        .problem(StatusCode::PRECONDITION_FAILED, "version_conflict");

    assert_eq!(editor.delete(&red_uri).await.status, StatusCode::NO_CONTENT);
    editor.get(&red_uri).await.problem(StatusCode::NOT_FOUND, "not_found");
    let types: Vec<String> = app.outbox(&demo).await.into_iter().map(|e| e.0).skip(1).collect();
    assert_eq!(
        types,
        ["variant.created", "variant.created", "variant.created", "variant.updated", "variant.deleted"]
    );
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn variant_input_is_validated_and_skus_are_unique_per_shop(pool: PgPool) {
    let (app, issuer, demo, product) = app(pool).await;
    let editor = app.staff(&issuer, &demo, "editor");
    let variants = format!("/management/products/{product}/variants");
    let bad = json!({
        "sku": "has space",
        "price": {"amount": -1, "currency": "EURO"},
        "stock": -3,
        "attributes": {"Color": "red", "size": {"eu": 42}},
    });
    let problem =
        editor.post(&variants, &bad).await.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(
        problem_errors(&problem, "pointer"),
        ["/sku", "/price/amount", "/price/currency", "/stock", "/attributes/Color", "/attributes/size"]
    );
    editor
        .post(&variants, &json!({"sku": "A", "price": {"amount": 1}}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");

    editor.post(&variants, &variant("MUG-1", json!(1))).await.expect(StatusCode::CREATED);
    let other_product =
        editor.post("/management/products", &json!({"handle": "cup", "title": {"en": "Cup"}})).await;
    let other_id = other_product.expect(StatusCode::CREATED)["id"].as_str().unwrap().to_owned();
    editor
        .post(&format!("/management/products/{other_id}/variants"), &variant("MUG-1", json!(1)))
        .await
        .problem(StatusCode::CONFLICT, "sku_taken");
    // A variant is reached only through its own product.
    let listed = editor.get(&variants).await.expect(StatusCode::OK);
    let vid = listed["items"][0]["id"].as_str().unwrap();
    editor
        .get(&format!("/management/products/{other_id}/variants/{vid}"))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    let events = app.outbox(&demo).await;
    assert_eq!(events.iter().filter(|e| e.0 == "variant.created").count(), 1);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn an_attribute_number_too_large_to_read_back_is_refused_so_the_variant_stays_readable(pool: PgPool) {
    let (app, issuer, demo, product) = app(pool).await;
    let editor = app.staff(&issuer, &demo, "editor");
    let variants = format!("/management/products/{product}/variants");
    // Postgres keeps 1.7976931348623157e308 in jsonb, but serde cannot read it back: every
    // read of the variant (and of its product's variants) would fail with a 500.
    let mut huge = variant("MUG-HUGE", json!(1));
    huge["attributes"] = json!({"weight": f64::MAX});
    let problem =
        editor.post(&variants, &huge).await.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem["errors"][0]["pointer"], "/attributes/weight");
    assert_eq!(problem["errors"][0]["code"], "invalid_attribute_value");
    huge["attributes"] = json!({"weight": 1e15, "depth": -0.5});
    editor.post(&variants, &huge).await.expect(StatusCode::CREATED);
    let listed = editor.get(&variants).await.expect(StatusCode::OK);
    // Postgres' jsonb keeps the number, not its spelling: 1e15 reads back as 1000000000000000.
    assert_eq!(listed["items"][0]["attributes"]["weight"].as_f64(), Some(1e15));
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn stock_adjustments_are_guarded_and_recorded(pool: PgPool) {
    let (app, issuer, demo, product) = app(pool).await;
    let editor = app.staff(&issuer, &demo, "editor");
    let variants = format!("/management/products/{product}/variants");
    let tracked = editor.post(&variants, &variant("MUG-T", json!(5))).await.expect(StatusCode::CREATED);
    let adjust = format!("/management/variants/{}/stock-adjustments", tracked["id"].as_str().unwrap());

    let level = editor.post(&adjust, &json!({"delta": 3, "reason": "restock"})).await.expect(StatusCode::OK);
    assert_eq!(
        (level["stock"].clone(), level["delta"].clone(), level["sku"].clone()),
        (json!(8), json!(3), json!("MUG-T"))
    );
    let problem = editor
        .post(&adjust, &json!({"delta": -9, "reason": "sold"}))
        .await
        .problem(StatusCode::CONFLICT, "insufficient_stock");
    assert_eq!(problem["detail"], "only 8 in stock; cannot remove 9");
    assert_eq!(
        editor.post(&adjust, &json!({"delta": -8, "reason": "sold"})).await.expect(StatusCode::OK)["stock"],
        0
    );
    let problem = editor
        .post(&adjust, &json!({"delta": 0, "reason": ""}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem["errors"].as_array().unwrap().len(), 2);

    let untracked = editor.post(&variants, &variant("MUG-U", Value::Null)).await.expect(StatusCode::CREATED);
    let uri = format!("/management/variants/{}/stock-adjustments", untracked["id"].as_str().unwrap());
    editor
        .post(&uri, &json!({"delta": 1, "reason": "found one"}))
        .await
        .problem(StatusCode::CONFLICT, "stock_untracked");
    editor
        .post(
            "/management/variants/01a21415-2aeb-7023-95b1-b6810d9fa8df/stock-adjustments",
            &json!({"delta": 1, "reason": "x"}),
        )
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    let viewer = app.staff(&issuer, &demo, "viewer");
    viewer
        .post(&adjust, &json!({"delta": 1, "reason": "x"}))
        .await
        .problem(StatusCode::FORBIDDEN, "insufficient_role");

    let adjusted: Vec<i64> = app
        .outbox(&demo)
        .await
        .into_iter()
        .filter(|e| e.0 == "stock.adjusted")
        .map(|e| e.2["data"]["delta"].as_i64().unwrap())
        .collect();
    assert_eq!(adjusted, [3, -8], "one event per successful adjustment, none for refused ones");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn many_buyers_of_the_last_units_never_take_stock_below_zero(pool: PgPool) {
    let (app, issuer, demo, product) = app(pool).await;
    let editor = app.staff(&issuer, &demo, "editor");
    let created =
        editor.post(&format!("/management/products/{product}/variants"), &variant("LAST", json!(10))).await;
    let adjust = format!(
        "/management/variants/{}/stock-adjustments",
        created.expect(StatusCode::CREATED)["id"].as_str().unwrap()
    );
    let sale = json!({"delta": -1, "reason": "sold"});
    let buyers = (0..25).map(|_| editor.post(&adjust, &sale));
    let statuses: Vec<StatusCode> =
        futures_util::future::join_all(buyers).await.into_iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 10);
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(), 15);
    let events = app.outbox(&demo).await.into_iter().filter(|e| e.0 == "stock.adjusted").count();
    assert_eq!(events, 10);
    let stock: i32 = sqlx::query_scalar("select stock from product_variants where sku = 'LAST'")
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert_eq!(stock, 0);
}
