//! The products API: create, read, list, merge-patch update with If-Match, delete — with
//! validation, conflicts, tenant isolation, role checks and one outbox event per write.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::collections::HashSet;

use http::StatusCode;
use kassa_domain::tenant::Tenant;
use kassa_testkit::issuer::Issuer;
use kassa_testkit::{TestApp, problem_errors};
use serde_json::{Value, json};
use sqlx::PgPool;

struct Shop {
    app: TestApp,
    issuer: Issuer,
    demo: Tenant,
    other: Tenant,
}

async fn shop(pool: PgPool) -> Shop {
    let (app, issuer, demo, other) = TestApp::with_two_shops(pool, kassa_products::router).await;
    Shop { app, issuer, demo, other }
}

fn apron(handle: &str) -> Value {
    json!({
        "handle": handle,
        "title": {"en": "Linen apron", "nl": "Linnen schort"},
        "description": {"en": "Stonewashed linen."},
        "b2b_settings": {"min_order_quantity": 2, "quantity_step": 2},
    })
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn creating_a_product_returns_it_with_its_location_and_version_and_records_one_event(pool: PgPool) {
    let s = shop(pool).await;
    let editor = s.app.staff(&s.issuer, &s.demo, "editor");
    let response = editor.post("/management/products", &apron("linen-apron")).await;
    let product = response.expect(StatusCode::CREATED);
    let id = product["id"].as_str().unwrap();
    assert_eq!(response.header("location"), Some(format!("/management/products/{id}").as_str()));
    assert_eq!(response.header("etag"), Some("\"1\""));
    assert_eq!(product["handle"], "linen-apron");
    assert_eq!(product["status"], "draft");
    assert_eq!(product["tax_class"], "standard");
    assert_eq!(product["title"]["nl"], "Linnen schort");
    assert_eq!(product["b2b_settings"], json!({"min_order_quantity": 2, "quantity_step": 2}));
    assert_eq!(product["subscription_plan_id"], Value::Null);

    let events = s.app.outbox(&s.demo).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, "product.created");
    assert_eq!(events[0].1.to_string(), id);
    assert_eq!(events[0].2["data"]["handle"], "linen-apron");
    assert_eq!(events[0].2["schema_version"], 1);

    let fetched = editor.get(&format!("/management/products/{id}")).await;
    assert_eq!(fetched.expect(StatusCode::OK), product);
    assert_eq!(fetched.header("etag"), Some("\"1\""));
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn every_invalid_field_is_reported_at_once_and_nothing_is_written(pool: PgPool) {
    let s = shop(pool).await;
    let editor = s.app.staff(&s.issuer, &s.demo, "editor");
    let bad = json!({
        "handle": "Linen Apron",
        "title": {"nl": "Schort", "fr": "Tablier"},
        "tax_class": "Reduced Rate",
        "b2b_settings": {"min_order_quantity": 0, "visible_to_customer_groups": ["nobody"]},
    });
    let problem = editor
        .post("/management/products", &bad)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let pointers: HashSet<&str> = problem_errors(&problem, "pointer").into_iter().collect();
    let expected: HashSet<&str> = [
        "/handle",
        "/title/en",
        "/title/fr",
        "/tax_class",
        "/b2b_settings/min_order_quantity",
        "/b2b_settings/visible_to_customer_groups/0",
    ]
    .into();
    assert_eq!(pointers, expected, "{problem}");

    let problem = editor
        .post("/management/products", &json!({"handle": "a", "title": {"en": "A"}, "colour": "red"}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    assert_eq!(problem["errors"][0]["pointer"], "/colour");
    assert_eq!(problem["errors"][0]["code"], "unknown_field");

    let problem = editor
        .post("/management/products", &json!({"handle": "a", "title": {"en": "A"}, "subscription_plan_id": "01a21415-2aeb-7023-95b1-b6810d9fa8df"}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem["errors"][0]["pointer"], "/subscription_plan_id");
    assert_eq!(problem["errors"][0]["code"], "unknown_reference");

    assert!(s.app.outbox(&s.demo).await.is_empty(), "a failed write records no event");
    assert_eq!(editor.get("/management/products").await.expect(StatusCode::OK)["items"], json!([]));
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_taken_handle_is_a_conflict_but_another_shop_may_use_it(pool: PgPool) {
    let s = shop(pool).await;
    let editor = s.app.staff(&s.issuer, &s.demo, "editor");
    editor.post("/management/products", &apron("apron")).await.expect(StatusCode::CREATED);
    editor.post("/management/products", &apron("apron")).await.problem(StatusCode::CONFLICT, "handle_taken");
    assert_eq!(s.app.outbox(&s.demo).await.len(), 1);
    let other = s.app.staff(&s.issuer, &s.other, "editor");
    other.post("/management/products", &apron("apron")).await.expect(StatusCode::CREATED);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn another_shops_product_is_not_found_for_reading_or_writing(pool: PgPool) {
    let s = shop(pool).await;
    let theirs =
        s.app.staff(&s.issuer, &s.other, "owner").post("/management/products", &apron("secret")).await;
    let id = theirs.expect(StatusCode::CREATED)["id"].as_str().unwrap().to_owned();
    let editor = s.app.staff(&s.issuer, &s.demo, "editor");
    let uri = format!("/management/products/{id}");
    editor.get(&uri).await.problem(StatusCode::NOT_FOUND, "not_found");
    editor.patch(&uri, &json!({"handle": "mine"}), None).await.problem(StatusCode::NOT_FOUND, "not_found");
    editor.delete(&uri).await.problem(StatusCode::NOT_FOUND, "not_found");
    editor
        .post(&format!("{uri}/variants"), &json!({"sku": "X", "price": {"amount": 1, "currency": "EUR"}}))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(editor.get("/management/products").await.expect(StatusCode::OK)["items"], json!([]));
    assert!(s.app.outbox(&s.demo).await.is_empty());
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_merge_patch_changes_only_what_it_names_and_if_match_guards_the_version(pool: PgPool) {
    let s = shop(pool).await;
    let editor = s.app.staff(&s.issuer, &s.demo, "editor");
    let id = editor.post("/management/products", &apron("apron")).await.expect(StatusCode::CREATED)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let uri = format!("/management/products/{id}");

    let response =
        editor.patch(&uri, &json!({"title": {"nl": "Schort"}, "description": null}), Some(1)).await;
    let patched = response.expect(StatusCode::OK);
    assert_eq!(response.header("etag"), Some("\"2\""));
    assert_eq!(patched["title"], json!({"en": "Linen apron", "nl": "Schort"}));
    assert_eq!(patched["description"], json!({}));
    assert_eq!(patched["handle"], "apron");

    // Based on version 1, which is gone.
    let problem = editor
        .patch(&uri, &json!({"handle": "stale"}), Some(1))
        .await
        .problem(StatusCode::PRECONDITION_FAILED, "version_conflict");
    assert_eq!(problem["current_version"], 2);
    editor
        .call(http::Method::PATCH, &uri, Some(&json!({"handle": "x"})), &[("if-match", "three")])
        .await
        .problem(StatusCode::BAD_REQUEST, "invalid_if_match");

    // An invalid result is refused whole.
    let problem = editor
        .patch(&uri, &json!({"title": {"en": null}, "handle": "Bad"}), Some(2))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem["errors"].as_array().unwrap().len(), 2, "{problem}");
    editor
        .patch(&uri, &json!(["not", "an", "object"]), None)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_patch");
    editor
        .patch(&uri, &json!({"id": "x"}), None)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");

    let current = editor.get(&uri).await.expect(StatusCode::OK);
    assert_eq!(current["version"], 2);
    assert_eq!(current["handle"], "apron");
    let types: Vec<String> = s.app.outbox(&s.demo).await.into_iter().map(|e| e.0).collect();
    assert_eq!(types, ["product.created", "product.updated"]);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn deleting_a_never_active_product_removes_it_and_an_active_one_is_archived(pool: PgPool) {
    let s = shop(pool).await;
    let editor = s.app.staff(&s.issuer, &s.demo, "editor");
    let draft = editor.post("/management/products", &apron("draft-one")).await.expect(StatusCode::CREATED);
    let uri = format!("/management/products/{}", draft["id"].as_str().unwrap());
    let outcome = editor.delete(&uri).await.expect(StatusCode::OK);
    assert_eq!(outcome, json!({"id": draft["id"], "outcome": "deleted"}));
    editor.get(&uri).await.problem(StatusCode::NOT_FOUND, "not_found");

    let mut active = apron("sold-one");
    active["status"] = json!("active");
    let sold = editor.post("/management/products", &active).await.expect(StatusCode::CREATED);
    let uri = format!("/management/products/{}", sold["id"].as_str().unwrap());
    // Drafting it again does not forget that it was on sale.
    editor.patch(&uri, &json!({"status": "draft"}), None).await.expect(StatusCode::OK);
    assert_eq!(editor.delete(&uri).await.expect(StatusCode::OK)["outcome"], "archived");
    assert_eq!(editor.get(&uri).await.expect(StatusCode::OK)["status"], "archived");

    let types: Vec<String> = s.app.outbox(&s.demo).await.into_iter().map(|e| e.0).collect();
    assert_eq!(
        types,
        ["product.created", "product.deleted", "product.created", "product.updated", "product.updated"]
    );
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn viewers_read_but_cannot_write_and_strangers_cannot_read(pool: PgPool) {
    let s = shop(pool).await;
    let viewer = s.app.staff(&s.issuer, &s.demo, "viewer");
    assert_eq!(viewer.get("/management/products").await.status, StatusCode::OK);
    viewer
        .post("/management/products", &apron("nope"))
        .await
        .problem(StatusCode::FORBIDDEN, "insufficient_role");
    // The owner of another shop holds no role in this one.
    let token = s.issuer.token("owner-user", &[("owner", "org-other")]);
    let denied = s
        .app
        .get(
            "/management/products",
            &[("x-tenant-id", "demo"), ("authorization", &format!("Bearer {token}"))],
        )
        .await;
    denied.problem(StatusCode::FORBIDDEN, "tenant_access_denied");
    assert!(s.app.outbox(&s.demo).await.is_empty());
}
