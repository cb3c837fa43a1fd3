//! The carts API in-process, the same suite against each cart store: Valkey (`VALKEY_URL`)
//! and DynamoDB on the AWS emulator (`AWS_ENDPOINT_URL`, moto in `make test`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::future::join_all;
use http::{Method, StatusCode};
use kassa_domain::catalog::B2bSettings;
use kassa_domain::tenant::Tenant;
use kassa_testkit::builders::{CartBuilder, CustomerBuilder};
use kassa_testkit::{CustomerGroupBuilder, PriceListBuilder, ProductBuilder, TestApp, VariantBuilder};
use serde_json::{Value, json};

kassa_testkit::on_both_cart_stores!(kassa_carts::router;
    a_cart_round_trip_is_priced_and_taxed_on_the_server,
    fifty_parallel_adds_on_one_cart_keep_every_line,
    a_cart_token_opens_its_own_cart_only_and_a_shop_sees_only_its_carts,
    a_cart_holds_at_most_a_hundred_lines,
    b2b_rules_and_stock_are_422s_pointing_at_the_line,
    an_idempotency_key_replays_refuses_another_body_and_runs_once_under_concurrency,
    a_signed_in_customers_cart_is_theirs_and_priced_for_their_groups,
    signing_in_merges_the_anonymous_cart_into_the_customers,
);

/// A client of one shop holding (after `create`) one cart's token.
struct Shopper<'a> {
    app: &'a TestApp,
    shop: String,
    token: Option<String>,
}

impl<'a> Shopper<'a> {
    fn new(app: &'a TestApp, tenant: &Tenant) -> Self {
        Shopper { app, shop: tenant.handle.clone(), token: None }
    }

    async fn call(
        &self,
        method: Method,
        uri: &str,
        body: Option<&Value>,
        extra: &[(&str, &str)],
    ) -> kassa_testkit::TestResponse {
        let mut headers = vec![("x-tenant-id", self.shop.as_str())];
        if let Some(token) = &self.token {
            headers.push(("cart-token", token.as_str()));
        }
        headers.extend_from_slice(extra);
        self.app.call(method, uri, &headers, body).await
    }

    /// Creates a cart and keeps its token; the cart.
    async fn create(&mut self) -> Value {
        let created = self
            .call(Method::POST, "/storefront/carts", Some(&json!({})), &[])
            .await
            .expect(StatusCode::CREATED);
        self.token = Some(created["cart_token"].as_str().unwrap().to_owned());
        created["cart"].clone()
    }
}

fn id(cart: &Value) -> &str {
    cart["id"].as_str().unwrap()
}

async fn a_cart_round_trip_is_priced_and_taxed_on_the_server(app: TestApp) {
    let tenant = app.tenant("shop-a").await;
    let mug = ProductBuilder::selling(VariantBuilder::new("MUG").price(1_000).stock(50))
        .create(&app, &tenant)
        .await;
    let cap = ProductBuilder::selling(VariantBuilder::new("CAP").price(2_500).untracked())
        .tax_class("reduced")
        .create(&app, &tenant)
        .await;
    let group = CustomerGroupBuilder::new("wholesale").create(&app, &tenant).await;
    // A group's tier price: anonymous shoppers never get it.
    PriceListBuilder::new("wholesale", group.id).price(mug.variant().id, 1, 500).create(&app, &tenant).await;
    for (class, bp) in [("standard", 2100), ("reduced", 900)] {
        sqlx::query("insert into tax_rates (id, tenant_id, country, tax_class, rate_bp) values ($1, $2, 'NL', $3, $4)")
            .bind(uuid::Uuid::now_v7())
            .bind(tenant.id.as_uuid())
            .bind(class)
            .bind(bp)
            .execute(&app.owner)
            .await
            .unwrap();
    }
    let mut shopper = Shopper::new(&app, &tenant);
    let cart = shopper.create().await;
    assert_eq!(cart["lines"], json!([]));
    assert_eq!(cart["currency"], "EUR");
    let expires = chrono::DateTime::parse_from_rfc3339(cart["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!((expires.to_utc() - chrono::Utc::now()).num_hours(), 167, "carts live 7 days");

    let uri = format!("/storefront/carts/{}/lines", id(&cart));
    let mug_line = json!({"variant_id": mug.variant().id, "quantity": 3});
    shopper.call(Method::POST, &uri, Some(&mug_line), &[]).await.expect(StatusCode::OK);
    let cap_line = json!({"variant_id": cap.variant().id, "quantity": 2});
    let cart = shopper.call(Method::POST, &uri, Some(&cap_line), &[]).await.expect(StatusCode::OK);
    let line = &cart["lines"][0];
    assert_eq!((line["quantity"].as_i64(), line["unit_price_amount"].as_i64()), (Some(3), Some(1_000)));
    assert_eq!((line["price_source"].as_str(), line["price_list_id"].as_str()), (Some("base"), None));
    assert_eq!(cart["subtotal_amount"], 8_000);
    assert_eq!(cart["tax_amount"], Value::Null, "no shipping country, no tax yet");

    let details = json!({"email": "anna@example.com", "shipping_country": "NL"});
    let cart = shopper
        .call(Method::PATCH, &format!("/storefront/carts/{}", id(&cart)), Some(&details), &[])
        .await
        .expect(StatusCode::OK);
    // Prices include tax (the shop default): 21 % in 3000 is 521, 9 % in 5000 is 413.
    assert_eq!((cart["tax_amount"].as_i64(), cart["total_amount"].as_i64()), (Some(521 + 413), Some(8_000)));
    assert_eq!(cart["email"], "anna@example.com");

    let line_uri =
        format!("/storefront/carts/{}/lines/{}", id(&cart), cart["lines"][1]["id"].as_str().unwrap());
    let cart = shopper
        .call(Method::PATCH, &line_uri, Some(&json!({"quantity": 1})), &[])
        .await
        .expect(StatusCode::OK);
    assert_eq!(cart["subtotal_amount"], 5_500);
    let cart = shopper.call(Method::DELETE, &line_uri, None, &[]).await.expect(StatusCode::OK);
    assert_eq!(cart["lines"].as_array().unwrap().len(), 1);
    let fetched = shopper
        .call(Method::GET, &format!("/storefront/carts/{}", id(&cart)), None, &[])
        .await
        .expect(StatusCode::OK);
    assert_eq!(fetched["lines"], cart["lines"]);
    assert_eq!(fetched["total_amount"], 3_000);
}

async fn fifty_parallel_adds_on_one_cart_keep_every_line(app: TestApp) {
    let tenant = app.tenant("shop-a").await;
    let mut variants = Vec::new();
    for n in 0..50 {
        let product = ProductBuilder::selling(VariantBuilder::new(&format!("V{n}")).untracked())
            .create(&app, &tenant)
            .await;
        variants.push(product.variant().id);
    }
    let mut shopper = Shopper::new(&app, &tenant);
    let cart = shopper.create().await;
    let uri = format!("/storefront/carts/{}/lines", id(&cart));
    let adds = variants.iter().map(|variant| {
        let body = json!({"variant_id": variant, "quantity": 1});
        let (shopper, uri) = (&shopper, uri.clone());
        async move { shopper.call(Method::POST, &uri, Some(&body), &[]).await }
    });
    for response in join_all(adds).await {
        response.expect(StatusCode::OK);
    }
    let cart = shopper
        .call(Method::GET, &format!("/storefront/carts/{}", id(&cart)), None, &[])
        .await
        .expect(StatusCode::OK);
    let quantities: Vec<&Value> = cart["lines"].as_array().unwrap().iter().map(|l| &l["quantity"]).collect();
    assert_eq!(
        quantities.len(),
        50,
        "no concurrent add was lost: {quantities:?} at version {}",
        cart["version"]
    );
    assert_eq!(cart["subtotal_amount"], 50 * 1_000);
}

async fn a_cart_token_opens_its_own_cart_only_and_a_shop_sees_only_its_carts(app: TestApp) {
    let (shop_a, shop_b) = (app.tenant("shop-a").await, app.tenant("shop-b").await);
    let mut anna = Shopper::new(&app, &shop_a);
    let annas = anna.create().await;
    let mug = ProductBuilder::selling(VariantBuilder::new("MUG").untracked()).create(&app, &shop_a).await;
    let ben = CartBuilder::new().line(mug.variant().id, 1).create(&app, &shop_a).await;
    let bens = json!({"id": ben.cart.id});
    let uri = |cart: &Value| format!("/storefront/carts/{}", id(cart));
    // Ben's own token opens his cart.
    let as_ben = [("cart-token", ben.token.as_deref().unwrap())];
    let seen = app.call(Method::GET, &uri(&bens), &[("x-tenant-id", "shop-a"), as_ben[0]], None).await;
    assert_eq!(seen.expect(StatusCode::OK)["lines"][0]["variant_id"], mug.variant().id.to_string());
    anna.call(Method::GET, &uri(&annas), None, &[]).await.expect(StatusCode::OK);
    anna.call(Method::GET, &uri(&bens), None, &[]).await.problem(StatusCode::NOT_FOUND, "not_found");
    anna.call(Method::PATCH, &uri(&bens), Some(&json!({"email": "x@example.com"})), &[])
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    let stranger = Shopper::new(&app, &shop_a);
    stranger.call(Method::GET, &uri(&annas), None, &[]).await.problem(StatusCode::NOT_FOUND, "not_found");
    // Shop B does not know shop A's cart, even with its token.
    let in_b = Shopper { app: &app, shop: shop_b.handle.clone(), token: anna.token.clone() };
    in_b.call(Method::GET, &uri(&annas), None, &[]).await.problem(StatusCode::NOT_FOUND, "not_found");
}

async fn a_cart_holds_at_most_a_hundred_lines(app: TestApp) {
    let tenant = app.tenant("shop-a").await;
    let mut shopper = Shopper::new(&app, &tenant);
    let cart = shopper.create().await;
    let mut lines = Vec::new();
    for n in 0..101 {
        let product = ProductBuilder::selling(VariantBuilder::new(&format!("V{n}")).untracked())
            .create(&app, &tenant)
            .await;
        lines.push(json!({"variant_id": product.variant().id, "quantity": 1}));
    }
    let created = shopper
        .call(Method::POST, "/storefront/carts", Some(&json!({"lines": lines[..100]})), &[])
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(created["cart"]["lines"].as_array().unwrap().len(), 100);
    shopper.token = created["cart_token"].as_str().map(str::to_owned);
    let uri = format!("/storefront/carts/{}/lines", id(&created["cart"]));
    let problem = shopper
        .call(Method::POST, &uri, Some(&lines[100]), &[])
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem["errors"][0]["pointer"], "/lines");
    assert_eq!(problem["errors"][0]["code"], "too_many_lines");
    let _ = cart;
}

async fn b2b_rules_and_stock_are_422s_pointing_at_the_line(app: TestApp) {
    let tenant = app.tenant("shop-a").await;
    let bolts = ProductBuilder::selling(VariantBuilder::new("BOLT").price(10).stock(40))
        .b2b(B2bSettings { min_order_quantity: Some(10), quantity_step: Some(5), ..B2bSettings::default() })
        .create(&app, &tenant)
        .await;
    let quote = ProductBuilder::selling(VariantBuilder::new("CRANE").untracked())
        .b2b(B2bSettings { quote_only: true, ..B2bSettings::default() })
        .create(&app, &tenant)
        .await;
    CustomerGroupBuilder::new("wholesale").create(&app, &tenant).await;
    let hidden = ProductBuilder::selling(VariantBuilder::new("PALLET").untracked())
        .b2b(B2bSettings {
            visible_to_customer_groups: Some(vec!["wholesale".to_owned()]),
            ..B2bSettings::default()
        })
        .create(&app, &tenant)
        .await;
    let mut shopper = Shopper::new(&app, &tenant);
    let cart = shopper.create().await;
    let uri = format!("/storefront/carts/{}/lines", id(&cart));
    let refused = |variant: uuid::Uuid, quantity: i64| {
        let body = json!({"variant_id": variant, "quantity": quantity});
        let (shopper, uri) = (&shopper, uri.clone());
        async move {
            let problem = shopper
                .call(Method::POST, &uri, Some(&body), &[])
                .await
                .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| (e["pointer"].as_str().unwrap().to_owned(), e["code"].as_str().unwrap().to_owned()))
                .collect::<Vec<_>>()
        }
    };
    let at = |p: &str, c: &str| (p.to_owned(), c.to_owned());
    assert_eq!(
        refused(bolts.variant().id, 7).await,
        [at("/lines/0/quantity", "below_minimum"), at("/lines/0/quantity", "quantity_step")]
    );
    assert_eq!(refused(bolts.variant().id, 45).await, [at("/lines/0/quantity", "insufficient_stock")]);
    assert_eq!(refused(quote.variant().id, 1).await, [at("/lines/0/variant_id", "quote_only")]);
    assert_eq!(refused(hidden.variant().id, 1).await, [at("/lines/0/variant_id", "unknown_variant")]);
    let cart = shopper
        .call(Method::POST, &uri, Some(&json!({"variant_id": bolts.variant().id, "quantity": 15})), &[])
        .await
        .expect(StatusCode::OK);
    // A second line is pointed at by its own index.
    assert_eq!(refused(quote.variant().id, 1).await, [at("/lines/1/variant_id", "quote_only")]);
    let line = format!("{}/{}", uri, cart["lines"][0]["id"].as_str().unwrap());
    let problem = shopper
        .call(Method::PATCH, &line, Some(&json!({"quantity": 12})), &[])
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem["errors"][0]["pointer"], "/lines/0/quantity");
    assert_eq!(problem["errors"][0]["code"], "quantity_step");
}

async fn an_idempotency_key_replays_refuses_another_body_and_runs_once_under_concurrency(app: TestApp) {
    let tenant = app.tenant("shop-a").await;
    let mug = ProductBuilder::selling(VariantBuilder::new("MUG").untracked()).create(&app, &tenant).await;
    let shopper = Shopper::new(&app, &tenant);
    let key = [("idempotency-key", "create-1")];
    let first = shopper.call(Method::POST, "/storefront/carts", Some(&json!({})), &key).await;
    let first_body = first.expect(StatusCode::CREATED);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = shopper.call(Method::POST, "/storefront/carts", Some(&json!({})), &key).await;
    assert_eq!(again.expect(StatusCode::CREATED), first_body, "the same answer, token included");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let other = json!({"lines": [{"variant_id": mug.variant().id, "quantity": 1}]});
    shopper
        .call(Method::POST, "/storefront/carts", Some(&other), &key)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");

    // Adding a line twice under one key adds it once.
    let owner = Shopper {
        app: &app,
        shop: tenant.handle.clone(),
        token: first_body["cart_token"].as_str().map(str::to_owned),
    };
    let uri = format!("/storefront/carts/{}/lines", id(&first_body["cart"]));
    let line = json!({"variant_id": mug.variant().id, "quantity": 2});
    let add_key = [("idempotency-key", "add-1")];
    owner.call(Method::POST, &uri, Some(&line), &add_key).await.expect(StatusCode::OK);
    let replayed = owner.call(Method::POST, &uri, Some(&line), &add_key).await;
    assert_eq!(replayed.expect(StatusCode::OK)["lines"][0]["quantity"], 2);
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));

    // Ten at once under one key: one runs; the others are told it is running, or replayed.
    let race_key = [("idempotency-key", "add-race")];
    let racers = (0..10).map(|_| owner.call(Method::POST, &uri, Some(&line), &race_key));
    let answers = join_all(racers).await;
    let ran = answers
        .iter()
        .filter(|r| r.status == StatusCode::OK && r.header("idempotent-replayed").is_none())
        .count();
    assert_eq!(ran, 1);
    for answer in &answers {
        if answer.status == StatusCode::CONFLICT {
            answer.problem(StatusCode::CONFLICT, "idempotency_key_race");
        } else {
            assert_eq!(answer.status, StatusCode::OK);
        }
    }
    let cart = owner
        .call(Method::GET, &format!("/storefront/carts/{}", id(&first_body["cart"])), None, &[])
        .await
        .expect(StatusCode::OK);
    assert_eq!(cart["lines"][0]["quantity"], 4, "the raced add ran once");
}

async fn a_signed_in_customers_cart_is_theirs_and_priced_for_their_groups(app: TestApp) {
    let tenant = app.tenant("shop-a").await;
    let wholesale = CustomerGroupBuilder::new("wholesale").create(&app, &tenant).await;
    let mug = ProductBuilder::selling(VariantBuilder::new("MUG").price(1_000).untracked())
        .create(&app, &tenant)
        .await;
    let pallet = ProductBuilder::selling(VariantBuilder::new("PALLET").price(9_000).untracked())
        .b2b(B2bSettings {
            visible_to_customer_groups: Some(vec!["wholesale".to_owned()]),
            ..B2bSettings::default()
        })
        .create(&app, &tenant)
        .await;
    let list = PriceListBuilder::new("wholesale", wholesale.id)
        .price(mug.variant().id, 1, 800)
        .price(mug.variant().id, 10, 600)
        .create(&app, &tenant)
        .await;
    let trader =
        CustomerBuilder::new("trader@example.com").in_group(wholesale.id).signed_in(&app, &tenant).await;
    let other = CustomerBuilder::new("other@example.com").signed_in(&app, &tenant).await;
    let as_trader = [("authorization", trader.authorization.as_str())];
    let shopper = Shopper::new(&app, &tenant);

    let created = shopper
        .call(Method::POST, "/storefront/carts", Some(&json!({})), &as_trader)
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(created["cart_token"], Value::Null, "a customer's cart needs no cart token");
    assert_eq!(created["cart"]["customer_id"], trader.customer_id.to_string());
    let cart_uri = format!("/storefront/carts/{}", id(&created["cart"]));
    let lines = format!("{cart_uri}/lines");
    let cart = shopper
        .call(
            Method::POST,
            &lines,
            Some(&json!({"variant_id": mug.variant().id, "quantity": 10})),
            &as_trader,
        )
        .await
        .expect(StatusCode::OK);
    // The group's tier for 10 units, and the list that priced it.
    assert_eq!(cart["lines"][0]["unit_price_amount"], 600);
    assert_eq!(cart["lines"][0]["price_source"], "price_list");
    assert_eq!(cart["lines"][0]["price_list_id"], list.id.to_string());
    // A product only the group sees is for sale to its members.
    let cart = shopper
        .call(
            Method::POST,
            &lines,
            Some(&json!({"variant_id": pallet.variant().id, "quantity": 1})),
            &as_trader,
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(cart["subtotal_amount"], 6_000 + 9_000);

    // Nobody else opens it: another customer, an anonymous caller, a bad token (401).
    let as_other = [("authorization", other.authorization.as_str())];
    shopper.call(Method::GET, &cart_uri, None, &as_other).await.problem(StatusCode::NOT_FOUND, "not_found");
    shopper.call(Method::GET, &cart_uri, None, &[]).await.problem(StatusCode::NOT_FOUND, "not_found");
    shopper
        .call(Method::GET, &cart_uri, None, &[("authorization", "Bearer nonsense")])
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_token");
    shopper.call(Method::GET, &cart_uri, None, &as_trader).await.expect(StatusCode::OK);
}

async fn signing_in_merges_the_anonymous_cart_into_the_customers(app: TestApp) {
    let tenant = app.tenant("shop-a").await;
    let mug =
        ProductBuilder::selling(VariantBuilder::new("MUG").price(1_000).stock(5)).create(&app, &tenant).await;
    let cap = ProductBuilder::selling(VariantBuilder::new("CAP").price(500).untracked())
        .create(&app, &tenant)
        .await;
    let anna = CustomerBuilder::new("anna@example.com").signed_in(&app, &tenant).await;
    let as_anna = [("authorization", anna.authorization.as_str())];
    let shopper = Shopper::new(&app, &tenant);
    let owned = shopper
        .call(
            Method::POST,
            "/storefront/carts",
            Some(&json!({"lines": [{"variant_id": mug.variant().id, "quantity": 3}]})),
            &as_anna,
        )
        .await
        .expect(StatusCode::CREATED);

    let mut anonymous = Shopper::new(&app, &tenant);
    let cart = anonymous.create().await;
    let lines = format!("/storefront/carts/{}/lines", id(&cart));
    anonymous
        .call(Method::POST, &lines, Some(&json!({"variant_id": mug.variant().id, "quantity": 4})), &[])
        .await
        .expect(StatusCode::OK);
    anonymous
        .call(Method::POST, &lines, Some(&json!({"variant_id": cap.variant().id, "quantity": 2})), &[])
        .await
        .expect(StatusCode::OK);

    let cart_id: uuid::Uuid = id(&cart).parse().unwrap();
    let token = anonymous.token.clone().unwrap();
    let merged =
        kassa_store::carts::merge_at_sign_in(&app.state, &tenant, cart_id, &token, anna.customer_id, &[])
            .await
            .unwrap();
    assert_eq!(merged.cart.id.to_string(), id(&owned["cart"]));
    let quantities: Vec<(uuid::Uuid, i32)> =
        merged.cart.lines.iter().map(|l| (l.variant_id, l.quantity)).collect();
    // 3 + 4 mugs is more than the 5 in stock: the most there is.
    assert_eq!(quantities, [(mug.variant().id, 5), (cap.variant().id, 2)]);
    anonymous
        .call(Method::GET, &format!("/storefront/carts/{}", id(&cart)), None, &[])
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    let mine = shopper
        .call(Method::GET, &format!("/storefront/carts/{}", merged.cart.id), None, &as_anna)
        .await
        .expect(StatusCode::OK);
    assert_eq!(mine["subtotal_amount"], 5 * 1_000 + 2 * 500);
}
