//! Collections under `/management/collections`: generic CRUD with translatable titles and a
//! handle unique per shop, manual lists in order, automatic rules validated with pointers,
//! events through the outbox, and no way into another shop's collections or products.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use http::{Method, StatusCode};
use kassa_testkit::{ProductBuilder, TestApp, problem_errors};
use serde_json::{Value, json};
use sqlx::PgPool;

const COLLECTIONS: &str = "/management/collections";

fn ids(collection: &Value) -> Vec<&str> {
    collection["product_ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect()
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn an_editor_creates_orders_updates_and_deletes_a_manual_collection_and_each_write_is_an_event(
    pool: PgPool,
) {
    let (app, issuer, demo, _) = TestApp::with_two_shops(pool, kassa_products::router).await;
    let editor = app.staff(&issuer, &demo, "editor");
    let mug = ProductBuilder::new("mug").create(&app, &demo).await.product.id.to_string();
    let cup = ProductBuilder::new("cup").create(&app, &demo).await.product.id.to_string();

    let created = editor
        .post(
            COLLECTIONS,
            &json!({"handle": "featured", "title": {"en": "Featured", "nl": "Uitgelicht"}, "kind": "manual",
                    "sort": "manual"}),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!((created["kind"].as_str(), created["sort"].as_str()), (Some("manual"), Some("manual")));
    assert_eq!(created["rules"], json!({}));
    let uri = format!("{COLLECTIONS}/{}", created["id"].as_str().unwrap());
    let products = format!("{uri}/products");

    let set = editor
        .call(Method::PUT, &products, Some(&json!({"product_ids": [cup, mug]})), &[])
        .await
        .expect(StatusCode::OK);
    assert_eq!(ids(&set), [cup.as_str(), mug.as_str()]);
    assert_eq!(set["version"], 2);
    let reordered = editor
        .call(Method::PUT, &products, Some(&json!({"product_ids": [mug, cup]})), &[])
        .await
        .expect(StatusCode::OK);
    assert_eq!(ids(&reordered), [mug.as_str(), cup.as_str()]);
    assert_eq!(ids(&editor.get(&uri).await.expect(StatusCode::OK)), [mug.as_str(), cup.as_str()]);

    let patched =
        editor.patch(&uri, &json!({"title": {"en": "Our picks"}}), Some(3)).await.expect(StatusCode::OK);
    assert_eq!(patched["title"], json!({"en": "Our picks", "nl": "Uitgelicht"}));
    assert_eq!(ids(&patched), [mug.as_str(), cup.as_str()], "a patch keeps the list");
    let listed = editor.get(COLLECTIONS).await.expect(StatusCode::OK);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    // Deleting a product takes it out of the list.
    editor.delete(&format!("/management/products/{cup}")).await.expect(StatusCode::OK);
    assert_eq!(ids(&editor.get(&uri).await.expect(StatusCode::OK)), [mug.as_str()]);

    assert_eq!(editor.delete(&uri).await.status, StatusCode::NO_CONTENT);
    editor.get(&uri).await.problem(StatusCode::NOT_FOUND, "not_found");
    let events: Vec<String> = app
        .outbox(&demo)
        .await
        .into_iter()
        .map(|(t, _, _)| t)
        .filter(|t| t.starts_with("collection."))
        .collect();
    assert_eq!(
        events,
        [
            "collection.created",
            "collection.updated",
            "collection.updated",
            "collection.updated",
            "collection.deleted"
        ]
    );
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn invalid_collections_and_lists_are_refused_with_a_pointer_per_problem(pool: PgPool) {
    let (app, issuer, demo, other) = TestApp::with_two_shops(pool, kassa_products::router).await;
    let editor = app.staff(&issuer, &demo, "editor");
    let problem = editor
        .post(
            COLLECTIONS,
            &json!({"handle": "Bad Handle", "title": {"nl": "Zomer", "fr": "Été"}, "kind": "automatic",
                    "rules": {"tags": ["summer", "Summer Sale"], "price": {"currency": "EUR", "min": 900, "max": 100}}}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(
        problem_errors(&problem, "pointer"),
        ["/handle", "/title/en", "/title/fr", "/rules/tags/1", "/rules/price/max"]
    );
    let problem = editor
        .post(COLLECTIONS, &json!({"handle": "x", "title": {"en": "X"}, "kind": "automatic", "rules": {}}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem_errors(&problem, "pointer"), ["/rules"]);
    let problem = editor
        .post(
            COLLECTIONS,
            &json!({"handle": "x", "title": {"en": "X"}, "kind": "manual", "rules": {"color": "red"}}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    assert_eq!(problem_errors(&problem, "pointer"), ["/rules/color"]);

    let summer = json!({"handle": "summer", "title": {"en": "Summer"}, "kind": "automatic", "rules": {"tags": ["summer"]}});
    let automatic = editor.post(COLLECTIONS, &summer).await.expect(StatusCode::CREATED);
    editor.post(COLLECTIONS, &summer).await.problem(StatusCode::CONFLICT, "handle_taken");
    // Another shop may use the handle.
    let theirs = app.staff(&issuer, &other, "owner");
    let their_collection = theirs.post(COLLECTIONS, &summer).await.expect(StatusCode::CREATED);

    // An automatic collection's products follow its rules.
    let mug = ProductBuilder::new("mug").create(&app, &demo).await.product.id;
    let uri = format!("{COLLECTIONS}/{}/products", automatic["id"].as_str().unwrap());
    let problem = editor
        .call(Method::PUT, &uri, Some(&json!({"product_ids": [mug]})), &[])
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem_errors(&problem, "code"), ["automatic_collection"]);

    // A manual list of unknown, repeated and other shops' products.
    let manual = editor
        .post(COLLECTIONS, &json!({"handle": "picks", "title": {"en": "Picks"}, "kind": "manual"}))
        .await
        .expect(StatusCode::CREATED);
    let theirs_product = ProductBuilder::new("their-mug").create(&app, &other).await.product.id;
    let uri = format!("{COLLECTIONS}/{}/products", manual["id"].as_str().unwrap());
    let problem = editor
        .call(Method::PUT, &uri, Some(&json!({"product_ids": [mug, theirs_product, mug]})), &[])
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem_errors(&problem, "pointer"), ["/product_ids/2"]);
    let problem = editor
        .call(Method::PUT, &uri, Some(&json!({"product_ids": [mug, theirs_product]})), &[])
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem_errors(&problem, "pointer"), ["/product_ids/1"]);

    // Another shop's collection is not found, read or written.
    let their_uri = format!("{COLLECTIONS}/{}", their_collection["id"].as_str().unwrap());
    editor.get(&their_uri).await.problem(StatusCode::NOT_FOUND, "not_found");
    editor.delete(&their_uri).await.problem(StatusCode::NOT_FOUND, "not_found");
    editor
        .call(Method::PUT, &format!("{their_uri}/products"), Some(&json!({"product_ids": []})), &[])
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    // Readers read, and only writers write.
    let viewer = app.staff(&issuer, &demo, "viewer");
    assert_eq!(viewer.get(COLLECTIONS).await.expect(StatusCode::OK)["items"].as_array().unwrap().len(), 2);
    viewer.post(COLLECTIONS, &summer).await.problem(StatusCode::FORBIDDEN, "insufficient_role");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn products_carry_validated_tags(pool: PgPool) {
    let (app, issuer, demo, _) = TestApp::with_two_shops(pool, kassa_products::router).await;
    let editor = app.staff(&issuer, &demo, "editor");
    let product = editor
        .post(
            "/management/products",
            &json!({"handle": "mug", "title": {"en": "Mug"}, "tags": ["summer", "sale"]}),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(product["tags"], json!(["summer", "sale"]));
    let problem = editor
        .post(
            "/management/products",
            &json!({"handle": "cup", "title": {"en": "Cup"}, "tags": ["ok", "Not ok", "ok", "x".repeat(51)]}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem_errors(&problem, "pointer"), ["/tags/1", "/tags/2", "/tags/3"]);
    let uri = format!("/management/products/{}", product["id"].as_str().unwrap());
    let patched = editor.patch(&uri, &json!({"tags": ["winter"]}), None).await.expect(StatusCode::OK);
    assert_eq!(patched["tags"], json!(["winter"]));
}
