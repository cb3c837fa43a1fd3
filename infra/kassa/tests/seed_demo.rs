//! `make dev` runs `kassa seed-demo` on every start, after staff may have edited the demo
//! shops through the API (a fuzzing run against the dev server did just that). Seeding again
//! adds only what is missing, says what it skipped, and never fails over staff's changes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use http::StatusCode;
use kassa_cli::{catalog_seed, local_routes, media_seed, seed};
use kassa_domain::products;
use kassa_domain::tenant::Tenant;
use kassa_testkit::{Issuer, StaffClient, TestApp};
use serde_json::{Value, json};
use sqlx::PgPool;

async fn product(app: &TestApp, tenant: &Tenant, handle: &str) -> products::Product {
    products::find_by_handle(&app.state.db, tenant, handle).await.unwrap().unwrap()
}

/// The product's variants: `(id, sku, version)`.
async fn variants(staff: &StaffClient<'_>, product: &products::Product) -> Vec<(String, String, i64)> {
    let list =
        staff.get(&format!("/management/products/{}/variants", product.id)).await.expect(StatusCode::OK);
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["id"].as_str().unwrap().to_owned(),
                v["sku"].as_str().unwrap().to_owned(),
                v["version"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// Renames the variant `from` of `product` to `to`, through the API.
async fn rename_sku(staff: &StaffClient<'_>, product: &products::Product, from: &str, to: &str) {
    let (id, _, version) =
        variants(staff, product).await.into_iter().find(|(_, sku, _)| sku == from).unwrap();
    let uri = format!("/management/products/{}/variants/{id}", product.id);
    staff.patch(&uri, &json!({"sku": to}), Some(version)).await.expect(StatusCode::OK);
}

/// The id of the item of the list at `uri` for which `pick` holds.
async fn find(staff: &StaffClient<'_>, uri: &str, pick: impl Fn(&Value) -> bool) -> (String, i64) {
    let page = staff.get(uri).await.expect(StatusCode::OK);
    let item = page["items"].as_array().unwrap().iter().find(|i| pick(i)).unwrap_or_else(|| panic!("{page}"));
    (item["id"].as_str().unwrap().to_owned(), item["version"].as_i64().unwrap_or(0))
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn seeding_again_after_staff_renamed_deleted_and_reused_demo_data_adds_only_what_is_missing(
    pool: PgPool,
) {
    let issuer = Issuer::start().await;
    let app = TestApp::with_config(pool.clone(), issuer.config(), local_routes);
    let [demo, other]: [Tenant; 2] = seed::seed_demo(&pool).await.unwrap().try_into().unwrap();
    let staff = app.staff(&issuer, &demo, "owner");
    let other_staff = app.staff(&issuer, &other, "owner");

    // A product renamed: its handle is free, its SKUs are still its own.
    let apron = product(&app, &demo, "natural-apron").await;
    let uri = format!("/management/products/{}", apron.id);
    staff.patch(&uri, &json!({"handle": "apron-classic"}), Some(apron.version)).await.expect(StatusCode::OK);

    // A SKU moved: natural-mug's 250 ml SKU now belongs to a variant of indigo-mug.
    let natural_mug = product(&app, &demo, "natural-mug").await;
    let indigo_mug = product(&app, &demo, "indigo-mug").await;
    rename_sku(&staff, &natural_mug, "MUG-NATURAL-250", "MUG-NATURAL-250-OLD").await;
    rename_sku(&staff, &indigo_mug, "MUG-BLUE-250", "MUG-NATURAL-250").await;

    // A draft product deleted (gone for good), after one of its SKUs went to another product.
    let candle = product(&app, &demo, "terracotta-candle").await;
    let sage_candle = product(&app, &demo, "sage-candle").await;
    rename_sku(&staff, &candle, "CANDLE-RED-20", "CANDLE-RED-20-X").await;
    rename_sku(&staff, &sage_candle, "CANDLE-GREEN-20", "CANDLE-RED-20").await;
    let deleted = staff.delete(&format!("/management/products/{}", candle.id)).await.expect(StatusCode::OK);
    assert_eq!(deleted["outcome"], "deleted", "{deleted}");

    // A draft product deleted outright, and an active one "deleted" (archived).
    let draft_apron = product(&app, &demo, "terracotta-apron").await;
    staff.delete(&format!("/management/products/{}", draft_apron.id)).await.expect(StatusCode::OK);
    let tote = product(&app, &demo, "indigo-tote-bag").await;
    let archived = staff.delete(&format!("/management/products/{}", tote.id)).await.expect(StatusCode::OK);
    assert_eq!(archived["outcome"], "archived", "{archived}");

    // The default workflow deleted in the demo shop, renamed in the other; a tax rate deleted.
    let (workflow, _) = find(&staff, "/management/workflows", |w| w["name"] == "On order placed").await;
    staff.delete(&format!("/management/workflows/{workflow}")).await.expect(StatusCode::NO_CONTENT);
    let (renamed, version) =
        find(&other_staff, "/management/workflows", |w| w["name"] == "On order placed").await;
    let uri = format!("/management/workflows/{renamed}");
    other_staff.patch(&uri, &json!({"name": "Orders"}), Some(version)).await.expect(StatusCode::OK);
    let nl_standard = |r: &Value| r["country"] == "NL" && r["tax_class"] == "standard";
    let (tax_rate, _) = find(&staff, "/management/tax-rates?limit=100", nl_standard).await;
    staff.delete(&format!("/management/tax-rates/{tax_rate}")).await.expect(StatusCode::NO_CONTENT);

    // Customer groups and the price list: vip renamed, the wholesale list deleted.
    let (vip, version) = find(&staff, "/management/customer-groups", |g| g["handle"] == "vip").await;
    let uri = format!("/management/customer-groups/{vip}");
    staff.patch(&uri, &json!({"handle": "vip-old"}), Some(version)).await.expect(StatusCode::OK);
    let (list, _) = find(&staff, "/management/price-lists", |l| l["name"] == "Wholesale (B2B)").await;
    staff.delete(&format!("/management/price-lists/{list}")).await.expect(StatusCode::NO_CONTENT);

    let seeded = seed::seed_demo_reporting(&pool).await.expect("seeding again succeeds");
    let report = &seeded.report;
    let mut added = report.added.clone();
    added.sort();
    assert_eq!(
        added,
        [
            "demo: customer group vip",
            "demo: price list Wholesale (B2B)",
            "demo: product terracotta-apron",
            "demo: tax rate NL standard",
            "demo: workflow On order placed",
        ]
    );
    assert_eq!(
        report.skipped,
        [
            "other: workflow On order placed (the shop's workflow Orders handles order.placed)",
            "demo: product natural-apron (its SKU APRON-NATURAL-S is used by product apron-classic)",
            "demo: product terracotta-candle (its SKU CANDLE-RED-20 is used by product sage-candle)",
        ]
    );

    // What staff did stays as they left it.
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.unwrap() }
    };
    assert!(products::find_by_handle(&pool, &demo, "natural-apron").await.unwrap().is_none());
    assert_eq!(count("select count(*) from products where handle = 'apron-classic'").await, 1);
    assert_eq!(product(&app, &demo, "indigo-tote-bag").await.status, products::ProductStatus::Archived);
    let mugs: Vec<String> = variants(&staff, &natural_mug).await.into_iter().map(|(_, sku, _)| sku).collect();
    assert_eq!(mugs, ["MUG-NATURAL-250-OLD", "MUG-NATURAL-350", "MUG-NATURAL-450"], "no variant added back");
    assert!(products::find_by_handle(&pool, &demo, "terracotta-candle").await.unwrap().is_none());
    let restored = product(&app, &demo, "terracotta-apron").await;
    assert_eq!(variants(&staff, &restored).await.len(), 3);
    assert_eq!(
        count("select count(*) from workflows where trigger = 'order.placed'").await,
        2,
        "one per shop"
    );
    assert_eq!(count("select count(*) from tax_rates").await, 16);
    assert_eq!(count("select count(*) from customer_groups").await, 3);
    assert_eq!(count("select count(*) from price_lists").await, 1);
    // Two tiers for every demo SKU the shop still has: of the 150, MUG-BLUE-250 and
    // CANDLE-GREEN-20 were renamed, CANDLE-RED-40 and -60 deleted with their product
    // (CANDLE-RED-20 lives on, on sage-candle); the restored apron's are back.
    assert_eq!(count("select count(*) from price_list_prices").await, 2 * (150 - 4));

    // Once nothing is missing, seeding again adds nothing and writes no event.
    let events = count("select count(*) from outbox").await;
    let again = seed::seed_demo_reporting(&pool).await.unwrap();
    assert!(again.report.added.is_empty(), "{:?}", again.report.added);
    assert_eq!(again.report.skipped, report.skipped);
    assert_eq!(count("select count(*) from outbox").await, events, "the third run wrote nothing");

    // A renamed price list is still the wholesale group's: no second list competes with it.
    let (list, version) = find(&staff, "/management/price-lists", |l| l["name"] == "Wholesale (B2B)").await;
    let uri = format!("/management/price-lists/{list}");
    staff.patch(&uri, &json!({"name": "B2B prices"}), Some(version)).await.expect(StatusCode::OK);
    let renamed = seed::seed_demo_reporting(&pool).await.unwrap();
    assert!(renamed.report.added.is_empty(), "{:?}", renamed.report.added);
    let skipped =
        "demo: price list Wholesale (B2B) (the shop's price list B2B prices is the wholesale group's)";
    assert_eq!(renamed.report.skipped.last().map(String::as_str), Some(skipped));
    assert_eq!(count("select count(*) from price_lists").await, 1);

    // And the shop still serves.
    let shop = app.get("/storefront/products", &[("host", "demo.localhost:8080")]).await;
    assert_eq!(shop.status, StatusCode::OK, "{}", String::from_utf8_lossy(&shop.body));
    assert!(!shop.json()["items"].as_array().unwrap().is_empty());
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn the_demo_shoppers_sign_in_and_see_their_groups_prices(pool: PgPool) {
    let issuer = Issuer::start().await;
    let app = TestApp::with_config(pool.clone(), issuer.config(), local_routes);
    seed::seed_demo(&pool).await.unwrap();
    // Seeding again keeps them (and their passwords) as they are.
    let again = seed::seed_demo_reporting(&pool).await.unwrap();
    assert!(again.report.added.iter().all(|a| !a.contains("shopper")), "{:?}", again.report.added);
    let mut prices = Vec::new();
    for (email, _) in seed::DEMO_SHOPPERS {
        let tokens = app
            .call(
                http::Method::POST,
                "/storefront/customers/sign-in",
                &[("x-tenant-id", "demo")],
                Some(&json!({"email": email, "password": seed::SHOPPER_PASSWORD})),
            )
            .await
            .expect(StatusCode::OK);
        let bearer = format!("Bearer {}", tokens["access_token"].as_str().unwrap());
        let page = app
            .get(
                "/storefront/products/natural-plant-pot",
                &[("x-tenant-id", "demo"), ("authorization", &bearer)],
            )
            .await
            .expect(StatusCode::OK);
        prices.push((
            email,
            page["variants"][0]["price"]["amount"].as_i64().unwrap(),
            page["variants"][0]["price"]["source"].clone(),
        ));
    }
    let base = prices[0].1;
    assert_eq!(prices[0].2, "base");
    assert_eq!(
        (prices[1].1, prices[1].2.clone()),
        (base * 8 / 10, json!("price_list")),
        "wholesale: 20 % off"
    );
    assert_eq!(prices[2].2, "base", "vip has no price list in the demo data");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn the_demo_shop_gets_two_collections_and_an_image_per_product_once_and_keeps_staff_changes(
    pool: PgPool,
) {
    let issuer = Issuer::start().await;
    let app = TestApp::with_config(pool.clone(), issuer.config(), local_routes);
    let seeded = seed::seed_demo_reporting(&pool).await.unwrap();
    let demo = seeded.tenants[0].clone();
    let mut report = seeded.report;
    let config = &app.state.config;
    let added = media_seed::seed_images(&pool, config, &demo, &mut report).await.unwrap();
    assert_eq!(added, catalog_seed::demo_catalog().len(), "{:?}", report.skipped);

    let shop = |uri: String| {
        let app = &app;
        async move { app.get(&uri, &[("x-tenant-id", "demo")]).await.expect(StatusCode::OK) }
    };
    let featured = shop("/storefront/collections/featured".into()).await;
    let handles: Vec<&str> =
        featured["products"].as_array().unwrap().iter().map(|p| p["handle"].as_str().unwrap()).collect();
    assert_eq!(handles, media_seed::FEATURED, "in the seeded order");
    let cheap = shop("/storefront/collections/under-20?limit=100".into()).await;
    let prices: Vec<i64> = cheap["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["price_from"]["amount"].as_i64().unwrap())
        .collect();
    assert!(!prices.is_empty() && prices.iter().all(|p| *p <= 2_000), "{prices:?}");
    assert!(prices.is_sorted(), "cheapest first: {prices:?}");
    // Every product has its image; the URL serves a PNG.
    let page = shop("/storefront/products?limit=100".into()).await;
    let thumbnails: Vec<&str> =
        page["items"].as_array().unwrap().iter().map(|p| p["thumbnail"].as_str().unwrap()).collect();
    let png = reqwest::get(thumbnails[0]).await.unwrap().bytes().await.unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    // Staff delete "featured", drop a product's image and retitle "under-20": seeding again
    // brings back the collection and the image only.
    let staff = app.staff(&issuer, &demo, "owner");
    let (featured_id, _) = find(&staff, "/management/collections", |c| c["handle"] == "featured").await;
    staff.delete(&format!("/management/collections/{featured_id}")).await;
    let (cheap_id, _) = find(&staff, "/management/collections", |c| c["handle"] == "under-20").await;
    let retitled = json!({"title": {"en": "Bargains"}});
    staff.patch(&format!("/management/collections/{cheap_id}"), &retitled, None).await.expect(StatusCode::OK);
    let mug = product(&app, &demo, "indigo-mug").await;
    let images = staff.get(&format!("/management/products/{}/media", mug.id)).await.expect(StatusCode::OK);
    let image = images["items"][0]["id"].as_str().unwrap();
    staff.delete(&format!("/management/products/{}/media/{image}", mug.id)).await;

    let again = seed::seed_demo_reporting(&pool).await.unwrap();
    let mut report = again.report;
    assert_eq!(media_seed::seed_images(&pool, config, &demo, &mut report).await.unwrap(), 1);
    assert!(report.added.contains(&"demo: collection featured".to_owned()), "{:?}", report.added);
    assert!(!report.added.iter().any(|a| a.contains("under-20")), "{:?}", report.added);
    assert_eq!(shop("/storefront/collections/under-20".into()).await["title"], "Bargains");
    // A third run adds nothing at all.
    let mut report = seed::seed_demo_reporting(&pool).await.unwrap().report;
    assert_eq!(media_seed::seed_images(&pool, config, &demo, &mut report).await.unwrap(), 0);
    assert!(report.added.is_empty(), "{:?}", report.added);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn without_a_reachable_bucket_the_seed_skips_the_images_and_says_why(pool: PgPool) {
    let issuer = Issuer::start().await;
    let app = TestApp::with_config(pool.clone(), issuer.config(), local_routes);
    let seeded = seed::seed_demo_reporting(&pool).await.unwrap();
    let mut report = seeded.report;
    // Nothing listens on port 9 of loopback.
    let config = kassa_testkit::test_config(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:9")]);
    let added = media_seed::seed_images(&pool, &config, &seeded.tenants[0], &mut report).await.unwrap();
    assert_eq!(added, 0);
    assert!(
        report.skipped.iter().any(|s| s.starts_with("demo: product images (the media bucket is unavailable")),
        "{:?}",
        report.skipped
    );
    let images: i64 =
        sqlx::query_scalar("select count(*) from product_media").fetch_one(&app.owner).await.unwrap();
    assert_eq!(images, 0);
}
