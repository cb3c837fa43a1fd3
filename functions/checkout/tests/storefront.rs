//! `POST /storefront/checkout` against real Postgres, Valkey and the Mollie simulator: the
//! order, its reservations and the payment row, the Mollie payment as Mollie holds it, the
//! last units under 100 parallel buyers, Mollie down and a retry, amounts by exponent.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use futures_util::future::join_all;
use http::{Method, StatusCode};
use kassa_domain::payments::{SettingsDraft, settings};
use kassa_domain::tenant::Tenant;
use kassa_mollie::MollieClient;
use kassa_runtime::secrets::Keyring;
use kassa_testkit::builders::{BuiltCart, CartBuilder, TenantBuilder};
use kassa_testkit::mollie::MollieSim;
use kassa_testkit::{ProductBuilder, TestApp, TestResponse, VariantBuilder, test_config};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

const REDIRECT: &str = "https://shop.example/return";

fn app(pool: PgPool, sim: &MollieSim) -> TestApp {
    let config =
        test_config(&[("MOLLIE_API_URL", &sim.url()), ("PUBLIC_BASE_URL", "https://api.kassa.test")]);
    TestApp::with_config(pool, config, |state| {
        kassa_checkout::router(state.clone()).merge(kassa_mollie_webhook::router(state))
    })
}

/// Saves a fresh simulator key as the shop's payment settings; the key.
async fn pays_with_mollie(app: &TestApp, sim: &MollieSim, tenant: &Tenant) -> String {
    let key = MollieSim::new_test_key();
    sim.add_key(&key).await;
    let draft: SettingsDraft = serde_json::from_value(json!({"api_key": key})).unwrap();
    let valid = draft.parse().unwrap();
    let keyring = Keyring::from_config(&app.state.config).unwrap();
    let sealed = keyring.seal_api_key(tenant.id, &valid.api_key).unwrap();
    settings::save(&app.state.db, tenant, &valid, &sealed).await.unwrap();
    key
}

async fn tax_rate(app: &TestApp, tenant: &Tenant, country: &str, bp: i32) {
    sqlx::query("insert into tax_rates (id, tenant_id, country, tax_class, rate_bp) values ($1, $2, $3, 'standard', $4)")
        .bind(Uuid::now_v7())
        .bind(tenant.id.as_uuid())
        .bind(country)
        .bind(bp)
        .execute(&app.owner)
        .await
        .unwrap();
}

/// An anonymous cart of `lines`, shipping to NL with email and address set.
async fn ready_cart(app: &TestApp, tenant: &Tenant, lines: &[(Uuid, i64)]) -> BuiltCart {
    let mut builder = CartBuilder::new().ship_to("NL");
    for (variant, quantity) in lines {
        builder = builder.line(*variant, *quantity);
    }
    let built = builder.create(app, tenant).await;
    let store = kassa_store::AnyStore::for_state(&app.state).await.unwrap();
    let address: kassa_domain::carts::PostalAddress = serde_json::from_value(json!({
        "first_name": "Ada", "last_name": "Lovelace", "line1": "Damrak 1", "postal_code": "1012 LG",
        "city": "Amsterdam", "country": "NL"
    }))
    .unwrap();
    let (cart, ()) = kassa_store::carts::update(&store, tenant.id, built.cart.id, |cart| {
        cart.email = Some("ada@example.com".to_owned());
        cart.shipping_address = Some(address.clone());
        Ok(())
    })
    .await
    .unwrap();
    BuiltCart { cart, token: built.token }
}

async fn check_out(app: &TestApp, tenant: &Tenant, cart: &BuiltCart, key: Option<&str>) -> TestResponse {
    let mut headers = vec![("x-tenant-id", tenant.handle.as_str())];
    if let Some(token) = &cart.token {
        headers.push(("cart-token", token.as_str()));
    }
    if let Some(key) = key {
        headers.push(("idempotency-key", key));
    }
    let body = json!({"cart_id": cart.cart.id, "redirect_url": REDIRECT});
    app.call(Method::POST, "/storefront/checkout", &headers, Some(&body)).await
}

async fn count(app: &TestApp, sql: &str, tenant: &Tenant) -> i64 {
    sqlx::query_scalar(sql).bind(tenant.id.as_uuid()).fetch_one(&app.owner).await.unwrap()
}

async fn reserved(app: &TestApp, variant: Uuid) -> (Option<i32>, i32) {
    sqlx::query_as("select stock, reserved from product_variants where id = $1")
        .bind(variant)
        .fetch_one(&app.owner)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_checkout_creates_a_pending_order_with_reserved_stock_and_a_mollie_payment(pool: PgPool) {
    let sim = MollieSim::start();
    let app = app(pool, &sim);
    let shop = app.tenant("demo").await;
    let key = pays_with_mollie(&app, &sim, &shop).await;
    tax_rate(&app, &shop, "NL", 2100).await;
    let mug =
        ProductBuilder::selling(VariantBuilder::new("MUG").price(1_234).stock(5)).create(&app, &shop).await;
    let cart = ready_cart(&app, &shop, &[(mug.variant().id, 2)]).await;

    let started = check_out(&app, &shop, &cart, Some("k-1")).await.expect(StatusCode::CREATED);
    let order_id: Uuid = started["order_id"].as_str().unwrap().parse().unwrap();
    let (status, total, currency, customer_email): (String, i64, String, String) = sqlx::query_as(
        "select status, total_amount, currency::text, customer_email from orders where id = $1",
    )
    .bind(order_id)
    .fetch_one(&app.owner)
    .await
    .unwrap();
    assert_eq!(
        (status.as_str(), currency.as_str(), customer_email.as_str()),
        ("pending_payment", "EUR", "ada@example.com")
    );
    assert!(total >= 2 * 1_234, "the total holds both units: {total}");
    assert_eq!(reserved(&app, mug.variant().id).await, (Some(5), 2));
    let (tr_id, payment_status, amount): (String, String, i64) =
        sqlx::query_as("select provider_id, status, amount from payments where order_id = $1")
            .bind(order_id)
            .fetch_one(&app.owner)
            .await
            .unwrap();
    assert_eq!((payment_status.as_str(), amount), ("open", total));

    let mollie = MollieClient::new(&sim.url(), &key).unwrap();
    let payment = mollie.get_payment(&tr_id).await.unwrap();
    assert_eq!(payment.amount.value, kassa_mollie::format_amount(total, "EUR").unwrap());
    assert_eq!(payment.amount.value, format!("{}.{:02}", total / 100, total % 100));
    assert_eq!(payment.metadata, json!({"order_id": order_id, "shop_id": shop.id}));
    assert_eq!(payment.description, format!("Order #{} at {}", started["order_number"], shop.name));
    assert_eq!(Some(started["checkout_url"].as_str().unwrap()), payment.checkout_url());
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_hundred_parallel_checkouts_of_the_last_ten_units_make_ten_orders_and_ninety_out_of_stock(
    pool: PgPool,
) {
    let sim = MollieSim::start();
    let app = app(pool, &sim);
    let shop = app.tenant("demo").await;
    pays_with_mollie(&app, &sim, &shop).await;
    tax_rate(&app, &shop, "NL", 2100).await;
    let last =
        ProductBuilder::selling(VariantBuilder::new("LAST").price(500).stock(10)).create(&app, &shop).await;
    let variant = last.variant().id;
    let line = [(variant, 1)];
    let carts = join_all((0..100).map(|_| ready_cart(&app, &shop, &line))).await;

    let keys: Vec<String> = (0..100).map(|i| format!("buyer-{i}")).collect();
    let answers =
        join_all(carts.iter().zip(&keys).map(|(cart, key)| check_out(&app, &shop, cart, Some(key)))).await;
    let created = answers.iter().filter(|a| a.status == StatusCode::CREATED).count();
    let out_of_stock = answers
        .iter()
        .filter(|a| a.status == StatusCode::CONFLICT && a.json()["code"] == "out_of_stock")
        .count();
    assert_eq!(
        (created, out_of_stock),
        (10, 90),
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    assert_eq!(reserved(&app, variant).await, (Some(10), 10));
    let active = "select coalesce(sum(quantity), 0)::bigint from stock_reservations where tenant_id = $1 and released_at is null";
    assert_eq!(count(&app, active, &shop).await, 10);
    assert_eq!(count(&app, "select count(*) from orders where tenant_id = $1", &shop).await, 10);
    assert_eq!(
        count(&app, "select count(*) from payments where tenant_id = $1 and provider_id is not null", &shop)
            .await,
        10
    );

    // Those ten payments fail (as the webhook will record them; released twice, as a
    // duplicate delivery would): the units are available again, once.
    let orders: Vec<Uuid> = sqlx::query_scalar("select id from orders where tenant_id = $1")
        .bind(shop.id.as_uuid())
        .fetch_all(&app.owner)
        .await
        .unwrap();
    for _ in 0..2 {
        for order in &orders {
            let mut tx = kassa_domain::db::begin_tenant_tx(&app.state.db, shop.id).await.unwrap();
            kassa_domain::checkout::release(&mut tx, shop.id, *order, kassa_domain::checkout::Unpaid::Failed)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
    }
    assert_eq!(reserved(&app, variant).await, (Some(10), 0), "all ten available again, never negative");
    assert_eq!(count(&app, active, &shop).await, 0);
    let failed = "select count(*) from orders where tenant_id = $1 and status = 'payment_failed'";
    assert_eq!(count(&app, failed, &shop).await, 10);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn mollie_down_is_a_503_and_a_retry_with_the_same_key_continues_the_same_order(pool: PgPool) {
    let sim = MollieSim::start();
    let app = app(pool, &sim);
    let shop = app.tenant("demo").await;
    pays_with_mollie(&app, &sim, &shop).await;
    tax_rate(&app, &shop, "NL", 2100).await;
    let mug =
        ProductBuilder::selling(VariantBuilder::new("MUG").price(1_000).stock(3)).create(&app, &shop).await;
    let cart = ready_cart(&app, &shop, &[(mug.variant().id, 3)]).await;

    sim.fail_next(1, 503).await;
    check_out(&app, &shop, &cart, Some("retry-me"))
        .await
        .problem(StatusCode::SERVICE_UNAVAILABLE, "payment_provider_unavailable");
    let (status, provider): (String, Option<String>) = sqlx::query_as(
        "select o.status, p.provider_id from orders o join payments p on p.order_id = o.id where o.tenant_id = $1",
    )
    .bind(shop.id.as_uuid())
    .fetch_one(&app.owner)
    .await
    .unwrap();
    assert_eq!((status.as_str(), provider), ("pending_payment", None));
    assert_eq!(reserved(&app, mug.variant().id).await, (Some(3), 3));

    let first = check_out(&app, &shop, &cart, Some("retry-me")).await.expect(StatusCode::CREATED);
    let again = check_out(&app, &shop, &cart, Some("retry-me")).await.expect(StatusCode::CREATED);
    assert_eq!(first, again, "a repeat answers the same order and checkout URL");
    assert_eq!(count(&app, "select count(*) from orders where tenant_id = $1", &shop).await, 1);
    assert_eq!(count(&app, "select count(*) from payments where tenant_id = $1", &shop).await, 1);
    assert_eq!(count(&app, "select count(*) from stock_reservations where tenant_id = $1", &shop).await, 1);
    assert_eq!(reserved(&app, mug.variant().id).await, (Some(3), 3));
    // Without a key nothing happens.
    check_out(&app, &shop, &cart, None).await.problem(StatusCode::BAD_REQUEST, "invalid_idempotency_key");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_yen_order_is_sent_to_mollie_without_decimals(pool: PgPool) {
    let sim = MollieSim::start();
    let app = app(pool, &sim);
    let shop = TenantBuilder::new("yen-shop").currency("JPY").create(&app).await;
    let key = pays_with_mollie(&app, &sim, &shop).await;
    tax_rate(&app, &shop, "NL", 0).await;
    let tea = ProductBuilder::selling(VariantBuilder::new("TEA").price_in(1_500, "JPY").stock(9))
        .create(&app, &shop)
        .await;
    let cart = ready_cart(&app, &shop, &[(tea.variant().id, 3)]).await;

    check_out(&app, &shop, &cart, Some("yen")).await.expect(StatusCode::CREATED);
    let tr_id: String = sqlx::query_scalar("select provider_id from payments where tenant_id = $1")
        .bind(shop.id.as_uuid())
        .fetch_one(&app.owner)
        .await
        .unwrap();
    let payment = MollieClient::new(&sim.url(), &key).unwrap().get_payment(&tr_id).await.unwrap();
    assert_eq!((payment.amount.currency.as_str(), payment.amount.value.as_str()), ("JPY", "4500"));
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_currency_mollie_does_not_take_is_a_422_before_anything_is_ordered(pool: PgPool) {
    let sim = MollieSim::start();
    let app = app(pool, &sim);
    let shop = TenantBuilder::new("dinar-shop").currency("KWD").create(&app).await;
    pays_with_mollie(&app, &sim, &shop).await;
    tax_rate(&app, &shop, "NL", 0).await;
    let dates = ProductBuilder::selling(VariantBuilder::new("DATES").price_in(1_250, "KWD").stock(9))
        .create(&app, &shop)
        .await;
    let cart = ready_cart(&app, &shop, &[(dates.variant().id, 1)]).await;

    // The simulator's next call fails: if the KWD checkout called Mollie, it takes that failure.
    sim.fail_next(1, 503).await;
    check_out(&app, &shop, &cart, Some("kwd"))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "unsupported_payment_currency");
    assert_eq!(count(&app, "select count(*) from orders where tenant_id = $1", &shop).await, 0);
    assert_eq!(reserved(&app, dates.variant().id).await, (Some(9), 0));
    let euro = app.tenant("euro-shop").await;
    pays_with_mollie(&app, &sim, &euro).await;
    tax_rate(&app, &euro, "NL", 2100).await;
    let mug =
        ProductBuilder::selling(VariantBuilder::new("MUG").price(1_000).stock(3)).create(&app, &euro).await;
    let euro_cart = ready_cart(&app, &euro, &[(mug.variant().id, 1)]).await;
    check_out(&app, &euro, &euro_cart, Some("eur"))
        .await
        .problem(StatusCode::SERVICE_UNAVAILABLE, "payment_provider_unavailable");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_shop_without_payment_settings_answers_payments_not_configured(pool: PgPool) {
    let sim = MollieSim::start();
    let app = app(pool, &sim);
    let shop = app.tenant("demo").await;
    tax_rate(&app, &shop, "NL", 2100).await;
    let mug =
        ProductBuilder::selling(VariantBuilder::new("MUG").price(1_000).stock(3)).create(&app, &shop).await;
    let cart = ready_cart(&app, &shop, &[(mug.variant().id, 1)]).await;
    check_out(&app, &shop, &cart, Some("no-settings"))
        .await
        .problem(StatusCode::CONFLICT, "payments_not_configured");
    assert_eq!(reserved(&app, mug.variant().id).await, (Some(3), 0));
}

/// One checkout of two units of `variant` per key: the orders' ids.
async fn two_unit_orders(app: &TestApp, shop: &Tenant, variant: Uuid, keys: [&str; 2]) -> Vec<Uuid> {
    let mut orders = Vec::new();
    for key in keys {
        let cart = ready_cart(app, shop, &[(variant, 2)]).await;
        let answer = check_out(app, shop, &cart, Some(key)).await.expect(StatusCode::CREATED);
        orders.push(answer["order_id"].as_str().unwrap().parse::<Uuid>().unwrap());
    }
    orders
}

async fn order_status(app: &TestApp, order: Uuid) -> String {
    sqlx::query_scalar("select status from orders where id = $1")
        .bind(order)
        .fetch_one(&app.owner)
        .await
        .unwrap()
}

/// Mollie's id of the payment of `order`.
async fn provider_id(app: &TestApp, order: Uuid) -> String {
    sqlx::query_scalar("select provider_id from payments where order_id = $1")
        .bind(order)
        .fetch_one(&app.owner)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn reported_payment_statuses_move_an_order_once_and_never_backwards(pool: PgPool) {
    use kassa_domain::checkout::{Applied, ProviderStatus, apply_payment_status};
    let sim = MollieSim::start();
    let app = app(pool, &sim);
    let shop = app.tenant("demo").await;
    let other = TenantBuilder::new("other").create(&app).await;
    pays_with_mollie(&app, &sim, &shop).await;
    tax_rate(&app, &shop, "NL", 2100).await;
    let mug =
        ProductBuilder::selling(VariantBuilder::new("MUG").price(1000).stock(5)).create(&app, &shop).await;
    let variant = mug.variant().id;
    let orders = two_unit_orders(&app, &shop, variant, ["paid-one", "failed-one"]).await;
    assert_eq!(reserved(&app, variant).await, (Some(5), 4));
    let (paid, failed) = (orders[0], orders[1]);
    let apply = async |tenant: &Tenant, order: Uuid, status| {
        apply_payment_status(&app.state.db, tenant, &provider_id(&app, order).await, status).await.unwrap()
    };

    // paid, a duplicate paid, then a late open.
    assert_eq!(
        apply(&shop, paid, ProviderStatus::Paid).await,
        Applied::Moved { order_id: paid, placed: true, released: false }
    );
    assert_eq!(apply(&shop, paid, ProviderStatus::Paid).await, Applied::Unchanged);
    assert_eq!(
        apply(&shop, paid, ProviderStatus::Open).await,
        Applied::Ignored { from: ProviderStatus::Paid, to: ProviderStatus::Open }
    );
    assert_eq!(order_status(&app, paid).await, "placed");
    let placed_events =
        app.outbox(&shop).await.into_iter().filter(|(t, id, _)| t == "order.placed" && *id == paid).count();
    assert_eq!(placed_events, 1, "the On order placed workflow starts once");

    // failed, then a paid that cannot follow it.
    assert_eq!(
        apply(&shop, failed, ProviderStatus::Failed).await,
        Applied::Moved { order_id: failed, placed: false, released: true }
    );
    assert!(matches!(apply(&shop, failed, ProviderStatus::Paid).await, Applied::Ignored { .. }));
    assert_eq!(order_status(&app, failed).await, "payment_failed");
    assert_eq!(reserved(&app, variant).await, (Some(5), 2), "the failed order's units are free again");

    // Unknown ids and another shop's payment id on this shop are nobody's.
    assert_eq!(
        apply_payment_status(&app.state.db, &shop, "tr_unknown0000", ProviderStatus::Paid).await.unwrap(),
        Applied::Unknown
    );
    assert_eq!(apply(&other, paid, ProviderStatus::Failed).await, Applied::Unknown);

    // The workflow's deduction turns the paid order's reservation into the deduction.
    let mut tx = kassa_domain::db::begin_tenant_tx(&app.state.db, shop.id).await.unwrap();
    let deduction = kassa_domain::orders::deduct_stock(&mut tx, shop.id, paid).await.unwrap();
    tx.commit().await.unwrap();
    assert!(matches!(deduction, kassa_domain::orders::Deduction::Deducted { .. }), "{deduction:?}");
    assert_eq!(reserved(&app, variant).await, (Some(3), 0));
}

/// Mollie's webhook delivery for `payment`: the form body `id=tr_…`, nothing else.
async fn deliver(app: &TestApp, shop: &str, payment: &str) -> StatusCode {
    let request = http::Request::post(format!("/webhooks/mollie/{shop}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(format!("id={payment}")))
        .unwrap();
    app.send(request).await.status
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn the_mollie_webhook_fetches_the_payment_and_places_the_order_once(pool: PgPool) {
    use kassa_testkit::mollie::Outcome;
    let sim = MollieSim::start();
    let app = app(pool, &sim);
    let shop = app.tenant("demo").await;
    let other = TenantBuilder::new("other").create(&app).await;
    pays_with_mollie(&app, &sim, &shop).await;
    pays_with_mollie(&app, &sim, &other).await;
    tax_rate(&app, &shop, "NL", 2100).await;
    let mug =
        ProductBuilder::selling(VariantBuilder::new("MUG").price(1000).stock(5)).create(&app, &shop).await;
    let variant = mug.variant().id;
    let orders = two_unit_orders(&app, &shop, variant, ["to-pay", "to-fail"]).await;
    let (to_pay, to_fail) = (provider_id(&app, orders[0]).await, provider_id(&app, orders[1]).await);

    // Before anything happened at Mollie: open, nothing changes.
    assert_eq!(deliver(&app, "demo", &to_pay).await, StatusCode::OK);
    assert_eq!(order_status(&app, orders[0]).await, "pending_payment");
    // Mollie cannot be reached: 503, so Mollie delivers again; the retry places the order.
    sim.pay(&to_pay, Outcome::Paid).await;
    sim.fail_next(1, 503).await;
    assert_eq!(deliver(&app, "demo", &to_pay).await, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(order_status(&app, orders[0]).await, "pending_payment");
    assert_eq!(deliver(&app, "demo", &to_pay).await, StatusCode::OK);
    assert_eq!(deliver(&app, "demo", &to_pay).await, StatusCode::OK, "a duplicate delivery");
    assert_eq!(order_status(&app, orders[0]).await, "placed");
    let placed = app
        .outbox(&shop)
        .await
        .into_iter()
        .filter(|(t, id, _)| t == "order.placed" && *id == orders[0])
        .count();
    assert_eq!(placed, 1);

    sim.pay(&to_fail, Outcome::Failed).await;
    assert_eq!(deliver(&app, "demo", &to_fail).await, StatusCode::OK);
    assert_eq!(order_status(&app, orders[1]).await, "payment_failed");
    assert_eq!(reserved(&app, variant).await, (Some(5), 2), "only the paid order's units stay reserved");

    // No oracle: unknown ids, unknown shops, junk bodies, and this shop's payment delivered on
    // another shop's URL (fetched with that shop's key: Mollie knows no such payment there)
    // all answer 200 and change nothing.
    assert_eq!(deliver(&app, "demo", "tr_unknown0000").await, StatusCode::OK);
    assert_eq!(deliver(&app, "nobody", &to_pay).await, StatusCode::OK);
    assert_eq!(deliver(&app, "other", &to_fail).await, StatusCode::OK);
    assert_eq!(deliver(&app, "demo", "not-an-id").await, StatusCode::OK);
    assert_eq!(order_status(&app, orders[1]).await, "payment_failed");
}
