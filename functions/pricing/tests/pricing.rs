//! Customer groups, subscription plans, price lists and bulk price upserts.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use http::StatusCode;
use kassa_domain::tenant::Tenant;
use kassa_testkit::{Issuer, ProductBuilder, StaffClient, TestApp, VariantBuilder, problem_errors};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

async fn app(pool: PgPool) -> (TestApp, Issuer, Tenant, Tenant) {
    TestApp::with_two_shops(pool, kassa_pricing::router).await
}

async fn id_of(response: kassa_testkit::TestResponse) -> String {
    response.expect(StatusCode::CREATED)["id"].as_str().unwrap().to_owned()
}

/// Variants to price, made through the domain (the products function is tested on its own).
async fn variants_of(app: &TestApp, tenant: &Tenant, count: usize) -> Vec<Uuid> {
    let mug = (0..count).fold(ProductBuilder::new("mug").title("Mug"), |mug, n| {
        mug.variant(VariantBuilder::new(&format!("{}-{n}", tenant.handle)).price(1000))
    });
    mug.create(app, tenant).await.variants.iter().map(|v| v.id).collect()
}

async fn wholesale_list(editor: &StaffClient<'_>) -> (String, String) {
    let group = id_of(
        editor
            .post("/management/customer-groups", &json!({"handle": "wholesale", "name": "Wholesale"}))
            .await,
    )
    .await;
    let list =
        json!({"name": "Wholesale 2026", "customer_group_id": group, "currency": "EUR", "priority": 5});
    (group.clone(), id_of(editor.post("/management/price-lists", &list).await).await)
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn customer_groups_have_full_crud_with_unique_handles(pool: PgPool) {
    let (app, issuer, demo, _) = app(pool).await;
    let editor = app.staff(&issuer, &demo, "editor");
    let created = editor.post("/management/customer-groups", &json!({"handle": "vip", "name": "VIP"})).await;
    assert_eq!(created.header("etag"), Some("\"1\""));
    let group = created.expect(StatusCode::CREATED);
    let uri = format!("/management/customer-groups/{}", group["id"].as_str().unwrap());
    assert_eq!(created.header("location"), Some(uri.as_str()));
    editor
        .post("/management/customer-groups", &json!({"handle": "vip", "name": "Other"}))
        .await
        .problem(StatusCode::CONFLICT, "handle_taken");
    let problem = editor
        .post("/management/customer-groups", &json!({"handle": "Not OK", "name": ""}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem["errors"].as_array().unwrap().len(), 2);

    assert_eq!(
        editor.patch(&uri, &json!({"name": "Very important"}), Some(1)).await.expect(StatusCode::OK)["name"],
        "Very important"
    );
    editor
        .patch(&uri, &json!({"name": "Late"}), Some(1))
        .await
        .problem(StatusCode::PRECONDITION_FAILED, "version_conflict");
    let page = editor.get("/management/customer-groups").await.expect(StatusCode::OK);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["next_cursor"], Value::Null);
    assert_eq!(editor.delete(&uri).await.status, StatusCode::NO_CONTENT);
    editor.get(&uri).await.problem(StatusCode::NOT_FOUND, "not_found");
    let types: Vec<String> = app.outbox(&demo).await.into_iter().map(|e| e.0).collect();
    assert_eq!(types, ["customer_group.created", "customer_group.updated", "customer_group.deleted"]);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn subscription_plans_are_validated_and_cannot_be_deleted_while_products_use_them(pool: PgPool) {
    let (app, issuer, demo, _) = app(pool).await;
    let editor = app.staff(&issuer, &demo, "editor");
    let problem = editor
        .post(
            "/management/subscription-plans",
            &json!({"name": "Bad", "interval": "month", "interval_count": 0, "trial_days": -1}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem["errors"].as_array().unwrap().len(), 2);
    editor
        .post("/management/subscription-plans", &json!({"name": "Bad", "interval": "fortnight"}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");

    let plan = editor
        .post(
            "/management/subscription-plans",
            &json!({"name": "Monthly coffee", "interval": "month", "trial_days": 14}),
        )
        .await;
    let plan = plan.expect(StatusCode::CREATED);
    assert_eq!(
        (plan["interval"].clone(), plan["interval_count"].clone(), plan["trial_days"].clone()),
        (json!("month"), json!(1), json!(14))
    );
    let id: Uuid = plan["id"].as_str().unwrap().parse().unwrap();
    ProductBuilder::new("coffee").title("Coffee").subscription_plan(id).create(&app, &demo).await;
    editor
        .delete(&format!("/management/subscription-plans/{id}"))
        .await
        .problem(StatusCode::CONFLICT, "in_use");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn price_lists_refer_only_to_this_shops_customer_groups(pool: PgPool) {
    let (app, issuer, demo, other) = app(pool).await;
    let editor = app.staff(&issuer, &demo, "editor");
    let theirs = id_of(
        app.staff(&issuer, &other, "owner")
            .post("/management/customer-groups", &json!({"handle": "b2b", "name": "B2B"}))
            .await,
    )
    .await;
    let list = json!({"name": "Sneaky", "customer_group_id": theirs, "currency": "EUR"});
    let problem = editor
        .post("/management/price-lists", &list)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem["errors"][0]["pointer"], "/customer_group_id");

    let (group, list_id) = wholesale_list(&editor).await;
    let window = json!({"name": "W", "customer_group_id": group, "currency": "XXX", "starts_at": "2026-12-01T00:00:00Z", "ends_at": "2026-11-01T00:00:00Z"});
    let problem = editor
        .post("/management/price-lists", &window)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem_errors(&problem, "pointer"), ["/currency", "/ends_at"]);
    // The group is in use now.
    editor
        .delete(&format!("/management/customer-groups/{group}"))
        .await
        .problem(StatusCode::CONFLICT, "in_use");
    let fetched = editor.get(&format!("/management/price-lists/{list_id}")).await.expect(StatusCode::OK);
    assert_eq!((fetched["status"].clone(), fetched["priority"].clone()), (json!("active"), json!(5)));
    app.staff(&issuer, &other, "owner")
        .get(&format!("/management/price-lists/{list_id}"))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn prices_are_upserted_in_bulk_all_or_nothing_with_per_row_errors(pool: PgPool) {
    let (app, issuer, demo, other) = app(pool).await;
    let editor = app.staff(&issuer, &demo, "editor");
    let (_, list) = wholesale_list(&editor).await;
    let ours = variants_of(&app, &demo, 3).await;
    let theirs = variants_of(&app, &other, 1).await;
    let prices = format!("/management/price-lists/{list}/prices");

    let rows = json!({"prices": [
        {"variant_id": ours[0], "amount": 900},
        {"variant_id": ours[0], "amount": 800, "min_quantity": 10},
        {"variant_id": ours[1], "amount": 950},
    ]});
    let result = editor.post(&prices, &rows).await.expect(StatusCode::OK);
    assert_eq!((result["upserted"].clone(), result["version"].clone()), (json!(3), json!(2)));

    let bad = json!({"prices": [
        {"variant_id": ours[2], "amount": 700},
        {"variant_id": theirs[0], "amount": 1},
        {"variant_id": ours[1], "amount": -5, "min_quantity": 0},
        {"variant_id": ours[2], "amount": 650},
    ]});
    let problem =
        editor.post(&prices, &bad).await.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(
        problem_errors(&problem, "pointer"),
        ["/prices/2/amount", "/prices/2/min_quantity", "/prices/3", "/prices/1/variant_id"]
    );

    let too_many: Vec<Value> =
        (0..1001).map(|n| json!({"variant_id": ours[0], "amount": 1, "min_quantity": n + 1})).collect();
    editor
        .post(&prices, &json!({"prices": too_many}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    // Nothing of the refused batches was written: a re-send of the good rows changes none.
    let listed = editor.get(&format!("{prices}?limit=2")).await.expect(StatusCode::OK);
    let mut all = listed["items"].as_array().unwrap().clone();
    let next = editor
        .get(&format!("{prices}?limit=2&cursor={}", listed["next_cursor"].as_str().unwrap()))
        .await
        .expect(StatusCode::OK);
    all.extend(next["items"].as_array().unwrap().iter().cloned());
    assert_eq!(all.len(), 3);
    assert_eq!(next["next_cursor"], Value::Null);
    assert_eq!(editor.post(&prices, &rows).await.expect(StatusCode::OK)["upserted"], 0);

    let tier = format!("{prices}/{}/10", ours[0]);
    assert_eq!(editor.delete(&tier).await.status, StatusCode::NO_CONTENT);
    editor.delete(&tier).await.problem(StatusCode::NOT_FOUND, "not_found");
    let updates = app.outbox(&demo).await.into_iter().filter(|e| e.0 == "price_list.updated").count();
    assert_eq!(updates, 3, "the first upsert, the no-op re-send and the delete; none for refused batches");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn viewers_read_pricing_but_only_editors_change_it_and_other_shops_see_nothing(pool: PgPool) {
    let (app, issuer, demo, other) = app(pool).await;
    let editor = app.staff(&issuer, &demo, "editor");
    let (group, list) = wholesale_list(&editor).await;
    let viewer = app.staff(&issuer, &demo, "viewer");
    assert_eq!(
        viewer.get("/management/price-lists").await.expect(StatusCode::OK)["items"].as_array().unwrap().len(),
        1
    );
    viewer
        .post("/management/customer-groups", &json!({"handle": "x", "name": "X"}))
        .await
        .problem(StatusCode::FORBIDDEN, "insufficient_role");
    viewer
        .patch(&format!("/management/price-lists/{list}"), &json!({"priority": 1}), None)
        .await
        .problem(StatusCode::FORBIDDEN, "insufficient_role");
    viewer
        .delete(&format!("/management/customer-groups/{group}"))
        .await
        .problem(StatusCode::FORBIDDEN, "insufficient_role");

    let stranger = app.staff(&issuer, &other, "owner");
    stranger
        .patch(&format!("/management/customer-groups/{group}"), &json!({"name": "Mine"}), None)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    stranger
        .delete(&format!("/management/price-lists/{list}"))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    stranger
        .get(&format!("/management/price-lists/{list}/prices"))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    assert!(app.outbox(&other).await.is_empty());
    assert_eq!(app.outbox(&demo).await.len(), 2, "the group and the list, nothing from refused calls");
}
