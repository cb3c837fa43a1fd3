//! Collections on the storefront: the list, a collection's page in its order (manual lists,
//! automatic rules), `GET /storefront/products?collection=…`, images as public URLs, and
//! read-your-writes through the cache; plus `storefront::collection_products`, which pages
//! call for their product grids.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use http::{Method, StatusCode};
use kassa_domain::collections::CollectionSort;
use kassa_domain::storefront::{self, Audience};
use kassa_runtime::media::MediaStore;
use kassa_testkit::{CollectionBuilder, ProductBuilder, StaffClient, VariantBuilder};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

mod common;

use common::{Shop, shop_with};

/// The shop and its products' ids: mug (€10, summer, blue), cup (€25, summer, red), plate (€5,
/// winter, blue), secret (draft, summer).
async fn shop(pool: PgPool) -> (Shop, [Uuid; 4]) {
    let shop = shop_with(pool, |config| config.valkey_timeout = std::time::Duration::from_secs(2)).await;
    let Shop { app, demo, .. } = &shop;
    let product = |handle: &str, cents: i64, tag: &str, color: &str| {
        ProductBuilder::new(handle).title(&handle.to_uppercase()).active().tag(tag).variant(
            VariantBuilder::new(&handle.to_uppercase()).price(cents).stock(3).attribute("color", color),
        )
    };
    let mug = product("mug", 1000, "summer", "blue").create(app, demo).await.product.id;
    let cup = product("cup", 2500, "summer", "red").create(app, demo).await.product.id;
    let plate = product("plate", 500, "winter", "blue").create(app, demo).await.product.id;
    let secret =
        product("secret", 100, "summer", "blue").status(kassa_domain::products::ProductStatus::Draft);
    let secret = secret.create(app, demo).await.product.id;
    (shop, [mug, cup, plate, secret])
}

impl Shop {
    fn editor(&self) -> StaffClient<'_> {
        self.app.staff(&self.issuer, &self.demo, "editor")
    }

    async fn handles(&self, uri: &str, field: &str) -> Vec<String> {
        let body = self.get(uri).await.expect(StatusCode::OK);
        body[field].as_array().unwrap().iter().map(|p| p["handle"].as_str().unwrap().to_owned()).collect()
    }

    fn audience(&self) -> Audience {
        Audience {
            locale: "en".into(),
            currency: "EUR".into(),
            groups: Vec::new(),
            at: chrono::Utc::now(),
            media_base_url: self.app.state.config.media_base_url.clone(),
        }
    }
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_manual_collection_shows_its_active_products_in_its_order_and_in_the_shoppers_language(
    pool: PgPool,
) {
    let (s, [mug, cup, plate, secret]) = shop(pool).await;
    CollectionBuilder::new("featured")
        .title_in("nl", "Uitgelicht")
        .product(plate)
        .product(secret)
        .product(mug)
        .create(&s.app, &s.demo)
        .await;
    CollectionBuilder::new("empty").create(&s.app, &s.demo).await;
    let page = s.get("/storefront/collections/featured?locale=nl").await.expect(StatusCode::OK);
    assert_eq!(page["title"], "Uitgelicht");
    let handles: Vec<&str> =
        page["products"].as_array().unwrap().iter().map(|p| p["handle"].as_str().unwrap()).collect();
    assert_eq!(handles, ["plate", "mug"], "in the list's order, without the draft");
    assert_eq!(s.handles("/storefront/collections/featured?limit=1", "products").await, ["plate"]);
    let listed = s.get("/storefront/collections?locale=nl&limit=1").await.expect(StatusCode::OK);
    assert_eq!(listed["items"], json!([{"handle": "featured", "title": "Uitgelicht", "description": ""}]));
    let next = listed["next_cursor"].as_str().unwrap();
    assert_eq!(
        s.handles(&format!("/storefront/collections?limit=1&cursor={next}"), "items").await,
        ["empty"]
    );

    // The product list filters by it, in the list's own sort.
    assert_eq!(
        s.handles("/storefront/products?collection=featured&sort=price_asc", "items").await,
        ["plate", "mug"]
    );
    s.get("/storefront/products?collection=nope").await.problem(StatusCode::NOT_FOUND, "not_found");
    s.get("/storefront/products?collection=Not%20A%20Handle")
        .await
        .problem(StatusCode::BAD_REQUEST, "invalid_handle");
    s.get("/storefront/collections/nope").await.problem(StatusCode::NOT_FOUND, "not_found");
    s.get("/storefront/collections/featured?limit=101")
        .await
        .problem(StatusCode::BAD_REQUEST, "invalid_limit");

    // What a page's product grid gets: by handle or id, at most `limit`.
    let grid = storefront::collection_products(&s.app.state.db, &s.demo, &s.audience(), "featured", 10)
        .await
        .unwrap();
    assert_eq!(grid.iter().map(|p| p.handle.as_str()).collect::<Vec<_>>(), ["plate", "mug"]);
    let _ = cup;
    // Another shop has no such collection.
    let other = s.app.tenant("other").await;
    let missing =
        storefront::collection_products(&s.app.state.db, &other, &s.audience(), "featured", 10).await;
    assert!(matches!(missing, Err(kassa_domain::DomainError::NotFound { .. })), "{missing:?}");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn automatic_collections_hold_the_products_their_rules_match(pool: PgPool) {
    let (s, _) = shop(pool).await;
    let rules = [
        (json!({"tags": ["summer"]}), vec!["cup", "mug"]),
        (json!({"tags": ["summer", "winter"], "attributes": {"color": ["blue"]}}), vec!["mug", "plate"]),
        (json!({"price": {"currency": "EUR", "min": 600, "max": 2500}}), vec!["cup", "mug"]),
        (json!({"price": {"currency": "EUR", "max": 1000}, "status": "active"}), vec!["mug", "plate"]),
        (json!({"tags": ["autumn"]}), vec![]),
    ];
    for (n, (rule, expected)) in rules.into_iter().enumerate() {
        let handle = format!("rule-{n}");
        let sort = CollectionSort::PriceDesc;
        let collection =
            CollectionBuilder::new(&handle).rules(rule.clone()).sort(sort).create(&s.app, &s.demo).await;
        let grid = storefront::collection_products(
            &s.app.state.db,
            &s.demo,
            &s.audience(),
            &collection.id.to_string(),
            10,
        )
        .await
        .unwrap();
        let mut got: Vec<&str> = grid.iter().map(|p| p.handle.as_str()).collect();
        assert_eq!(got, expected, "{rule} (price, highest first)");
        let in_order =
            s.handles(&format!("/storefront/products?collection={handle}&sort=price_desc"), "items").await;
        assert_eq!(in_order, got, "{rule}: the list in the grid's order agrees, item for item");
        got.sort_unstable();
        let mut listed = s.handles(&format!("/storefront/products?collection={handle}"), "items").await;
        listed.sort_unstable();
        assert_eq!(listed, got, "{rule}: the list's filter agrees");
    }
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn collection_reads_never_show_a_stale_answer_after_a_write(pool: PgPool) {
    let (s, [mug, cup, plate, _]) = shop(pool).await;
    let editor = s.editor();
    let featured = CollectionBuilder::new("featured").product(mug).product(cup).create(&s.app, &s.demo).await;
    let summer =
        CollectionBuilder::new("summer").rules(json!({"tags": ["summer"]})).sort(CollectionSort::Title);
    summer.create(&s.app, &s.demo).await;
    let reads = [
        "/storefront/collections/featured",
        "/storefront/collections/summer",
        "/storefront/products?collection=summer",
    ];
    let warm = || async {
        for uri in reads {
            s.get(uri).await.expect(StatusCode::OK);
            assert_eq!(s.get(uri).await.header("x-cache"), Some("hit"), "{uri} is cached");
        }
    };
    warm().await;
    let products = format!("/management/collections/{}/products", featured.id);
    editor
        .call(Method::PUT, &products, Some(&json!({"product_ids": [plate, mug]})), &[])
        .await
        .expect(StatusCode::OK);
    assert_eq!(s.handles("/storefront/collections/featured", "products").await, ["plate", "mug"]);

    warm().await;
    // A product's new tag moves it into the automatic collection at once.
    let uri = format!("/management/products/{plate}");
    editor.patch(&uri, &json!({"tags": ["summer"]}), None).await.expect(StatusCode::OK);
    assert_eq!(s.handles("/storefront/collections/summer", "products").await, ["cup", "mug", "plate"]);
    assert_eq!(
        s.handles("/storefront/products?collection=summer&sort=title", "items").await,
        ["cup", "mug", "plate"]
    );

    warm().await;
    // A changed rule, a renamed title: at once too.
    let collection = format!("/management/collections/{}", featured.id);
    editor.patch(&collection, &json!({"title": {"en": "Picks"}}), None).await.expect(StatusCode::OK);
    assert_eq!(s.get("/storefront/collections/featured").await.expect(StatusCode::OK)["title"], "Picks");
    editor.delete(&collection).await;
    s.get("/storefront/collections/featured").await.problem(StatusCode::NOT_FOUND, "not_found");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn shoppers_get_public_image_urls_a_thumbnail_on_lists_and_every_image_on_the_page(pool: PgPool) {
    let (s, [mug, ..]) = shop(pool).await;
    let editor = s.editor();
    let store = MediaStore::shared(&s.app.state.config).await;
    store.ensure_bucket(&[]).await.unwrap();
    let ticket = editor
        .post("/management/uploads", &json!({"content_type": "image/webp", "size": 4}))
        .await
        .expect(StatusCode::CREATED);
    let key = ticket["key"].as_str().unwrap();
    store.put(key, "image/webp", b"RIFF".to_vec()).await.unwrap();
    s.get("/storefront/products/mug").await.expect(StatusCode::OK);
    let media = format!("/management/products/{mug}/media");
    editor
        .post(&media, &json!({"key": key, "alt": {"en": "A mug", "nl": "Een mok"}}))
        .await
        .expect(StatusCode::CREATED);
    editor.post(&media, &json!({"url": "https://cdn.example/mug-2.jpg"})).await.expect(StatusCode::CREATED);

    let base = &s.app.state.config.media_base_url;
    let page = s.get("/storefront/products/mug?locale=nl").await.expect(StatusCode::OK);
    assert_eq!(
        page["images"],
        json!([{"url": format!("{base}/{key}"), "alt": "Een mok"}, {"url": "https://cdn.example/mug-2.jpg", "alt": ""}])
    );
    let list = s.get("/storefront/products?sort=title").await.expect(StatusCode::OK);
    let thumbnails: Vec<&Value> = list["items"].as_array().unwrap().iter().map(|p| &p["thumbnail"]).collect();
    assert_eq!(thumbnails, [&Value::Null, &json!(format!("{base}/{key}")), &Value::Null], "cup, mug, plate");
    // The public URL serves the object (the emulator's bucket URL locally).
    let served = reqwest_get(&format!("{base}/{key}")).await;
    assert_eq!(served, b"RIFF");
}

async fn reqwest_get(url: &str) -> Vec<u8> {
    let response = reqwest::get(url).await.unwrap();
    assert!(response.status().is_success(), "{url}: {}", response.status());
    response.bytes().await.unwrap().to_vec()
}
