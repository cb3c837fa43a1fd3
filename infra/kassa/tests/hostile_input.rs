//! Input a hostile or careless client sends to every route at once: forged cursors on every
//! list, and numbers at the edges of their types. Each must be refused with a 4xx problem
//! (or accepted), never answered with a 5xx.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::StatusCode;
use kassa_cli::{local_routes, seed};
use kassa_domain::tenant::Tenant;
use kassa_testkit::{Issuer, StaffClient, TestApp, TestResponse};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use serde_json::{Value, json};
use sqlx::PgPool;

/// Percent-encodes everything but unreserved characters.
fn encode(raw: &[u8]) -> String {
    raw.iter()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (*b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

struct Demo {
    app: TestApp,
    issuer: Issuer,
    demo: Tenant,
}

async fn demo(pool: PgPool) -> Demo {
    let issuer = Issuer::start().await;
    let app = TestApp::with_config(pool, issuer.config(), local_routes);
    let shops = seed::seed_demo(&app.state.db).await.unwrap();
    let demo = shops.into_iter().find(|t| t.handle == "demo").unwrap();
    Demo { app, issuer, demo }
}

impl Demo {
    fn owner(&self) -> StaffClient<'_> {
        self.app.staff(&self.issuer, &self.demo, "owner")
    }

    /// `GET uri`: anonymously on the storefront, as the owner on management routes.
    async fn get(&self, uri: &str) -> TestResponse {
        if uri.starts_with("/storefront") {
            self.app.get(uri, &[("x-tenant-id", "demo")]).await
        } else {
            self.owner().get(uri).await
        }
    }
}

/// A list route's answer to a forged cursor: a 400 problem, never a 5xx.
fn assert_refused_or_served(route: &str, cursor: &str, response: &TestResponse) {
    assert!(
        response.status.as_u16() < 500,
        "{route} with cursor {cursor:?} answered {}: {}",
        response.status,
        String::from_utf8_lossy(&response.body)
    );
    if response.status == StatusCode::BAD_REQUEST {
        let code = response.json()["code"].as_str().unwrap_or_default().to_owned();
        assert!(["invalid_cursor", "invalid_query"].contains(&code.as_str()), "{route}: {code}");
    } else {
        assert_eq!(response.status, StatusCode::OK, "{route} with cursor {cursor:?}");
    }
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn arbitrary_bytes_and_forged_cursors_never_answer_5xx_on_any_list_route(pool: PgPool) {
    let d = demo(pool).await;
    let owner = d.owner();
    // Every list route the management document has (a GET taking `cursor`), with its path
    // parameters filled from the first item of the parent collection.
    let document = owner.get("/management/openapi.json").await.expect(StatusCode::OK);
    let mut routes = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        let takes_cursor = item["get"]["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["name"] == "cursor" && p["in"] == "query"));
        if !takes_cursor {
            continue;
        }
        let mut filled = path.clone();
        while let Some(at) = filled.find("/{") {
            let parent = &filled[..at];
            let first = owner.get(&format!("{parent}?limit=1")).await.expect(StatusCode::OK);
            let id = first["items"][0]["id"].as_str().expect("the demo has one").to_owned();
            let end = at + filled[at..].find('}').unwrap() + 1;
            filled = format!("{parent}/{id}{}", &filled[end..]);
        }
        routes.push(filled);
    }
    assert!(routes.len() >= 9, "list routes found: {routes:?}");
    routes.push("/storefront/products".to_owned());
    routes.push("/storefront/products?sort=price_asc".to_owned());
    routes.push("/storefront/products?sort=title".to_owned());

    let mut runner = TestRunner::deterministic();
    let bytes = proptest::collection::vec(proptest::num::u8::ANY, 0..120);
    let keys = proptest::prop_oneof![
        proptest::string::string_regex("[ -~]{0,40}").unwrap(),
        proptest::string::string_regex("[0-9eE+.:TZ-]{0,30}").unwrap(),
        proptest::string::string_regex("\\PC{0,20}").unwrap(),
    ];
    for route in &routes {
        let join = if route.contains('?') { '&' } else { '?' };
        let get = async |cursor: &str| d.get(&format!("{route}{join}cursor={cursor}")).await;
        // A genuine cursor of this list, to forge its fields.
        let first = d.get(&format!("{route}{join}limit=1")).await.expect(StatusCode::OK);
        let genuine = first["next_cursor"]
            .as_str()
            .map(|c| serde_json::from_slice::<Value>(&URL_SAFE_NO_PAD.decode(c).unwrap()).unwrap());
        for _ in 0..40 {
            let raw = bytes.new_tree(&mut runner).unwrap().current();
            let as_base64 = URL_SAFE_NO_PAD.encode(&raw);
            assert_refused_or_served(route, &as_base64, &get(&as_base64).await);
            let as_text = encode(&raw);
            assert_refused_or_served(route, &as_text, &get(&as_text).await);
            if let Some(genuine) = &genuine {
                let mut forged = genuine.clone();
                let key = keys.new_tree(&mut runner).unwrap().current();
                forged["k"] = json!(key);
                if raw.first().is_some_and(|b| b % 3 == 0) {
                    forged["t"] = json!(uuid::Uuid::now_v7());
                }
                let cursor = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
                assert_refused_or_served(route, &cursor, &get(&cursor).await);
            }
        }
    }
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn stock_pushed_past_the_top_of_its_range_is_a_422_not_a_500(pool: PgPool) {
    let d = demo(pool).await;
    let owner = d.owner();
    let product = owner.get("/management/products?limit=1").await.expect(StatusCode::OK)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let variant = |sku: &str, stock: Value| json!({"sku": sku, "price": {"amount": 100, "currency": "EUR"}, "stock": stock});
    let at_max = owner
        .post(&format!("/management/products/{product}/variants"), &variant("EDGE-MAX", json!(i32::MAX)))
        .await
        .expect(StatusCode::CREATED)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let adjust = |delta: Value| {
        let uri = format!("/management/variants/{at_max}/stock-adjustments");
        let owner = &owner;
        async move { owner.post(&uri, &json!({"delta": delta, "reason": "edge"})).await }
    };
    let over = adjust(json!(1)).await.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(over["errors"][0]["pointer"], "/delta");
    assert_eq!(over["errors"][0]["code"], "stock_out_of_range");
    for delta in [json!(i64::from(i32::MAX) + 1), json!(i64::MAX), json!(i64::MIN), json!(0)] {
        adjust(delta).await.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    // Still exactly at the top, and it can come down.
    let down = adjust(json!(-i64::from(i32::MAX))).await.expect(StatusCode::OK);
    assert_eq!(down["stock"], 0);
    adjust(json!(-1)).await.problem(StatusCode::CONFLICT, "insufficient_stock");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn numbers_at_the_edges_of_their_types_are_refused_or_accepted_never_a_500(pool: PgPool) {
    let d = demo(pool).await;
    let owner = d.owner();
    let product = owner.get("/management/products?limit=1&status=active").await.expect(StatusCode::OK)["items"]
        [0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let variants = format!("/management/products/{product}/variants");
    let a_variant =
        owner.get(&variants).await.expect(StatusCode::OK)["items"][0]["id"].as_str().unwrap().to_owned();
    let price_list =
        owner.get("/management/price-lists?limit=1").await.expect(StatusCode::OK)["items"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let edges: Vec<Value> = vec![
        json!(i64::from(i32::MAX)),
        json!(i64::from(i32::MAX) + 1),
        json!(i64::from(i32::MIN) - 1),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(1e20),
        json!(-1),
        json!(0.5),
    ];
    let mut checked = 0;
    for (n, edge) in edges.iter().enumerate() {
        let bodies = [
            (
                variants.clone(),
                json!({"sku": format!("E-STOCK-{n}"), "price": {"amount": 1, "currency": "EUR"}, "stock": edge}),
            ),
            (
                variants.clone(),
                json!({"sku": format!("E-PRICE-{n}"), "price": {"amount": edge, "currency": "EUR"}}),
            ),
            (
                variants.clone(),
                json!({"sku": format!("E-POS-{n}"), "price": {"amount": 1, "currency": "EUR"}, "position": edge}),
            ),
            (
                "/management/orders".to_owned(),
                json!({"customer_email": "a@example.com", "shipping_country": "NL", "lines": [{"variant_id": a_variant, "quantity": edge}]}),
            ),
            (
                format!("/management/price-lists/{price_list}/prices"),
                json!({"prices": [{"variant_id": a_variant, "amount": edge, "min_quantity": 1}]}),
            ),
            (
                format!("/management/price-lists/{price_list}/prices"),
                json!({"prices": [{"variant_id": a_variant, "amount": 1, "min_quantity": edge}]}),
            ),
            (
                "/management/tax-rates".to_owned(),
                json!({"country": "LU", "tax_class": "standard", "rate_bp": edge}),
            ),
            (
                "/management/price-lists".to_owned(),
                json!({"name": "Edge", "customer_group_id": uuid::Uuid::nil(), "currency": "EUR", "priority": edge}),
            ),
        ];
        for (uri, body) in bodies {
            let response = owner.post(&uri, &body).await;
            assert!(
                response.status.as_u16() < 500,
                "POST {uri} {body} answered {}: {}",
                response.status,
                String::from_utf8_lossy(&response.body)
            );
            checked += 1;
        }
        let raw = match edge {
            Value::Number(n) => n.to_string(),
            _ => unreachable!(),
        };
        for uri in [
            format!("/management/products?limit={raw}"),
            format!("/management/orders?limit={raw}"),
            format!("/management/customer-groups?limit={raw}"),
            format!("/storefront/products?limit={raw}"),
            format!("/storefront/products?price_min={raw}&price_max={raw}"),
        ] {
            let response = d.get(&uri).await;
            assert!(response.status.as_u16() < 500, "GET {uri} answered {}", response.status);
            checked += 1;
        }
    }
    // An order whose total passes the largest amount is refused as such: the largest price
    // times the largest quantity.
    let max = kassa_domain::catalog::MAX_AMOUNT;
    let big = owner
        .post(&variants, &json!({"sku": "E-BIG", "price": {"amount": max, "currency": "EUR"}, "stock": null}))
        .await
        .expect(StatusCode::CREATED);
    owner.patch(&format!("/management/products/{product}"), &json!({"status": "active"}), None).await;
    let lines = vec![json!({"variant_id": big["id"], "quantity": 10_000})];
    let order = json!({"customer_email": "a@example.com", "shipping_country": "NL", "lines": lines});
    let refused = owner
        .post("/management/orders", &order)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(refused["errors"].to_string().contains("order_too_large"), "{refused}");
    assert_eq!(checked, edges.len() * 13);
}
