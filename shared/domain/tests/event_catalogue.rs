//! The event catalogue (`kassa_domain::outbox::catalogue`, rendered into the README) is what
//! the code appends: every write of every aggregate, and the outbox holds exactly the
//! catalogued types under the catalogued aggregates. (Debug builds also refuse to append an
//! uncatalogued type at all, so every other test that writes checks the first half.)
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::collections::BTreeSet;

use kassa_domain::db::begin_tenant_tx;
use kassa_domain::orders::{self, OrderStatus};
use kassa_domain::outbox::catalogue::{self, CATALOGUE};
use kassa_domain::pricing::{self, CustomerGroup, PriceList, SubscriptionPlan};
use kassa_domain::resource::{self, Editable};
use kassa_domain::taxes::{TaxRate, TaxRateDraft};
use kassa_domain::tenant::{self, NewTenant, Tenant, TenantDraft};
use kassa_domain::workflows::{self, Workflow};
use kassa_domain::{products, variants};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

fn draft<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).unwrap()
}

/// Creates, updates and deletes one of each aggregate, adjusts stock, places two orders and
/// runs the order steps on them (one short of stock), and retries a failed run.
async fn every_kind_of_write(pool: &PgPool, shop: &Tenant) {
    // Customer groups, subscription plans, price lists and their prices.
    let group =
        CustomerGroup::create(pool, shop, &draft(json!({"handle": "b2b", "name": "B2B"}))).await.unwrap();
    let mut group_draft = pricing::CustomerGroupDraft::from(&group);
    group_draft.name = "Business".into();
    CustomerGroup::update(pool, shop, group.id, group.version, &group_draft).await.unwrap();
    let plan = SubscriptionPlan::create(pool, shop, &draft(json!({"name": "Monthly", "interval": "month"})))
        .await
        .unwrap();
    let mut plan_draft = pricing::SubscriptionPlanDraft::from(&plan);
    plan_draft.trial_days = 14;
    SubscriptionPlan::update(pool, shop, plan.id, plan.version, &plan_draft).await.unwrap();

    // An active product with a tracked variant, and a draft one to delete.
    let product = products::create(
        pool,
        shop,
        &draft(json!({"handle": "mug", "title": {"en": "Mug"}, "status": "active"})),
    )
    .await
    .unwrap();
    let mut product_draft = products::ProductDraft::from(&product);
    product_draft.handle = "big-mug".into();
    products::update(pool, shop, product.id, product.version, &product_draft).await.unwrap();
    let variant = variants::create(
        pool,
        shop,
        product.id,
        &draft(json!({"sku": "MUG", "price": {"amount": 1210, "currency": "EUR"}, "stock": 1})),
    )
    .await
    .unwrap();
    let mut variant_draft = variants::VariantDraft::from(&variant);
    variant_draft.sku = "MUG-1".into();
    variants::update(pool, shop, product.id, variant.id, variant.version, &variant_draft).await.unwrap();
    let restock = variants::StockAdjustment { delta: 4, reason: "restock".into() };
    variants::adjust_stock(pool, shop, variant.id, &restock).await.unwrap();
    let sketch = products::create(pool, shop, &draft(json!({"handle": "sketch", "title": {"en": "Sketch"}})))
        .await
        .unwrap();
    let sketch_variant = variants::create(
        pool,
        shop,
        sketch.id,
        &draft(json!({"sku": "SKETCH", "price": {"amount": 100, "currency": "EUR"}})),
    )
    .await
    .unwrap();
    variants::delete(pool, shop, sketch.id, sketch_variant.id).await.unwrap();
    assert_eq!(products::delete(pool, shop, sketch.id).await.unwrap(), products::DeleteOutcome::Deleted);

    let list = PriceList::create(
        pool,
        shop,
        &draft(json!({"name": "B2B", "customer_group_id": group.id, "currency": "EUR"})),
    )
    .await
    .unwrap();
    let mut list_draft = pricing::PriceListDraft::from(&list);
    list_draft.priority = 2;
    PriceList::update(pool, shop, list.id, list.version, &list_draft).await.unwrap();
    let prices = pricing::PriceUpsert {
        prices: vec![pricing::ListPriceRow { variant_id: variant.id, amount: 1000, min_quantity: 1 }],
    };
    pricing::upsert_prices(pool, shop, list.id, &prices).await.unwrap();
    pricing::delete_price(pool, shop, list.id, variant.id, 1).await.unwrap();

    // Tax rates and workflows.
    let rate_draft = TaxRateDraft { country: "NL".into(), tax_class: "standard".into(), rate_bp: 2100 };
    let rate = TaxRate::create(pool, shop, &rate_draft).await.unwrap();
    let reduced = TaxRateDraft { rate_bp: 900, ..rate_draft };
    let rate = TaxRate::update(pool, shop, rate.id, rate.version, &reduced).await.unwrap();
    let mut workflow_draft = workflows::on_order_placed();
    workflow_draft.name = "Also on order placed".into();
    workflow_draft.enabled = false;
    let workflow = Workflow::create(pool, shop, &workflow_draft).await.unwrap();
    workflow_draft.name = "Still on order placed".into();
    Workflow::update(pool, shop, workflow.id, workflow.version, &workflow_draft).await.unwrap();

    // Orders and the order steps: one deducted, taxed and processing; one short of stock.
    let line = |quantity: i64| {
        draft::<orders::OrderDraft>(json!({
            "customer_email": "anna@example.com", "shipping_country": "NL",
            "lines": [{"variant_id": variant.id, "quantity": quantity}],
        }))
    };
    let order = orders::place(pool, shop, &line(1)).await.unwrap();
    let short = orders::place(pool, shop, &line(50)).await.unwrap();
    let mut tx = begin_tenant_tx(pool, shop.id).await.unwrap();
    orders::deduct_stock(&mut tx, shop.id, order.id).await.unwrap();
    orders::calculate_taxes(&mut tx, shop.id, order.id).await.unwrap().unwrap();
    orders::set_status(&mut tx, shop.id, order.id, OrderStatus::Processing).await.unwrap();
    let deduction = orders::deduct_stock(&mut tx, shop.id, short.id).await.unwrap();
    assert!(matches!(deduction, orders::Deduction::Short { .. }));
    // A run of the default workflow that failed, retried by a person.
    let event = json!({"source": "kassa/order", "subject": order.id});
    let runs = workflows::start_runs(&mut tx, shop.id, Uuid::now_v7(), "order.placed", &event, &event)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    sqlx::query("update workflow_runs set status = 'failed' where id = $1")
        .bind(runs[0])
        .execute(pool)
        .await
        .unwrap();
    workflows::retry(pool, shop, runs[0]).await.unwrap();

    // A shopper signs up; staff change them.
    let email = kassa_domain::types::Email::parse("anna@example.com").unwrap();
    let signed_up =
        kassa_domain::customers::accounts::sign_up(pool, shop, &email, "$argon2id$x", ("Anna", ""))
            .await
            .unwrap();
    let kassa_domain::customers::SignUp::New(customer) = signed_up else {
        panic!("a new customer: {signed_up:?}")
    };
    let patch =
        kassa_domain::customers::CustomerPatch { customer_group_ids: Some(vec![]), ..Default::default() };
    kassa_domain::customers::update(pool, shop, customer, None, &patch).await.unwrap();

    // A shipping zone and one of its rates.
    use kassa_domain::shipping::{ShippingRate, ShippingZone};
    let zone_draft = draft(json!({"name": "Benelux", "countries": ["NL", "BE"]}));
    let zone = ShippingZone::create(pool, shop, &zone_draft).await.unwrap();
    let zone = ShippingZone::update(
        pool,
        shop,
        zone.id,
        zone.version,
        &draft(json!({"name": "Benelux", "countries": ["NL", "BE", "LU"]})),
    )
    .await
    .unwrap();
    let rate_draft = draft(json!({"zone_id": zone.id, "name": "Standard", "currency": "EUR", "amount": 495}));
    let shipping = ShippingRate::create(pool, shop, &rate_draft).await.unwrap();
    let rate_draft = draft(json!({"zone_id": zone.id, "name": "Standard", "currency": "EUR", "amount": 595}));
    ShippingRate::update(pool, shop, shipping.id, shipping.version, &rate_draft).await.unwrap();

    // The shop saves its payment settings (the key sealed by the caller).
    let settings: kassa_domain::payments::settings::SettingsDraft =
        serde_json::from_value(json!({"api_key": format!("test_{}", "a".repeat(30))})).unwrap();
    let sealed =
        kassa_domain::payments::Sealed { kid: "k1".into(), nonce: vec![0; 12], ciphertext: vec![1; 51] };
    kassa_domain::payments::settings::save(pool, shop, &settings.parse().unwrap(), &sealed).await.unwrap();

    // A checkout whose payment failed; another paid and refunded (rows as checkout and the
    // webhook leave them).
    let failed = orders::place(pool, shop, &line(1)).await.unwrap();
    let paid = orders::place(pool, shop, &line(1)).await.unwrap();
    sqlx::query("update orders set status = 'pending_payment' where id = $1")
        .bind(failed.id)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query(
        "insert into payments (id, tenant_id, order_id, provider_id, status, amount, currency, idempotency_key)
         values ($1, $2, $3, 'tr_catalogue', 'paid', 1210, 'EUR', 'k')",
    )
    .bind(Uuid::now_v7())
    .bind(shop.id)
    .bind(paid.id)
    .execute(pool)
    .await
    .unwrap();
    let mut tx = begin_tenant_tx(pool, shop.id).await.unwrap();
    let released = kassa_domain::checkout::release(
        &mut tx,
        shop.id,
        failed.id,
        kassa_domain::checkout::Unpaid::Failed,
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(released, 0, "a staff order reserves nothing");
    use kassa_domain::payments::refunds;
    let refund =
        refunds::start(pool, shop, paid.id, &refunds::RefundDraft::default(), "refund-1").await.unwrap();
    refunds::record_provider_refund(pool, shop, refund.refund.id, "re_catalogue").await.unwrap();
    let applied = refunds::apply_refund_status(pool, shop, "re_catalogue", refunds::RefundStatus::Refunded)
        .await
        .unwrap();
    assert_eq!(applied, refunds::RefundApplied::Moved { refunded: true });

    // Pages: one created, renamed, its draft saved and published; a block type of the
    // shop's own added, changed and deleted; a page deleted.
    use kassa_domain::pages::{self, Page, blocks};
    let page =
        Page::create(pool, shop, &draft(json!({"handle": "about", "title": {"en": "About"}}))).await.unwrap();
    let page = Page::update(
        pool,
        shop,
        page.id,
        page.version,
        &draft(json!({"handle": "about-us", "title": {"en": "About us"}})),
    )
    .await
    .unwrap();
    let document = json!({"layout": "default", "sections": [
        {"id": "s1", "type": "rich-text", "settings": {"body": {"en": "<p>Hello</p>"}}}
    ]});
    pages::save_draft(pool, shop, page.id, page.version, &document).await.unwrap();
    pages::publish(pool, shop, page.id).await.unwrap();
    let quote = blocks::BlockTypeDraft {
        label: "Quote".into(),
        section: true,
        blocks_in: vec![],
        settings_schema: json!({"type": "object", "properties": {"text": {"$ref": "#/$defs/text"}}}),
    };
    blocks::put(pool, shop, "quote", &quote, None).await.unwrap();
    blocks::put(pool, shop, "quote", &blocks::BlockTypeDraft { label: "A quote".into(), ..quote }, None)
        .await
        .unwrap();
    blocks::delete(pool, shop, "quote").await.unwrap();
    resource::delete::<Page>(pool, shop, page.id).await.unwrap();
    // A manual collection with products, turned automatic; an image by URL, edited, removed.
    use kassa_domain::collections::{self, Collection, CollectionProducts};
    let manual = self::draft(json!({"handle": "featured", "title": {"en": "Featured"}, "kind": "manual"}));
    let collection = Collection::create(pool, shop, &manual).await.unwrap();
    let product_ids = vec![products::find_by_handle(pool, shop, "big-mug").await.unwrap().unwrap().id];
    let collection =
        collections::set_products(pool, shop, collection.id, &CollectionProducts { product_ids })
            .await
            .unwrap();
    let automatic = self::draft(
        json!({"handle": "featured", "title": {"en": "Featured"}, "kind": "automatic", "rules": {"tags": ["sale"]}}),
    );
    Collection::update(pool, shop, collection.id, collection.version, &automatic).await.unwrap();
    use kassa_domain::media;
    let mug = products::find_by_handle(pool, shop, "big-mug").await.unwrap().unwrap().id;
    let image = self::draft(json!({"url": "https://images.example/mug.png", "alt": {"en": "A mug"}}));
    let no_bucket = |_key: String| async { Ok(None) };
    let image = media::attach(pool, shop, mug, &image, no_bucket).await.unwrap();
    let alt = self::draft(json!({"alt": {"en": "The mug"}}));
    media::update(pool, shop, mug, image.id, image.version, &alt).await.unwrap();
    media::delete(pool, shop, mug, image.id).await.unwrap();

    // And the deletions.
    resource::delete::<Collection>(pool, shop, collection.id).await.unwrap();
    resource::delete::<Workflow>(pool, shop, workflow.id).await.unwrap();
    resource::delete::<TaxRate>(pool, shop, rate.id).await.unwrap();
    resource::delete::<ShippingRate>(pool, shop, shipping.id).await.unwrap();
    resource::delete::<ShippingZone>(pool, shop, zone.id).await.unwrap();
    resource::delete::<PriceList>(pool, shop, list.id).await.unwrap();
    resource::delete::<CustomerGroup>(pool, shop, group.id).await.unwrap();
    resource::delete::<SubscriptionPlan>(pool, shop, plan.id).await.unwrap();
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn the_outbox_holds_exactly_the_catalogued_event_types_after_every_kind_of_write(pool: PgPool) {
    let shop_draft = TenantDraft { locales: vec!["en".into()], ..TenantDraft::new("demo", "Demo") };
    let shop = tenant::create(&pool, &NewTenant::parse(&shop_draft).unwrap()).await.unwrap();
    every_kind_of_write(&pool, &shop).await;

    let rows: Vec<(String, String)> =
        sqlx::query_as("select distinct event_type, aggregate_type from outbox where tenant_id = $1")
            .bind(shop.id)
            .fetch_all(&pool)
            .await
            .unwrap();
    for (event_type, aggregate) in &rows {
        let kind = catalogue::find(event_type)
            .unwrap_or_else(|| panic!("{event_type} is appended but missing from the catalogue"));
        assert_eq!(&kind.aggregate, aggregate, "{event_type}: the catalogue names another aggregate");
    }
    let appended: BTreeSet<&str> = rows.iter().map(|(t, _)| t.as_str()).collect();
    let listed: BTreeSet<&str> = CATALOGUE.iter().map(|k| k.event_type).collect();
    let never: Vec<&&str> = listed.difference(&appended).collect();
    assert!(
        never.is_empty(),
        "catalogued but not appended by any write here (extend the test or drop them): {never:?}"
    );
}
