//! The staff's side of customers (list, search, get, groups, block) and what shoppers get
//! from it: group prices, ended sessions. Plus Idempotency-Key on the storefront POSTs and
//! the anonymous cart merged at sign-in.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use axum::Router;
use http::{Method, StatusCode};
use kassa_http::AppState;
use kassa_testkit::{
    CustomerBuilder, CustomerGroupBuilder, PriceListBuilder, ProductBuilder, TestApp, VariantBuilder,
    problem_errors,
};
use serde_json::{Value, json};
use sqlx::PgPool;

fn routes(state: AppState) -> Router {
    kassa_customers::router(state.clone())
        .merge(kassa_storefront::router(state.clone()))
        .merge(kassa_carts::router(state))
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn staff_list_search_and_regroup_customers_and_the_storefront_follows_at_the_next_sign_in(
    pool: PgPool,
) {
    let (app, issuer, demo, other) = TestApp::with_two_shops(pool, routes).await;
    let editor = app.staff(&issuer, &demo, "admin");
    let viewer = app.staff(&issuer, &demo, "viewer");
    for (email, first, last) in [("anna@example.com", "Anna", "Jansen"), ("bob@example.com", "Bob", "Smit")] {
        CustomerBuilder::new(email).name(first, last).create(&app, &demo).await;
    }
    CustomerBuilder::new("carla@example.com").create(&app, &other).await;
    let page = viewer.get("/management/customers?limit=1").await.expect(StatusCode::OK);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let next = viewer
        .get(&format!("/management/customers?limit=1&cursor={}", page["next_cursor"].as_str().unwrap()))
        .await;
    assert_eq!(next.expect(StatusCode::OK)["items"][0]["email"], "bob@example.com");
    let found = viewer.get("/management/customers?q=smit").await.expect(StatusCode::OK);
    let emails: Vec<&str> =
        found["items"].as_array().unwrap().iter().map(|c| c["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["bob@example.com"], "search by name; another shop's customers never show");
    assert_eq!(viewer.get("/management/customers?q=carla").await.expect(StatusCode::OK)["items"], json!([]));

    // Into the wholesale group: the next sign-in prices with it.
    let wholesale = CustomerGroupBuilder::new("wholesale").create(&app, &demo).await;
    let mug = ProductBuilder::new("mug")
        .active()
        .variant(VariantBuilder::new("MUG").price(1000).stock(5))
        .create(&app, &demo)
        .await;
    PriceListBuilder::new("Trade", wholesale.id).price(mug.variant().id, 1, 800).create(&app, &demo).await;
    let bob = found["items"][0]["id"].as_str().unwrap().to_owned();
    let uri = format!("/management/customers/{bob}");
    viewer
        .patch(&uri, &json!({"customer_group_ids": [wholesale.id]}), None)
        .await
        .problem(StatusCode::FORBIDDEN, "insufficient_role");
    let unknown = uuid::Uuid::now_v7();
    let problem = editor
        .patch(&uri, &json!({"customer_group_ids": [wholesale.id, unknown]}), None)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem_errors(&problem, "pointer"), ["/customer_group_ids/1"]);
    assert_eq!(problem_errors(&problem, "code"), ["unknown_customer_group"]);
    let before = editor.get(&uri).await;
    let version = before.expect(StatusCode::OK)["version"].as_i64().unwrap();
    assert_eq!(before.header("etag"), Some(format!("\"{version}\"").as_str()));
    let response = editor.patch(&uri, &json!({"customer_group_ids": [wholesale.id]}), Some(version)).await;
    let changed = response.expect(StatusCode::OK);
    assert_eq!(changed["customer_group_ids"], json!([wholesale.id]));
    assert_eq!(response.header("etag"), Some(format!("\"{}\"", version + 1).as_str()));
    // Based on the version before that change: refused, and nothing changes.
    let stale =
        editor.patch(&uri, &json!({"first_name": "Robert", "customer_group_ids": []}), Some(version)).await;
    assert_eq!(
        stale.problem(StatusCode::PRECONDITION_FAILED, "version_conflict")["current_version"],
        version + 1
    );
    let unchanged = editor.get(&uri).await.expect(StatusCode::OK);
    assert_eq!(
        (&unchanged["first_name"], &unchanged["customer_group_ids"]),
        (&json!("Bob"), &json!([wholesale.id]))
    );
    assert!(
        app.outbox(&demo).await.iter().any(|(t, id, _)| t == "customer.updated" && id.to_string() == bob)
    );

    let signed_in = app
        .call(
            Method::POST,
            "/storefront/customers/sign-in",
            &[("x-tenant-id", "demo")],
            Some(&json!({"email": "bob@example.com", "password": CustomerBuilder::PASSWORD})),
        )
        .await
        .expect(StatusCode::OK);
    let bearer = format!("Bearer {}", signed_in["access_token"].as_str().unwrap());
    let page =
        app.get("/storefront/products/mug", &[("x-tenant-id", "demo"), ("authorization", &bearer)]).await;
    assert_eq!(page.expect(StatusCode::OK)["variants"][0]["price"]["amount"], 800);
    // A customer of another shop is not found here.
    let carla: String =
        sqlx::query_scalar("select id::text from customers where email = 'carla@example.com'")
            .fetch_one(&app.owner)
            .await
            .unwrap();
    editor.get(&format!("/management/customers/{carla}")).await.problem(StatusCode::NOT_FOUND, "not_found");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn blocking_a_customer_ends_their_sessions_and_refuses_sign_in_until_unblocked(pool: PgPool) {
    let (app, issuer, demo, _) = TestApp::with_two_shops(pool, routes).await;
    let admin = app.staff(&issuer, &demo, "admin");
    CustomerBuilder::new("anna@example.com").create(&app, &demo).await;
    let sign_in = async || {
        app.call(
            Method::POST,
            "/storefront/customers/sign-in",
            &[("x-tenant-id", "demo")],
            Some(&json!({"email": "anna@example.com", "password": CustomerBuilder::PASSWORD})),
        )
        .await
    };
    let tokens = sign_in().await.expect(StatusCode::OK);
    let id = tokens["customer"]["id"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {}", tokens["access_token"].as_str().unwrap());
    let me = async || {
        app.get("/storefront/customers/me", &[("x-tenant-id", "demo"), ("authorization", &bearer)]).await
    };
    me().await.expect(StatusCode::OK);

    let blocked =
        admin.post(&format!("/management/customers/{id}/block"), &json!({})).await.expect(StatusCode::OK);
    assert_eq!(blocked["blocked"], true);
    me().await.problem(StatusCode::UNAUTHORIZED, "invalid_token");
    app.call(
        Method::POST,
        "/storefront/customers/token",
        &[("x-tenant-id", "demo")],
        Some(&json!({"refresh_token": tokens["refresh_token"]})),
    )
    .await
    .problem(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
    sign_in().await.problem(StatusCode::FORBIDDEN, "account_blocked");

    admin.post(&format!("/management/customers/{id}/unblock"), &json!({})).await.expect(StatusCode::OK);
    sign_in().await.expect(StatusCode::OK);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_repeated_sign_up_with_one_idempotency_key_runs_once_and_another_body_is_refused(pool: PgPool) {
    let (app, _, _, _) = TestApp::with_two_shops(pool, routes).await;
    let key = format!("signup-{}", uuid::Uuid::now_v7());
    let post = async |body: Value| {
        app.call(
            Method::POST,
            "/storefront/customers",
            &[("x-tenant-id", "demo"), ("idempotency-key", key.as_str())],
            Some(&body),
        )
        .await
    };
    let body = json!({"email": "anna@example.com", "password": "correct horse battery"});
    let first = post(body.clone()).await;
    assert_eq!(first.status, StatusCode::ACCEPTED);
    let again = post(body).await;
    assert_eq!((again.status, again.header("idempotent-replayed")), (StatusCode::ACCEPTED, Some("true")));
    assert_eq!(again.json(), first.json());
    let count: i64 =
        sqlx::query_scalar("select count(*) from customer_codes").fetch_one(&app.owner).await.unwrap();
    assert_eq!(count, 1, "one code issued, not two");
    post(json!({"email": "bob@example.com", "password": "correct horse battery"}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn signing_in_with_an_anonymous_cart_makes_it_the_customers_and_a_wrong_token_merges_nothing(
    pool: PgPool,
) {
    let (app, _, demo, _) = TestApp::with_two_shops(pool, routes).await;
    let mug = ProductBuilder::new("mug")
        .active()
        .variant(VariantBuilder::new("MUG").price(1000).stock(5))
        .create(&app, &demo)
        .await;
    CustomerBuilder::new("anna@example.com").create(&app, &demo).await;
    let created = app
        .call(Method::POST, "/storefront/carts", &[("x-tenant-id", "demo")], Some(&json!({})))
        .await
        .expect(StatusCode::CREATED);
    let (cart, token) = (
        created["cart"]["id"].as_str().unwrap().to_owned(),
        created["cart_token"].as_str().unwrap().to_owned(),
    );
    app.call(
        Method::POST,
        &format!("/storefront/carts/{cart}/lines"),
        &[("x-tenant-id", "demo"), ("cart-token", &token)],
        Some(&json!({"variant_id": mug.variant().id, "quantity": 2})),
    )
    .await
    .expect(StatusCode::OK);
    let sign_in = async |cart_token: &str| {
        app.call(
            Method::POST,
            "/storefront/customers/sign-in",
            &[("x-tenant-id", "demo")],
            Some(&json!({"email": "anna@example.com", "password": CustomerBuilder::PASSWORD,
                         "cart": {"id": cart, "token": cart_token}})),
        )
        .await
        .expect(StatusCode::OK)
    };
    let refused = sign_in("not-the-token").await;
    assert!(refused.get("cart_id").is_none(), "a wrong token merges nothing: {refused}");
    let tokens = sign_in(&token).await;
    let owned = tokens["cart_id"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {}", tokens["access_token"].as_str().unwrap());
    let cart_now = app
        .get(&format!("/storefront/carts/{owned}"), &[("x-tenant-id", "demo"), ("authorization", &bearer)])
        .await;
    assert_eq!(cart_now.expect(StatusCode::OK)["lines"][0]["quantity"], 2);
    // An address-book entry is a cart address as it is: one postal address type.
    let address = json!({"first_name": "Anna", "last_name": "de Vries", "line1": "Damrak 1",
                         "postal_code": "1012 LG", "city": "Amsterdam", "country": "NL"});
    let saved = app
        .call(
            Method::POST,
            "/storefront/customers/me/addresses",
            &[("x-tenant-id", "demo"), ("authorization", &bearer)],
            Some(&address),
        )
        .await
        .expect(StatusCode::CREATED);
    let mut entry = saved.clone();
    for generated in ["id", "created_at", "updated_at"] {
        entry.as_object_mut().unwrap().remove(generated);
    }
    entry.as_object_mut().unwrap().retain(|_, v| !v.is_null());
    let patched = app
        .call(
            Method::PATCH,
            &format!("/storefront/carts/{owned}"),
            &[("x-tenant-id", "demo"), ("authorization", &bearer)],
            Some(&json!({"shipping_address": entry, "shipping_country": "NL"})),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(patched["shipping_address"], address);
    // The customer had no cart: the anonymous one became theirs, and its token opens it no more.
    assert_eq!(owned, cart);
    let old = app
        .get(&format!("/storefront/carts/{cart}"), &[("x-tenant-id", "demo"), ("cart-token", &token)])
        .await;
    old.problem(StatusCode::NOT_FOUND, "not_found");
}
