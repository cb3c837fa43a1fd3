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

/// The shop's standard tax rate in `country`, and shipping there: a zone of `country` with
/// one rate, "Standard", [`SHIPPING`] in the shop's currency.
async fn tax_rate(app: &TestApp, tenant: &Tenant, country: &str, bp: i32) {
    sqlx::query("insert into tax_rates (id, tenant_id, country, tax_class, rate_bp) values ($1, $2, $3, 'standard', $4)")
        .bind(Uuid::now_v7())
        .bind(tenant.id.as_uuid())
        .bind(country)
        .bind(bp)
        .execute(&app.owner)
        .await
        .unwrap();
    let zone = Uuid::now_v7();
    sqlx::query("insert into shipping_zones (id, tenant_id, name, countries) values ($1, $2, $3, array[$3])")
        .bind(zone)
        .bind(tenant.id.as_uuid())
        .bind(country)
        .execute(&app.owner)
        .await
        .unwrap();
    sqlx::query(
        "insert into shipping_rates (id, tenant_id, zone_id, name, currency, amount) values ($1, $2, $3, 'Standard', $4, $5)",
    )
    .bind(Uuid::now_v7())
    .bind(tenant.id.as_uuid())
    .bind(zone)
    .bind(&tenant.default_currency)
    .bind(SHIPPING)
    .execute(&app.owner)
    .await
    .unwrap();
}

/// `tenant` pays with a fresh simulator key and taxes NL at 21 % (and ships there); the key.
async fn sells_in_nl(app: &TestApp, sim: &MollieSim, tenant: &Tenant) -> String {
    let key = pays_with_mollie(app, sim, tenant).await;
    tax_rate(app, tenant, "NL", 2100).await;
    key
}

/// The simulator, the app, and its shop "demo" selling in NL with the simulator key (the last).
/// The simulator stops when dropped: a test binds it, as `_sim` if it has no other use.
async fn demo_shop(pool: PgPool) -> (MollieSim, TestApp, Tenant, String) {
    let sim = MollieSim::start();
    let app = app(pool, &sim);
    let shop = app.tenant("demo").await;
    let key = sells_in_nl(&app, &sim, &shop).await;
    (sim, app, shop, key)
}

/// A product "MUG" in `shop` at `price` with `stock` units; its variant.
async fn mugs(app: &TestApp, shop: &Tenant, price: i64, stock: i64) -> Uuid {
    ProductBuilder::selling(VariantBuilder::new("MUG").price(price).stock(stock))
        .create(app, shop)
        .await
        .variant()
        .id
}

/// What shipping costs in the tests' shops (minor units).
const SHIPPING: i64 = 495;

/// The shop's (first) shipping rate.
async fn shipping_rate(app: &TestApp, tenant: &Tenant) -> Uuid {
    sqlx::query_scalar("select id from shipping_rates where tenant_id = $1 order by id limit 1")
        .bind(tenant.id.as_uuid())
        .fetch_one(&app.owner)
        .await
        .unwrap()
}

/// An anonymous cart of `lines`, shipping to NL with email, address and shipping method set.
async fn ready_cart(app: &TestApp, tenant: &Tenant, lines: &[(Uuid, i64)]) -> BuiltCart {
    ready(app, tenant, CartBuilder::new(), lines).await
}

/// `builder`'s cart of `lines`, shipping to NL with email, address and shipping method set.
async fn ready(app: &TestApp, tenant: &Tenant, mut builder: CartBuilder, lines: &[(Uuid, i64)]) -> BuiltCart {
    builder = builder.ship_to("NL");
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
    let rate = shipping_rate(app, tenant).await;
    let (cart, ()) = kassa_store::carts::update(&store, tenant.id, built.cart.id, |cart| {
        cart.email = Some("ada@example.com".to_owned());
        cart.shipping_address = Some(address.clone());
        cart.shipping_rate_id = Some(rate);
        Ok(())
    })
    .await
    .unwrap();
    BuiltCart { cart, token: built.token }
}

async fn check_out(app: &TestApp, tenant: &Tenant, cart: &BuiltCart, key: Option<&str>) -> TestResponse {
    check_out_as(app, tenant, cart, key, None).await
}

/// [`check_out`] with a customer's `Authorization`.
async fn check_out_as(
    app: &TestApp,
    tenant: &Tenant,
    cart: &BuiltCart,
    key: Option<&str>,
    authorization: Option<&str>,
) -> TestResponse {
    let mut headers = vec![("x-tenant-id", tenant.handle.as_str())];
    if let Some(authorization) = authorization {
        headers.push(("authorization", authorization));
    }
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
    let (sim, app, shop, key) = demo_shop(pool).await;
    let mug = mugs(&app, &shop, 1_234, 5).await;
    let cart = ready_cart(&app, &shop, &[(mug, 2)]).await;

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
    assert_eq!(reserved(&app, mug).await, (Some(5), 2));
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
    let (_sim, app, shop, _) = demo_shop(pool).await;
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
            kassa_domain::checkout::release(
                &mut tx,
                shop.id,
                *order,
                kassa_domain::checkout::Unpaid::Failed,
                None,
            )
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
    let (sim, app, shop, _) = demo_shop(pool).await;
    let mug = mugs(&app, &shop, 1_000, 3).await;
    let cart = ready_cart(&app, &shop, &[(mug, 3)]).await;

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
    assert_eq!(reserved(&app, mug).await, (Some(3), 3));

    let first = check_out(&app, &shop, &cart, Some("retry-me")).await.expect(StatusCode::CREATED);
    let again = check_out(&app, &shop, &cart, Some("retry-me")).await.expect(StatusCode::CREATED);
    assert_eq!(first, again, "a repeat answers the same order and checkout URL");
    assert_eq!(count(&app, "select count(*) from orders where tenant_id = $1", &shop).await, 1);
    assert_eq!(count(&app, "select count(*) from payments where tenant_id = $1", &shop).await, 1);
    assert_eq!(count(&app, "select count(*) from stock_reservations where tenant_id = $1", &shop).await, 1);
    assert_eq!(reserved(&app, mug).await, (Some(3), 3));
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
    assert_eq!(
        (payment.amount.currency.as_str(), payment.amount.value.as_str()),
        ("JPY", "4995"),
        "three teas and the shipping"
    );
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
    sells_in_nl(&app, &sim, &euro).await;
    let mug = mugs(&app, &euro, 1_000, 3).await;
    let euro_cart = ready_cart(&app, &euro, &[(mug, 1)]).await;
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
    let mug = mugs(&app, &shop, 1_000, 3).await;
    let cart = ready_cart(&app, &shop, &[(mug, 1)]).await;
    check_out(&app, &shop, &cart, Some("no-settings"))
        .await
        .problem(StatusCode::CONFLICT, "payments_not_configured");
    assert_eq!(reserved(&app, mug).await, (Some(3), 0));
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
    let (_sim, app, shop, _) = demo_shop(pool).await;
    let other = TenantBuilder::new("other").create(&app).await;
    let variant = mugs(&app, &shop, 1000, 5).await;
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
    let (sim, app, shop, _) = demo_shop(pool).await;
    let other = TenantBuilder::new("other").create(&app).await;
    pays_with_mollie(&app, &sim, &other).await;
    let variant = mugs(&app, &shop, 1000, 5).await;
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

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn the_cart_lists_its_shipping_methods_and_checkout_charges_the_chosen_one_taxed(pool: PgPool) {
    let (_sim, app, shop, _) = demo_shop(pool).await;
    let mug = mugs(&app, &shop, 1_210, 5).await;
    let cart = ready_cart(&app, &shop, &[(mug, 2)]).await;
    let buyer = kassa_domain::carts::buyer(&app.state.db, &shop, &[]).await.unwrap();
    let view = kassa_domain::carts::view(&app.state.db, &shop, &cart.cart, &buyer).await.unwrap();
    let rate = shipping_rate(&app, &shop).await;
    assert_eq!(view.shipping_methods.len(), 1);
    assert_eq!((view.shipping_methods[0].rate_id, view.shipping_methods[0].amount), (rate, SHIPPING));
    let shipping = view.shipping.clone().expect("the chosen method is charged");
    // 21 % inside 495 (the demo shop's prices include tax): 86 (rounded half away from zero).
    assert_eq!(
        (shipping.amount, shipping.tax_rate_bp, shipping.tax_amount),
        (SHIPPING, Some(2100), Some(86))
    );
    assert_eq!(view.subtotal_amount, 2_420);
    assert_eq!(view.shipping_amount, SHIPPING);
    assert_eq!(view.tax_amount, Some(420 + 86));
    assert_eq!(view.total_amount, 2_420 + SHIPPING);

    let started = check_out(&app, &shop, &cart, Some("ship")).await.expect(StatusCode::CREATED);
    let order: Uuid = started["order_id"].as_str().unwrap().parse().unwrap();
    let charged: (Option<String>, i64, Option<i64>, i64, Option<i64>, i64) = sqlx::query_as(
        "select shipping_method, shipping_amount, shipping_tax_amount, subtotal_amount, tax_amount, total_amount
         from orders where id = $1",
    )
    .bind(order)
    .fetch_one(&app.owner)
    .await
    .unwrap();
    assert_eq!(charged, (Some("Standard".into()), SHIPPING, Some(86), 2_420, Some(506), 2_915));
    let paid: i64 = sqlx::query_scalar("select amount from payments where order_id = $1")
        .bind(order)
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert_eq!(paid, 2_915, "Mollie is asked for the lines and the shipping");

    // A country no zone serves, and no method chosen: clear 422s, nothing ordered.
    let store = kassa_store::AnyStore::for_state(&app.state).await.unwrap();
    for (key, change, pointer, code) in [
        ("to-us", Some("US"), "/shipping_country", "not_shipped_to"),
        ("no-method", None, "/shipping_rate_id", "required"),
    ] {
        let cart = ready_cart(&app, &shop, &[(mug, 1)]).await;
        kassa_store::carts::update(&store, shop.id, cart.cart.id, |c| {
            match change {
                Some(country) => c.shipping_country = Some(country.to_owned()),
                None => c.shipping_rate_id = None,
            }
            Ok(())
        })
        .await
        .unwrap();
        let problem = check_out(&app, &shop, &cart, Some(key))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(errors(&problem), [(pointer, code)], "{problem}");
    }
    assert_eq!(count(&app, "select count(*) from orders where tenant_id = $1", &shop).await, 1);
}

/// A validation problem's `(pointer, code)` pairs.
fn errors(problem: &serde_json::Value) -> Vec<(&str, &str)> {
    use kassa_testkit::problem_errors;
    problem_errors(problem, "pointer").into_iter().zip(problem_errors(problem, "code")).collect()
}

/// `GET /storefront/orders/{id}/status` with `headers`.
async fn status_of(app: &TestApp, shop: &Tenant, order: Uuid, headers: &[(&str, &str)]) -> TestResponse {
    let mut all = vec![("x-tenant-id", shop.handle.as_str())];
    all.extend_from_slice(headers);
    app.call(Method::GET, &format!("/storefront/orders/{order}/status"), &all, None).await
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn the_return_page_reads_the_order_from_kassa_and_asks_mollie_while_the_payment_is_open(pool: PgPool) {
    use kassa_testkit::mollie::Outcome;
    let (sim, app, shop, _) = demo_shop(pool).await;
    let mug = mugs(&app, &shop, 1_000, 5).await;
    let cart = ready_cart(&app, &shop, &[(mug, 1)]).await;
    let started = check_out(&app, &shop, &cart, Some("return")).await.expect(StatusCode::CREATED);
    let order: Uuid = started["order_id"].as_str().unwrap().parse().unwrap();
    let token = cart.token.clone().unwrap();

    let open = status_of(&app, &shop, order, &[("cart-token", &token)]).await;
    assert_eq!(open.header("cache-control"), Some("no-store"));
    let open = open.expect(StatusCode::OK);
    assert_eq!(
        (open["order"]["status"].as_str(), open["payment_status"].as_str()),
        (Some("pending_payment"), Some("open"))
    );
    assert_eq!(open["checkout_url"], started["checkout_url"], "the shopper can still pay");
    assert_eq!(open["order"]["total_amount"], 1_000 + SHIPPING);
    assert!(open["order"].get("status_reason").is_none(), "no staff notes for shoppers");

    // Nobody else learns anything: no token, another cart's token, another shop.
    let stranger = ready_cart(&app, &shop, &[(mug, 1)]).await;
    for headers in [vec![], vec![("cart-token", stranger.token.as_deref().unwrap())]] {
        status_of(&app, &shop, order, &headers).await.problem(StatusCode::NOT_FOUND, "not_found");
    }
    let other = TenantBuilder::new("other").create(&app).await;
    status_of(&app, &other, order, &[("cart-token", &token)])
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");

    // Paid at Mollie, the webhook not here yet (it goes to an address nobody serves): the
    // return page asks Mollie and shows the order placed, once.
    let tr = provider_id(&app, order).await;
    sim.pay(&tr, Outcome::Paid).await;
    let placed = status_of(&app, &shop, order, &[("cart-token", &token)]).await.expect(StatusCode::OK);
    assert_eq!(
        (placed["order"]["status"].as_str(), placed["payment_status"].as_str()),
        (Some("placed"), Some("paid"))
    );
    assert!(placed["checkout_url"].is_null());
    assert_eq!(deliver(&app, "demo", &tr).await, StatusCode::OK, "the late webhook");
    status_of(&app, &shop, order, &[("cart-token", &token)]).await.expect(StatusCode::OK);
    let placed_events =
        app.outbox(&shop).await.into_iter().filter(|(t, id, _)| t == "order.placed" && *id == order).count();
    assert_eq!(placed_events, 1);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_signed_in_customer_reads_their_own_orders_and_no_one_elses(pool: PgPool) {
    use kassa_testkit::builders::CustomerBuilder;
    let (_sim, app, shop, _) = demo_shop(pool).await;
    let mug = mugs(&app, &shop, 1_000, 9).await;
    let anna = CustomerBuilder::new("anna@example.com").signed_in(&app, &shop).await;
    let bob = CustomerBuilder::new("bob@example.com").signed_in(&app, &shop).await;
    let mut orders = Vec::new();
    for key in ["anna-1", "anna-2"] {
        let cart = ready(&app, &shop, CartBuilder::new().owned_by(anna.customer_id), &[(mug, 1)]).await;
        let started = check_out_as(&app, &shop, &cart, Some(key), Some(&anna.authorization))
            .await
            .expect(StatusCode::CREATED);
        orders.push(started["order_id"].as_str().unwrap().to_owned());
    }
    ready_cart(&app, &shop, &[(mug, 1)]).await; // an anonymous one, nobody's
    let anonymous = ready_cart(&app, &shop, &[(mug, 1)]).await;
    check_out(&app, &shop, &anonymous, Some("anonymous")).await.expect(StatusCode::CREATED);

    let list = |authorization: String, query: &'static str| {
        let app = &app;
        let shop = &shop;
        async move {
            let headers = [("x-tenant-id", shop.handle.as_str()), ("authorization", authorization.as_str())];
            app.call(Method::GET, &format!("/storefront/customers/me/orders{query}"), &headers, None).await
        }
    };
    let page = list(anna.authorization.clone(), "").await.expect(StatusCode::OK);
    let ids: Vec<&str> =
        page["items"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [orders[1].as_str(), orders[0].as_str()], "newest first, only Anna's");
    let first = list(anna.authorization.clone(), "?limit=1").await.expect(StatusCode::OK);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let rest = app
        .call(
            Method::GET,
            &format!("/storefront/customers/me/orders?limit=1&cursor={cursor}"),
            &[("x-tenant-id", "demo"), ("authorization", anna.authorization.as_str())],
            None,
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(rest["items"][0]["id"], orders[0].as_str());
    assert_eq!(list(bob.authorization.clone(), "").await.expect(StatusCode::OK)["items"], json!([]));
    let anonymous_call =
        app.call(Method::GET, "/storefront/customers/me/orders", &[("x-tenant-id", "demo")], None).await;
    assert_eq!(anonymous_call.status, StatusCode::UNAUTHORIZED);

    // Anna reads her order's status with her token; Bob's token opens nothing.
    let order: Uuid = orders[0].parse().unwrap();
    status_of(&app, &shop, order, &[("authorization", &anna.authorization)]).await.expect(StatusCode::OK);
    status_of(&app, &shop, order, &[("authorization", &bob.authorization)])
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_webhook_that_arrives_before_the_checkout_stored_the_payment_is_retried_and_then_places_it(
    pool: PgPool,
) {
    use kassa_domain::checkout::{self, CheckoutDraft};
    use kassa_testkit::mollie::Outcome;
    let (sim, app, shop, key) = demo_shop(pool).await;
    let mug = mugs(&app, &shop, 1_000, 5).await;
    let cart = ready_cart(&app, &shop, &[(mug, 1)]).await;
    // The checkout's transaction has committed the order, Mollie created the payment, and
    // Mollie's webhook comes before the checkout stored Mollie's id.
    let buyer = kassa_domain::carts::buyer(&app.state.db, &shop, &[]).await.unwrap();
    let priced = kassa_domain::carts::view(&app.state.db, &shop, &cart.cart, &buyer).await.unwrap();
    let draft = CheckoutDraft {
        cart: &cart.cart,
        priced: &priced,
        customer_id: None,
        checkout_key: "racing",
        redirect_url: REDIRECT,
    };
    let pending = checkout::start(&app.state.db, &shop, &draft).await.unwrap();
    let mollie = MollieClient::new(&sim.url(), &key).unwrap();
    let request = kassa_mollie::PaymentRequest {
        amount: kassa_mollie::Amount::new(pending.amount, "EUR").unwrap(),
        description: "Order".into(),
        redirect_url: REDIRECT.into(),
        webhook_url: None,
        metadata: json!({"order_id": pending.order_id, "shop_id": shop.id}),
        method: None,
    };
    let payment = mollie.create_payment(&request, &pending.idempotency_key).await.unwrap();
    sim.pay(&payment.id, Outcome::Paid).await;
    assert_eq!(deliver(&app, "demo", &payment.id).await, StatusCode::SERVICE_UNAVAILABLE, "come again");
    assert_eq!(order_status(&app, pending.order_id).await, "pending_payment");

    checkout::record_provider_payment(&app.state.db, &shop, pending.payment_id, &payment.id, None)
        .await
        .unwrap();
    assert_eq!(deliver(&app, "demo", &payment.id).await, StatusCode::OK);
    assert_eq!(order_status(&app, pending.order_id).await, "placed");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_reservation_that_times_out_is_released_and_a_late_payment_reserves_again_or_asks_a_person(
    pool: PgPool,
) {
    use kassa_domain::checkout::{ProviderStatus, apply_payment_status, expire_due_reservations};
    let (_sim, app, shop, _) = demo_shop(pool).await;
    let variant = mugs(&app, &shop, 1_000, 4).await;
    let orders = two_unit_orders(&app, &shop, variant, ["slow-1", "slow-2"]).await;
    assert_eq!(reserved(&app, variant).await, (Some(4), 4));
    assert_eq!(expire_due_reservations(&app.state.db, 100).await.unwrap(), 0, "nothing is due yet");

    sqlx::query("update orders set reserved_until = now() - interval '1 second' where tenant_id = $1")
        .bind(shop.id.as_uuid())
        .execute(&app.owner)
        .await
        .unwrap();
    assert_eq!(expire_due_reservations(&app.state.db, 100).await.unwrap(), 2);
    assert_eq!(expire_due_reservations(&app.state.db, 100).await.unwrap(), 0, "once");
    assert_eq!(reserved(&app, variant).await, (Some(4), 0));
    assert_eq!(order_status(&app, orders[0]).await, "expired");
    let failed_events =
        app.outbox(&shop).await.into_iter().filter(|(t, _, _)| t == "order.payment_failed").count();
    assert_eq!(failed_events, 2);

    // The first is paid late (a slow method): its units are still there, reserved again, placed.
    let late = provider_id(&app, orders[0]).await;
    let applied = apply_payment_status(&app.state.db, &shop, &late, ProviderStatus::Paid).await.unwrap();
    assert!(matches!(applied, kassa_domain::checkout::Applied::Moved { placed: true, .. }), "{applied:?}");
    assert_eq!(order_status(&app, orders[0]).await, "placed");
    assert_eq!(reserved(&app, variant).await, (Some(4), 2));
    // Meanwhile someone bought the rest; the second is paid late too: a person decides.
    sqlx::query("update product_variants set stock = 2 where id = $1")
        .bind(variant)
        .execute(&app.owner)
        .await
        .unwrap();
    let later = provider_id(&app, orders[1]).await;
    apply_payment_status(&app.state.db, &shop, &later, ProviderStatus::Paid).await.unwrap();
    assert_eq!(order_status(&app, orders[1]).await, "needs_attention");
    assert_eq!(reserved(&app, variant).await, (Some(2), 2), "never more reserved than in stock");
    let placed = app.outbox(&shop).await.into_iter().filter(|(t, _, _)| t == "order.placed").count();
    assert_eq!(placed, 1);
}

/// `POST /management/orders/{id}/refunds` as an owner of `shop`.
async fn refund(
    app: &TestApp,
    issuer: &kassa_testkit::Issuer,
    shop: &Tenant,
    order: Uuid,
    key: &str,
    body: serde_json::Value,
) -> TestResponse {
    let staff = app.staff(issuer, shop, "owner");
    staff
        .call(
            Method::POST,
            &format!("/management/orders/{order}/refunds"),
            Some(&body),
            &[("idempotency-key", key)],
        )
        .await
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn refunds_go_through_mollie_once_per_key_never_beyond_the_payment_and_settle_through_the_webhook(
    pool: PgPool,
) {
    use kassa_testkit::mollie::Outcome;
    let sim = MollieSim::start();
    let issuer = kassa_testkit::Issuer::start().await;
    let config =
        issuer.config_with(&[("MOLLIE_API_URL", &sim.url()), ("PUBLIC_BASE_URL", "https://api.kassa.test")]);
    let app = TestApp::with_config(pool, config, |state| {
        kassa_checkout::router(state.clone()).merge(kassa_mollie_webhook::router(state))
    });
    let shop = app.tenant("demo").await;
    let key = sells_in_nl(&app, &sim, &shop).await;
    let mug = mugs(&app, &shop, 1_000, 5).await;
    let orders = two_unit_orders(&app, &shop, mug, ["paid", "unpaid"]).await;
    let (order, unpaid) = (orders[0], orders[1]);
    let tr = provider_id(&app, order).await;
    sim.pay(&tr, Outcome::Paid).await;
    assert_eq!(deliver(&app, "demo", &tr).await, StatusCode::OK);
    let total = 2_000 + SHIPPING;

    refund(&app, &issuer, &shop, unpaid, "r-unpaid", json!({}))
        .await
        .problem(StatusCode::CONFLICT, "order_not_refundable");
    let too_much = refund(&app, &issuer, &shop, order, "r-big", json!({"amount": total + 1})).await;
    let problem = too_much.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(errors(&problem), [("/amount", "exceeds_refundable")]);
    refund(&app, &issuer, &shop, order, "r-no-key", json!({"amount": 5})).await.expect(StatusCode::CREATED);

    // A partial refund, sent twice with the same key: one refund at Mollie.
    let first =
        refund(&app, &issuer, &shop, order, "r-1", json!({"amount": 1_000, "description": "one mug"})).await;
    let first = first.expect(StatusCode::CREATED);
    let again =
        refund(&app, &issuer, &shop, order, "r-1", json!({"amount": 1_000, "description": "one mug"})).await;
    assert_eq!(again.expect(StatusCode::CREATED)["id"], first["id"]);
    let mollie = MollieClient::new(&sim.url(), &key).unwrap();
    assert_eq!(mollie.list_refunds(&tr).await.unwrap().len(), 2, "5 and 1,000: no third");
    // Mollie down: 503 and the refund kept; the retry with the same key completes it.
    sim.fail_next(1, 503).await;
    refund(&app, &issuer, &shop, order, "r-2", json!({}))
        .await
        .problem(StatusCode::SERVICE_UNAVAILABLE, "payment_provider_unavailable");
    let rest = refund(&app, &issuer, &shop, order, "r-2", json!({})).await.expect(StatusCode::CREATED);
    assert_eq!(rest["amount"], total - 1_005, "the rest");
    refund(&app, &issuer, &shop, order, "r-3", json!({}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let refunded: (i64, i64) = sqlx::query_as(
        "select o.refunded_amount, p.amount_refunded from orders o join payments p on p.order_id = o.id where o.id = $1",
    )
    .bind(order)
    .fetch_one(&app.owner)
    .await
    .unwrap();
    assert_eq!(refunded, (total, total));

    // Mollie settles the first and fails the second; the webhook tells Kassa.
    let at_mollie = mollie.list_refunds(&tr).await.unwrap();
    let one_mug = at_mollie.iter().find(|r| r.amount.value == "10.00").unwrap();
    let the_rest = at_mollie.iter().find(|r| r.id == rest["provider_id"].as_str().unwrap()).unwrap();
    sim.set_refund_status(&tr, &one_mug.id, "refunded").await;
    sim.set_refund_status(&tr, &the_rest.id, "failed").await;
    assert_eq!(deliver(&app, "demo", &tr).await, StatusCode::OK);
    assert_eq!(deliver(&app, "demo", &tr).await, StatusCode::OK, "a duplicate");
    let listed = app
        .staff(&issuer, &shop, "viewer")
        .get(&format!("/management/orders/{order}/refunds"))
        .await
        .expect(StatusCode::OK);
    let statuses: Vec<&str> =
        listed["items"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert!(statuses.contains(&"refunded") && statuses.contains(&"failed"), "{statuses:?}");
    let refunded: i64 = sqlx::query_scalar("select refunded_amount from orders where id = $1")
        .bind(order)
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert_eq!(refunded, 1_005, "the failed refund no longer counts");
    let events = app.outbox(&shop).await.into_iter().filter(|(t, _, _)| t == "order.refunded").count();
    assert_eq!(events, 1, "one refund reached refunded");
    // A viewer may not refund.
    app.staff(&issuer, &shop, "viewer")
        .call(
            Method::POST,
            &format!("/management/orders/{order}/refunds"),
            Some(&json!({})),
            &[("idempotency-key", "v")],
        )
        .await
        .problem(StatusCode::FORBIDDEN, "insufficient_role");
}
