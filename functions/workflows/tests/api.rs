//! The workflows function over HTTP: workflows as data (with the default "On order placed"),
//! the step-type registry, manual orders, tax rates and runs, with problem+json refusals
//! that change nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use http::StatusCode;
use kassa_domain::products::ProductStatus;
use kassa_domain::tenant::Tenant;
use kassa_testkit::{Issuer, ProductBuilder, StaffClient, TestApp, VariantBuilder, problem_errors};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

async fn app(pool: PgPool) -> (TestApp, Issuer, Tenant, Tenant) {
    TestApp::with_two_shops(pool, kassa_workflows::router).await
}

/// POSTs `body` and expects a 422 validation problem.
async fn refused(client: &StaffClient<'_>, uri: &str, body: &Value) -> Value {
    client.post(uri, body).await.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
}

/// One field of every error of a validation problem.
/// "Product MUG-1", active, selling MUG-1 at €12.50 with 9 in stock.
fn mug() -> ProductBuilder {
    ProductBuilder::selling(VariantBuilder::new("MUG-1").price(1_250).stock(9))
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn every_new_shop_has_on_order_placed_triggered_by_order_placed(pool: PgPool) {
    let (app, issuer, demo, _) = app(pool).await;
    let viewer = app.staff(&issuer, &demo, "viewer");
    let page = viewer.get("/management/workflows").await.expect(StatusCode::OK);
    let [workflow] = page["items"].as_array().unwrap().clone().try_into().unwrap();
    assert_eq!(workflow["name"], "On order placed");
    assert_eq!(workflow["trigger"], "order.placed");
    let steps: Vec<&str> =
        workflow["steps"].as_array().unwrap().iter().map(|s| s["type"].as_str().unwrap()).collect();
    assert_eq!(steps, ["deduct_stock", "calculate_taxes", "send_email"]);

    let types = viewer.get("/management/workflow-step-types").await.expect(StatusCode::OK);
    let names: Vec<&str> =
        types["items"].as_array().unwrap().iter().map(|t| t["type"].as_str().unwrap()).collect();
    assert_eq!(names, ["deduct_stock", "calculate_taxes", "send_email", "http_request", "set_order_status"]);
    let http = &types["items"][3]["config_schema"];
    assert_eq!(http["required"], json!(["url", "secret"]));
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_workflow_with_bad_steps_is_refused_at_every_pointer_and_nothing_is_written(pool: PgPool) {
    let (app, issuer, demo, _) = app(pool).await;
    let owner = app.staff(&issuer, &demo, "owner");
    let before = app.outbox(&demo).await.len();
    let bad = json!({
        "name": "Webhook", "trigger": "order placed",
        "conditions": [{"pointer": "total_amount", "op": "gt", "value": "a lot"}],
        "steps": [
            {"type": "http_request", "config": {"url": "https://erp.example/hook", "secret": "short"}},
            {"type": "set_order_status", "config": {"status": "shipped"}},
            {"type": "teleport"},
        ],
    });
    let problem = refused(&owner, "/management/workflows", &bad).await;
    let pointers = problem_errors(&problem, "pointer");
    assert_eq!(
        pointers,
        [
            "/trigger",
            "/conditions/0/pointer",
            "/conditions/0/value",
            "/steps/0/config",
            "/steps/1/config",
            "/steps/2/type"
        ]
    );
    assert_eq!(app.outbox(&demo).await.len(), before);

    let good = json!({
        "name": "Webhook", "trigger": "order.placed",
        "conditions": [{"pointer": "/total_amount", "op": "gt", "value": 10000}],
        "steps": [{"type": "http_request", "config": {"url": "https://erp.example/hook", "secret": "0123456789abcdef"}}],
    });
    let created = owner.post("/management/workflows", &good).await.expect(StatusCode::CREATED);
    assert_eq!(created["steps"][0]["max_attempts"], 5);
    assert_eq!(created["steps"][0]["config"]["timeout_ms"], Value::Null, "stored as written");
    let events: Vec<String> = app.outbox(&demo).await.into_iter().map(|(t, _, _)| t).collect();
    assert_eq!(events.last().unwrap(), "workflow.created");
    // An editor may read workflows but not change them.
    let editor = app.staff(&issuer, &demo, "editor");
    editor.post("/management/workflows", &good).await.problem(StatusCode::FORBIDDEN, "insufficient_role");
    owner.post("/management/workflows", &good).await.problem(StatusCode::CONFLICT, "name_taken");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn staff_place_an_order_priced_from_the_catalog_and_it_emits_order_placed(pool: PgPool) {
    let (app, issuer, demo, other) = app(pool).await;
    let variant = mug().create(&app, &demo).await.variant().id;
    let owner = app.staff(&issuer, &demo, "owner");
    let draft = json!({"customer_email": "anna@example.com", "shipping_country": "NL",
                       "lines": [{"variant_id": variant, "quantity": 2}]});
    let response = owner.post("/management/orders", &draft).await;
    let order = response.expect(StatusCode::CREATED);
    assert_eq!(
        response.header("location"),
        Some(format!("/management/orders/{}", order["id"].as_str().unwrap()).as_str())
    );
    assert_eq!(order["number"], 1);
    assert_eq!(order["status"], "placed");
    assert_eq!(order["currency"], "EUR");
    assert_eq!(
        (order["subtotal_amount"].as_i64(), order["total_amount"].as_i64()),
        (Some(2_500), Some(2_500))
    );
    assert_eq!(order["tax_amount"], Value::Null);
    assert_eq!(order["lines"][0]["sku"], "MUG-1");
    assert_eq!(order["lines"][0]["title"], "Product MUG-1");
    assert_eq!(order["lines"][0]["tax_class"], "standard");
    let second = owner.post("/management/orders", &draft).await.expect(StatusCode::CREATED);
    assert_eq!(second["number"], 2);

    let (event_type, aggregate, payload) =
        app.outbox(&demo).await.into_iter().find(|(t, _, _)| t == "order.placed").unwrap();
    assert_eq!(
        (event_type.as_str(), aggregate.to_string()),
        ("order.placed", order["id"].as_str().unwrap().to_owned())
    );
    assert_eq!(payload["data"]["lines"][0]["quantity"], 2);

    let listed = owner.get("/management/orders?status=placed&limit=1").await.expect(StatusCode::OK);
    assert_eq!(listed["items"][0]["number"], 2, "newest first");
    let next = listed["next_cursor"].as_str().unwrap();
    let rest = owner
        .get(&format!("/management/orders?status=placed&limit=1&cursor={next}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(rest["items"][0]["number"], 1);
    owner.get("/management/orders?status=lost").await.problem(StatusCode::BAD_REQUEST, "invalid_status");

    // Another shop sees none of it; a viewer cannot place orders.
    let stranger = app.staff(&issuer, &other, "owner");
    stranger
        .get(&format!("/management/orders/{}", order["id"].as_str().unwrap()))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    let viewer = app.staff(&issuer, &demo, "viewer");
    viewer.post("/management/orders", &draft).await.problem(StatusCode::FORBIDDEN, "insufficient_role");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn an_order_that_cannot_be_priced_is_refused_line_by_line_and_nothing_is_written(pool: PgPool) {
    let (app, issuer, demo, other) = app(pool).await;
    let draft_product = mug().status(ProductStatus::Draft).create(&app, &demo).await.variant().id;
    let foreign = mug().create(&app, &other).await.variant().id;
    let owner = app.staff(&issuer, &demo, "owner");
    let before = app.outbox(&demo).await.len();
    let bad = json!({"customer_email": "anna", "shipping_country": "nl", "currency": "USD",
                     "lines": [{"variant_id": draft_product, "quantity": 0},
                               {"variant_id": foreign, "quantity": 1},
                               {"variant_id": foreign, "quantity": 1}]});
    let problem = refused(&owner, "/management/orders", &bad).await;
    let pointers = problem_errors(&problem, "pointer");
    assert_eq!(
        pointers,
        ["/customer_email", "/shipping_country", "/lines/0/quantity", "/lines/2/variant_id"]
    );
    let priced = json!({"customer_email": "anna@example.com", "shipping_country": "NL", "currency": "USD",
                        "lines": [{"variant_id": draft_product, "quantity": 1}, {"variant_id": foreign, "quantity": 1}]});
    let problem = refused(&owner, "/management/orders", &priced).await;
    assert_eq!(problem_errors(&problem, "code"), ["not_for_sale", "unknown_variant"]);
    let cup = ProductBuilder::selling(VariantBuilder::new("CUP-1").price(700).untracked());
    let cup = cup.create(&app, &demo).await.variant().id;
    let euros = json!({"customer_email": "anna@example.com", "shipping_country": "NL", "currency": "USD",
                       "lines": [{"variant_id": cup, "quantity": 1}]});
    let problem = refused(&owner, "/management/orders", &euros).await;
    assert_eq!(problem_errors(&problem, "code"), ["currency_mismatch"]);
    assert_eq!(app.outbox(&demo).await.len(), before + 2, "only the fixture's product and variant events");
    let count: i64 = sqlx::query_scalar("select count(*) from orders").fetch_one(&app.owner).await.unwrap();
    assert_eq!(count, 0);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn tax_rates_are_unique_per_country_and_class_and_runs_can_be_listed_and_retried_only_when_failed(
    pool: PgPool,
) {
    let (app, issuer, demo, _) = app(pool).await;
    let owner = app.staff(&issuer, &demo, "owner");
    let rate = json!({"country": "NL", "tax_class": "standard", "rate_bp": 2100});
    owner.post("/management/tax-rates", &rate).await.expect(StatusCode::CREATED);
    owner.post("/management/tax-rates", &rate).await.problem(StatusCode::CONFLICT, "tax_rate_exists");
    let bad = json!({"country": "Netherlands", "tax_class": "Standard!", "rate_bp": 20000});
    let problem = refused(&owner, "/management/tax-rates", &bad).await;
    assert_eq!(problem_errors(&problem, "pointer"), ["/country", "/tax_class", "/rate_bp"]);

    // A run, as the engine would have started it.
    let variant = mug().create(&app, &demo).await.variant().id;
    let order = owner
        .post(
            "/management/orders",
            &json!({"customer_email": "a@b.nl", "shipping_country": "NL",
                                            "lines": [{"variant_id": variant, "quantity": 1}]}),
        )
        .await
        .expect(StatusCode::CREATED);
    let mut tx = kassa_domain::db::begin_tenant_tx(&app.state.db, demo.id).await.unwrap();
    let event = json!({"source": "kassa/order", "subject": order["id"]});
    let runs =
        kassa_domain::workflows::start_runs(&mut tx, demo.id, Uuid::now_v7(), "order.placed", &event, &event)
            .await
            .unwrap();
    tx.commit().await.unwrap();
    let run = runs[0];
    let page = owner.get("/management/workflow-runs?status=running").await.expect(StatusCode::OK);
    assert_eq!(page["items"][0]["id"], run.to_string());
    assert_eq!(
        owner.get("/management/workflow-runs?status=failed").await.expect(StatusCode::OK)["items"],
        json!([])
    );
    let detail = owner.get(&format!("/management/workflow-runs/{run}")).await.expect(StatusCode::OK);
    let steps: Vec<&str> =
        detail["steps"].as_array().unwrap().iter().map(|s| s["status"].as_str().unwrap()).collect();
    assert_eq!(steps, ["pending", "pending", "pending"]);
    owner
        .post(&format!("/management/workflow-runs/{run}/retry"), &json!({}))
        .await
        .problem(StatusCode::CONFLICT, "run_not_retryable");
    owner
        .post(&format!("/management/workflow-runs/{}/retry", Uuid::now_v7()), &json!({}))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    owner
        .get("/management/workflow-runs?workflow_id=nope")
        .await
        .problem(StatusCode::BAD_REQUEST, "invalid_workflow_id");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn an_order_sent_twice_with_one_idempotency_key_is_placed_once(pool: PgPool) {
    let (app, issuer, demo, _) = app(pool).await;
    let variant = mug().create(&app, &demo).await.variant().id;
    let owner = app.staff(&issuer, &demo, "owner");
    let draft = json!({"customer_email": "anna@example.com", "shipping_country": "NL",
                       "lines": [{"variant_id": variant, "quantity": 1}]});
    let key = [("idempotency-key", "checkout-7f3a")];
    let first = owner.call(http::Method::POST, "/management/orders", Some(&draft), &key).await;
    let placed = first.expect(StatusCode::CREATED);
    assert_eq!(first.header("idempotent-replayed"), None);

    // The client retries (a timeout, a double click), also concurrently: one order.
    let retries = futures_util::future::join_all(
        (0..5).map(|_| owner.call(http::Method::POST, "/management/orders", Some(&draft), &key)),
    )
    .await;
    for retry in &retries {
        assert_eq!(retry.expect(StatusCode::CREATED)["id"], placed["id"]);
        assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    }
    let count: i64 = sqlx::query_scalar("select count(*) from orders").fetch_one(&app.owner).await.unwrap();
    assert_eq!(count, 1);
    let placed_events = app.outbox(&demo).await.into_iter().filter(|(t, _, _)| t == "order.placed").count();
    assert_eq!(placed_events, 1);

    // The same key for another request is refused; a bad key is a 400.
    let other = json!({"customer_email": "bert@example.com", "shipping_country": "NL",
                       "lines": [{"variant_id": variant, "quantity": 1}]});
    owner
        .call(http::Method::POST, "/management/orders", Some(&other), &key)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
    owner
        .call(http::Method::POST, "/management/orders", Some(&draft), &[("idempotency-key", "")])
        .await
        .problem(StatusCode::BAD_REQUEST, "invalid_idempotency_key");
    // Without a key every request is an order of its own.
    owner.post("/management/orders", &draft).await.expect(StatusCode::CREATED);
    let count: i64 = sqlx::query_scalar("select count(*) from orders").fetch_one(&app.owner).await.unwrap();
    assert_eq!(count, 2);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn webhook_secrets_are_never_shown_and_survive_updates_that_send_them_back_redacted(pool: PgPool) {
    let (app, issuer, demo, _) = app(pool).await;
    let owner = app.staff(&issuer, &demo, "owner");
    let secret = "whsec_really_secret_123";
    let workflow = json!({
        "name": "ERP", "trigger": "order.placed",
        "steps": [{"type": "http_request", "config": {"url": "https://erp.example/hook", "secret": secret}}],
    });
    let created = owner.post("/management/workflows", &workflow).await.expect(StatusCode::CREATED);
    let uri = format!("/management/workflows/{}", created["id"].as_str().unwrap());
    assert_eq!(created["steps"][0]["config"]["secret"], "********");
    let viewer = app.staff(&issuer, &demo, "viewer");
    assert_eq!(viewer.get(&uri).await.expect(StatusCode::OK)["steps"][0]["config"]["secret"], "********");
    let listed = viewer.get("/management/workflows").await.expect(StatusCode::OK);
    assert!(!listed.to_string().contains(secret));
    assert!(!app.outbox(&demo).await.iter().any(|(_, _, payload)| payload.to_string().contains(secret)));
    let steps_stored: Value = sqlx::query_scalar("select steps from workflows where name = 'ERP'")
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert_eq!(steps_stored[0]["config"]["secret"], secret);

    // A patch that leaves the steps alone, and one that sends them back as read: kept.
    owner.patch(&uri, &json!({"name": "ERP orders"}), None).await.expect(StatusCode::OK);
    let read = owner.get(&uri).await.expect(StatusCode::OK);
    let steps = read["steps"].clone();
    owner.patch(&uri, &json!({"steps": steps, "enabled": false}), None).await.expect(StatusCode::OK);
    let steps_now: Value = sqlx::query_scalar("select steps from workflows where name = 'ERP orders'")
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert_eq!(steps_now[0]["config"]["secret"], secret);
    // A new secret replaces it; the redaction where no secret was before is refused.
    let rotated = json!([{"type": "http_request", "config": {"url": "https://erp.example/hook", "secret": "whsec_rotated_4567890"}}]);
    owner.patch(&uri, &json!({"steps": rotated}), None).await.expect(StatusCode::OK);
    let steps_now: Value = sqlx::query_scalar("select steps from workflows where name = 'ERP orders'")
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert_eq!(steps_now[0]["config"]["secret"], "whsec_rotated_4567890");
    let fresh = json!({"name": "Other", "trigger": "order.placed",
                       "steps": [{"type": "http_request", "config": {"url": "https://erp.example/hook", "secret": "********"}}]});
    let problem = refused(&owner, "/management/workflows", &fresh).await;
    assert_eq!(problem_errors(&problem, "pointer"), ["/steps/0/config"]);
}

/// The steps as stored, secrets and all.
async fn stored_steps(app: &TestApp, id: &str) -> Vec<Value> {
    let steps: Value = sqlx::query_scalar("select steps from workflows where id = $1::uuid")
        .bind(id)
        .fetch_one(&app.owner)
        .await
        .unwrap();
    steps.as_array().unwrap().clone()
}

fn webhook(url: &str, secret: &str) -> Value {
    json!({"type": "http_request", "config": {"url": url, "secret": secret}})
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn changing_a_webhook_url_while_sending_back_the_redacted_secret_is_refused(pool: PgPool) {
    let (app, issuer, demo, _) = app(pool).await;
    let owner = app.staff(&issuer, &demo, "owner");
    let secret = "whsec_erp_secret_0123";
    let workflow = json!({"name": "ERP", "trigger": "order.placed",
                          "steps": [{"type": "deduct_stock"}, webhook("https://erp.example/hook", secret)]});
    let created = owner.post("/management/workflows", &workflow).await.expect(StatusCode::CREATED);
    let id = created["id"].as_str().unwrap().to_owned();
    let uri = format!("/management/workflows/{id}");
    let read = owner.get(&uri).await.expect(StatusCode::OK);
    let step_id = read["steps"][1]["id"].as_str().unwrap().to_owned();
    Uuid::parse_str(&step_id).unwrap();
    assert_eq!(read["steps"][1]["config"]["secret"], "********");
    let before = app.outbox(&demo).await.len();

    // The attack: the same step (its id sent back) pointed at another receiver, keeping the
    // redacted secret, would have the receiver get deliveries signed with the old secret.
    let mut steps = read["steps"].clone();
    steps[1]["config"]["url"] = json!("https://attacker.example/collect");
    let problem = owner
        .patch(&uri, &json!({"steps": steps}), None)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem_errors(&problem, "pointer"), ["/steps/1/config/secret"]);
    assert_eq!(problem_errors(&problem, "code"), ["secret_required"]);
    assert!(!problem.to_string().contains(secret));
    // Without the secret at all, or as a step of its own (no id) at the old position: refused too.
    steps[1]["config"].as_object_mut().unwrap().remove("secret");
    let problem = owner
        .patch(&uri, &json!({"steps": steps}), None)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem_errors(&problem, "pointer"), ["/steps/1/config/secret"]);
    let positional =
        json!([{"type": "deduct_stock"}, webhook("https://attacker.example/collect", "********")]);
    let problem = owner
        .patch(&uri, &json!({"steps": positional}), None)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem_errors(&problem, "pointer"), ["/steps/1/config/secret"]);
    // Another id sent back with the redaction (the webhook's URL, a stranger's id): refused.
    let mut stolen = read["steps"].clone();
    stolen[1]["id"] = json!(Uuid::now_v7());
    owner
        .patch(&uri, &json!({"steps": stolen}), None)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // Nothing changed, nothing was announced.
    let stored = stored_steps(&app, &id).await;
    assert_eq!(stored[1]["config"]["url"], "https://erp.example/hook");
    assert_eq!(stored[1]["config"]["secret"], secret);
    assert_eq!(stored[1]["id"], step_id.as_str());
    assert_eq!(app.outbox(&demo).await.len(), before);

    // A new URL with a new secret is fine, and keeps the step's id.
    steps[1]["config"]["secret"] = json!("whsec_new_receiver_456");
    let updated = owner.patch(&uri, &json!({"steps": steps}), None).await.expect(StatusCode::OK);
    assert_eq!(updated["steps"][1]["id"], step_id.as_str());
    let stored = stored_steps(&app, &id).await;
    assert_eq!(stored[1]["config"]["url"], "https://attacker.example/collect");
    assert_eq!(stored[1]["config"]["secret"], "whsec_new_receiver_456");
    // Two steps may not share an id.
    let mut twins = updated["steps"].clone();
    twins[0]["id"] = twins[1]["id"].clone();
    let problem = owner
        .patch(&uri, &json!({"steps": twins}), None)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem_errors(&problem, "pointer"), ["/steps/1/id"]);
    assert_eq!(problem_errors(&problem, "code"), ["duplicate_step_id"]);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn reordering_steps_keeps_each_webhook_secret_with_its_own_step(pool: PgPool) {
    let (app, issuer, demo, _) = app(pool).await;
    let owner = app.staff(&issuer, &demo, "owner");
    let workflow = json!({"name": "Fan out", "trigger": "order.placed", "steps": [
        webhook("https://erp.example/hook", "whsec_erp_0123456789"),
        {"type": "deduct_stock"},
        webhook("https://crm.example/hook", "whsec_crm_0123456789"),
    ]});
    let created = owner.post("/management/workflows", &workflow).await.expect(StatusCode::CREATED);
    let id = created["id"].as_str().unwrap().to_owned();
    let uri = format!("/management/workflows/{id}");
    let ids: Vec<&str> =
        created["steps"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids.iter().collect::<std::collections::HashSet<_>>().len(), 3, "{ids:?}");

    // Reversed as read back: each secret moves with its step.
    let mut reversed = created["steps"].as_array().unwrap().clone();
    reversed.reverse();
    let updated = owner.patch(&uri, &json!({"steps": reversed}), None).await.expect(StatusCode::OK);
    let now: Vec<&str> =
        updated["steps"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(now, [ids[2], ids[1], ids[0]]);
    let stored = stored_steps(&app, &id).await;
    assert_eq!(stored[0]["config"]["url"], "https://crm.example/hook");
    assert_eq!(stored[0]["config"]["secret"], "whsec_crm_0123456789");
    assert_eq!(stored[2]["config"]["url"], "https://erp.example/hook");
    assert_eq!(stored[2]["config"]["secret"], "whsec_erp_0123456789");

    // Swapping the URLs between the two webhook steps (the ids where they were) would hand
    // each receiver the other's secret: refused at both.
    let mut swapped = updated["steps"].as_array().unwrap().clone();
    swapped[0]["config"]["url"] = json!("https://erp.example/hook");
    swapped[2]["config"]["url"] = json!("https://crm.example/hook");
    let problem = owner
        .patch(&uri, &json!({"steps": swapped}), None)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem_errors(&problem, "pointer"), ["/steps/0/config/secret", "/steps/2/config/secret"]);
    assert_eq!(stored_steps(&app, &id).await, stored);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn workflows_stored_before_steps_had_ids_get_ids_and_keep_their_webhook_secrets(pool: PgPool) {
    let (app, issuer, demo, _) = app(pool).await;
    let owner = app.staff(&issuer, &demo, "owner");
    let workflow = json!({"name": "Old", "trigger": "order.placed",
                          "steps": [{"type": "deduct_stock"}, webhook("https://erp.example/hook", "whsec_old_0123456789")]});
    let created = owner.post("/management/workflows", &workflow).await.expect(StatusCode::CREATED);
    let id = created["id"].as_str().unwrap().to_owned();
    // As stored before steps had ids (the default workflow too); then the migration.
    sqlx::query("update workflows set steps = (select jsonb_agg(s - 'id' order by n) from jsonb_array_elements(steps) with ordinality e(s, n))")
        .execute(&app.owner)
        .await
        .unwrap();
    assert!(stored_steps(&app, &id).await.iter().all(|s| s.get("id").is_none()));
    sqlx::raw_sql(include_str!("../../../migrations/20261129000002_workflow_step_ids.sql"))
        .execute(&app.owner)
        .await
        .unwrap();

    let page = owner.get("/management/workflows").await.expect(StatusCode::OK);
    for workflow in page["items"].as_array().unwrap() {
        for step in workflow["steps"].as_array().unwrap() {
            Uuid::parse_str(step["id"].as_str().unwrap()).unwrap();
        }
    }
    let uri = format!("/management/workflows/{id}");
    let read = owner.get(&uri).await.expect(StatusCode::OK);
    assert_eq!(read["version"], 1, "adding ids changes no workflow");
    owner.patch(&uri, &json!({"steps": read["steps"], "name": "Old ERP"}), None).await.expect(StatusCode::OK);
    let stored = stored_steps(&app, &id).await;
    assert_eq!(stored[1]["config"]["secret"], "whsec_old_0123456789");
    assert_eq!(stored[1]["id"], read["steps"][1]["id"]);
}

#[test]
fn the_openapi_document_gives_steps_an_optional_uuid_id() {
    let doc = kassa_http::openapi::document(&[kassa_workflows::routes()], "Kassa", "workflows");
    let doc = serde_json::to_value(doc).unwrap();
    let step = &doc["components"]["schemas"]["Step"];
    // One alternative per step type, each with the same optional id.
    let alternatives = step["oneOf"].as_array().unwrap();
    assert_eq!(alternatives.len(), kassa_domain::workflows::StepKind::TYPES.len(), "{step}");
    for alternative in alternatives {
        assert_eq!(alternative["properties"]["id"]["format"], "uuid", "{alternative}");
        assert!(!alternative["required"].as_array().unwrap().contains(&json!("id")), "{alternative}");
    }
}
