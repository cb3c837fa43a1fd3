//! The storefront's product reads: only what shoppers may see, in their language and at
//! their price, from a response cache that a management write invalidates before it returns.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::sync::atomic::Ordering;

use axum::Router;
use http::StatusCode;
use kassa_domain::tenant::Tenant;
use kassa_http::AppState;
use kassa_testkit::{
    CustomerBuilder, CustomerGroupBuilder, Issuer, PriceListBuilder, ProductBuilder, ProductWithVariants,
    SignedIn, StaffClient, TestApp, TestResponse, VariantBuilder, test_config,
};
use serde_json::{Value, json};
use sqlx::PgPool;

fn routes(state: AppState) -> Router {
    kassa_storefront::router(state.clone()).merge(kassa_products::router(state))
}

struct Shop {
    app: TestApp,
    issuer: Issuer,
    demo: Tenant,
}

async fn shop_with(pool: PgPool, overrides: &[(&str, &str)]) -> Shop {
    let issuer = Issuer::start().await;
    let mut config = issuer.config();
    let extra = test_config(overrides);
    config.valkey_url = extra.valkey_url;
    config.storefront_cache = extra.storefront_cache;
    // A loaded test machine is no Valkey outage: 50 ms (the default) would let the cache step
    // aside mid-test and compute an answer twice.
    config.valkey_timeout = std::time::Duration::from_secs(2);
    let app = TestApp::with_config(pool, config, routes);
    let demo = app.tenant("demo").await;
    Shop { app, issuer, demo }
}

async fn shop(pool: PgPool) -> Shop {
    shop_with(pool, &[]).await
}

impl Shop {
    fn editor(&self) -> StaffClient<'_> {
        self.app.staff(&self.issuer, &self.demo, "editor")
    }

    async fn get(&self, uri: &str, headers: &[(&str, &str)]) -> TestResponse {
        let mut all = vec![("x-tenant-id", "demo")];
        all.extend_from_slice(headers);
        self.app.get(uri, &all).await
    }

    /// Creates `product` in the demo shop.
    async fn create(&self, product: ProductBuilder) -> ProductWithVariants {
        product.create(&self.app, &self.demo).await
    }

    async fn handles(&self, uri: &str) -> Vec<String> {
        let body = self.get(uri, &[]).await.expect(StatusCode::OK);
        body["items"].as_array().unwrap().iter().map(|p| p["handle"].as_str().unwrap().to_owned()).collect()
    }
}

/// The active product "Mug" selling MUG at €10.00, `stock` in stock.
fn mug(stock: i64) -> ProductBuilder {
    ProductBuilder::new("mug")
        .title("Mug")
        .active()
        .variant(VariantBuilder::new("MUG").price(1000).stock(stock))
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn only_active_products_of_this_shop_appear_whether_cached_or_not(pool: PgPool) {
    let s = shop(pool).await;
    s.create(mug(3)).await;
    let draft = s.create(ProductBuilder::new("secret").title("Secret")).await.product.id;
    s.create(ProductBuilder::new("old").title("Old").archived()).await;
    let other = s.app.tenant("other").await;
    ProductBuilder::new("theirs").title("Theirs").active().create(&s.app, &other).await;

    for round in 0..2 {
        let response = s.get("/storefront/products", &[]).await;
        assert_eq!(response.header("x-cache"), Some(if round == 0 { "miss" } else { "hit" }));
        let items = response.expect(StatusCode::OK)["items"].clone();
        assert_eq!(items.as_array().unwrap().len(), 1, "{items}");
        assert_eq!(items[0]["handle"], "mug");
        for handle in ["secret", "old", "theirs"] {
            s.get(&format!("/storefront/products/{handle}"), &[])
                .await
                .problem(StatusCode::NOT_FOUND, "not_found");
        }
    }
    // Publishing the draft shows it at once; archiving hides it at once.
    s.editor()
        .patch(&format!("/management/products/{draft}"), &json!({"status": "active"}), None)
        .await
        .expect(StatusCode::OK);
    assert_eq!(s.handles("/storefront/products").await, ["secret", "mug"]);
    s.editor().delete(&format!("/management/products/{draft}")).await.expect(StatusCode::OK);
    assert_eq!(s.handles("/storefront/products").await, ["mug"]);
    s.get("/storefront/products/secret", &[]).await.problem(StatusCode::NOT_FOUND, "not_found");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_read_after_a_title_change_never_shows_the_old_title(pool: PgPool) {
    let s = shop(pool).await;
    let id = s.create(mug(3).title("Mug 0")).await.product.id;
    let editor = s.editor();
    for i in 1..=100 {
        // Warm the cache with the current answer, then change it.
        s.get("/storefront/products/mug", &[]).await.expect(StatusCode::OK);
        s.get("/storefront/products", &[]).await.expect(StatusCode::OK);
        editor
            .patch(&format!("/management/products/{id}"), &json!({"title": {"en": format!("Mug {i}")}}), None)
            .await
            .expect(StatusCode::OK);
        let page = s.get("/storefront/products/mug", &[]).await.expect(StatusCode::OK);
        assert_eq!(page["title"], format!("Mug {i}"), "iteration {i}");
        let list = s.get("/storefront/products", &[]).await.expect(StatusCode::OK);
        assert_eq!(list["items"][0]["title"], format!("Mug {i}"), "iteration {i}");
    }
    let metrics = &s.app.state.cache.metrics;
    assert!(metrics.hits.load(Ordering::Relaxed) >= 100, "the cache was really used");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_read_after_a_stock_change_never_shows_a_stale_in_stock_flag(pool: PgPool) {
    let s = shop(pool).await;
    let mug = s.create(mug(1)).await;
    let editor = s.editor();
    let adjust = format!("/management/variants/{}/stock-adjustments", mug.variant().id);
    for i in 0..100 {
        let before = s.get("/storefront/products/mug", &[]).await.expect(StatusCode::OK);
        let in_stock = before["in_stock"].as_bool().unwrap();
        let delta = if in_stock { -1 } else { 1 };
        editor.post(&adjust, &json!({"delta": delta, "reason": "test"})).await.expect(StatusCode::OK);
        let after = s.get("/storefront/products/mug", &[]).await.expect(StatusCode::OK);
        assert_eq!(after["in_stock"], !in_stock, "iteration {i}");
        assert_eq!(after["variants"][0]["in_stock"], !in_stock, "iteration {i}");
        assert!(after["variants"][0].get("stock").is_none(), "the raw stock count is not public");
    }
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn an_unchanged_answer_is_a_304_and_a_changed_one_has_a_new_etag(pool: PgPool) {
    let s = shop(pool).await;
    let id = s.create(mug(3)).await.product.id;
    let first = s.get("/storefront/products/mug", &[]).await;
    assert_eq!(first.status, StatusCode::OK);
    let etag = first.header("etag").unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "a strong ETag: {etag}");
    assert_eq!(
        first.header("cache-control"),
        Some("public, max-age=60, s-maxage=30, stale-while-revalidate=300")
    );
    assert_eq!(first.header("vary"), Some("Accept-Language, X-Tenant-ID, Authorization"));
    // What a CDN may purge the answer by: the shop and the product it shows.
    assert_eq!(first.header("surrogate-key"), Some(format!("shop-{} product-{id}", s.demo.id).as_str()));
    assert_eq!(first.header("content-language"), Some("en"));

    let again = s.get("/storefront/products/mug", &[("if-none-match", &etag)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), Some(etag.as_str()));

    s.editor()
        .patch(&format!("/management/products/{id}"), &json!({"title": {"en": "Big mug"}}), None)
        .await
        .expect(StatusCode::OK);
    let changed = s.get("/storefront/products/mug", &[("if-none-match", &etag)]).await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_ne!(changed.header("etag"), Some(etag.as_str()));
    assert_eq!(changed.json()["title"], "Big mug");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn the_storefront_answers_from_postgres_when_valkey_is_down(pool: PgPool) {
    let s = shop_with(pool, &[("VALKEY_URL", "redis://127.0.0.1:1")]).await;
    s.create(
        ProductBuilder::new("mug")
            .title("Mug")
            .active()
            .variant(VariantBuilder::new("MUG").price(1000).stock(3).attribute("color", "red")),
    )
    .await;
    let response = s.get("/storefront/products/mug", &[]).await;
    assert_eq!(response.header("x-cache"), Some("bypass"));
    let page = response.expect(StatusCode::OK);
    assert_eq!((page["title"].clone(), page["price_from"]["amount"].clone()), (json!("Mug"), json!(1000)));
    assert_eq!(s.handles("/storefront/products?attr[color]=red").await, ["mug"]);
    assert!(s.app.state.cache.metrics.errors.load(Ordering::Relaxed) >= 1, "the outage is counted");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn text_comes_in_the_requested_locale_or_the_shops_default(pool: PgPool) {
    let s = shop(pool).await;
    s.create(ProductBuilder::new("apron").titles(&[("en", "Apron"), ("nl", "Schort")]).active()).await;
    s.create(ProductBuilder::new("mug").title("Mug").active()).await;
    let nl = s.get("/storefront/products/apron?locale=nl", &[]).await;
    assert_eq!(nl.header("content-language"), Some("nl"));
    assert_eq!(nl.json()["title"], "Schort");
    let negotiated =
        s.get("/storefront/products/apron", &[("accept-language", "fr;q=0.9, nl-BE;q=0.8")]).await;
    assert_eq!(
        (negotiated.header("content-language"), negotiated.json()["title"].clone()),
        (Some("nl"), json!("Schort"))
    );
    // Dutch asked, no Dutch title: the default locale's text.
    assert_eq!(s.get("/storefront/products/mug?locale=nl", &[]).await.json()["title"], "Mug");
    let unsupported = s.get("/storefront/products/apron?locale=fr", &[]).await;
    assert_eq!(
        (unsupported.header("content-language"), unsupported.json()["title"].clone()),
        (Some("en"), json!("Apron"))
    );
    // Sorting by title uses the locale too.
    assert_eq!(s.handles("/storefront/products?sort=title&locale=nl").await, ["mug", "apron"]);
    assert_eq!(s.handles("/storefront/products?sort=title").await, ["apron", "mug"]);
}

/// The title sort reads stored sort titles (`product_titles`, kept by triggers): they follow
/// title changes and the shop's locales, and sort exactly as the title itself would.
#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn the_title_sort_follows_title_changes_ties_and_the_shops_locales(pool: PgPool) {
    let s = shop(pool).await;
    let zebra = s.create(ProductBuilder::new("zebra").title("Zebra").active()).await.product.id;
    s.create(ProductBuilder::new("apple").titles(&[("en", "apple"), ("nl", "Zoete appel")]).active()).await;
    let twins = [
        s.create(ProductBuilder::new("mug-a").title("Mug").active()).await.product.id,
        s.create(ProductBuilder::new("mug-b").title("MUG").active()).await.product.id,
    ];
    // Equal titles (case aside) by product id.
    let mut twin_handles = [("mug-a", twins[0]), ("mug-b", twins[1])];
    twin_handles.sort_by_key(|(_, id)| *id);
    let [first, second] = twin_handles.map(|(handle, _)| handle);
    assert_eq!(s.handles("/storefront/products?sort=title").await, ["apple", first, second, "zebra"]);
    // Dutch: the apple's own Dutch title, the others fall back to English.
    assert_eq!(
        s.handles("/storefront/products?sort=title&locale=nl").await,
        [first, second, "zebra", "apple"]
    );

    s.editor()
        .patch(&format!("/management/products/{zebra}"), &json!({"title": {"en": "Aardvark"}}), None)
        .await
        .expect(StatusCode::OK);
    assert_eq!(s.handles("/storefront/products?sort=title").await, ["zebra", "apple", first, second]);
    s.editor().delete(&format!("/management/products/{}", twins[0])).await.expect(StatusCode::OK);
    assert_eq!(s.handles("/storefront/products?sort=title").await.len(), 3);

    // A locale the shop gains gets every product's key at once (its fallback: English).
    sqlx::query("update tenants set locales = locales || '{de}' where id = $1")
        .bind(s.demo.id.as_uuid())
        .execute(&s.app.owner)
        .await
        .unwrap();
    let german: Vec<(String, String)> = sqlx::query_as(
        "select p.handle, t.sort_title from product_titles t join products p on p.id = t.product_id
         where t.tenant_id = $1 and t.locale = 'de' order by t.sort_title, p.handle",
    )
    .bind(s.demo.id.as_uuid())
    .fetch_all(&s.app.owner)
    .await
    .unwrap();
    let every: i64 = sqlx::query_scalar("select count(*) from products where tenant_id = $1")
        .bind(s.demo.id.as_uuid())
        .fetch_one(&s.app.owner)
        .await
        .unwrap();
    assert_eq!(i64::try_from(german.len()).unwrap(), every);
    assert!(german.contains(&("zebra".to_owned(), "aardvark".to_owned())), "{german:?}");
    assert!(german.contains(&("apple".to_owned(), "apple".to_owned())), "{german:?}");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn prices_come_from_the_customer_groups_list_inside_its_window(pool: PgPool) {
    let s = shop(pool).await;
    let variant = s.create(mug(3)).await.variant().id;
    let (app, demo) = (&s.app, &s.demo);
    let wholesale = CustomerGroupBuilder::new("wholesale").create(app, demo).await;
    let expired = CustomerGroupBuilder::new("expired").create(app, demo).await;
    let list = |group: uuid::Uuid| PriceListBuilder::new("List", group);
    let current = list(wholesale.id).price(variant, 1, 800).price(variant, 10, 700).create(app, demo).await;
    let usd = list(wholesale.id).currency("USD").price(variant, 1, 950).create(app, demo).await;
    list(expired.id).ends_at("2020-01-01T00:00:00Z").price(variant, 1, 100).create(app, demo).await;

    let page = async |query: &str| s.get(&format!("/storefront/products/mug{query}"), &[]).await;
    let buyer = CustomerBuilder::new("buyer@example.com").in_group(wholesale.id).signed_in(app, demo).await;
    let lapsed = CustomerBuilder::new("lapsed@example.com").in_group(expired.id).signed_in(app, demo).await;
    let as_customer = async |who: &SignedIn, query: &str| {
        let response = s
            .get(&format!("/storefront/products/mug{query}"), &[("authorization", &who.authorization)])
            .await;
        assert_eq!(response.header("cache-control").map(|c| c.starts_with("private")), Some(true));
        response
    };
    let base = page("").await.json();
    assert_eq!(base["variants"][0]["price"], json!({"amount": 1000, "currency": "EUR", "source": "base"}));
    assert!(base["variants"][0].get("tier_prices").is_none());

    let b2b = as_customer(&buyer, "").await.json();
    assert_eq!(
        b2b["variants"][0]["price"],
        json!({"amount": 800, "currency": "EUR", "source": "price_list", "price_list_id": current.id})
    );
    assert_eq!(b2b["variants"][0]["tier_prices"], json!([{"min_quantity": 10, "amount": 700}]));
    assert_eq!(b2b["price_from"]["amount"], 800);

    assert_eq!(
        as_customer(&lapsed, "").await.json()["variants"][0]["price"]["source"],
        "base",
        "a list outside its window does not apply"
    );
    assert_eq!(
        as_customer(&buyer, "?currency=usd").await.json()["variants"][0]["price"],
        json!({"amount": 950, "currency": "USD", "source": "price_list", "price_list_id": usd.id})
    );
    assert_eq!(
        page("?currency=USD").await.json()["variants"][0]["price"],
        Value::Null,
        "no USD price without the list"
    );
    // The URL cannot pick a group any more: the parameter is unknown.
    page("?customer_group=wholesale").await.problem(StatusCode::BAD_REQUEST, "invalid_query");
    assert_eq!(page("").await.header("cache-control").map(|c| c.starts_with("public")), Some(true));
    page("?currency=EURO").await.problem(StatusCode::BAD_REQUEST, "unknown_currency");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn lists_filter_sort_page_and_count_facets(pool: PgPool) {
    let s = shop(pool).await;
    s.create(
        ProductBuilder::new("red-mug")
            .title("Red mug")
            .active()
            .variant(
                VariantBuilder::new("RM-S")
                    .price(900)
                    .stock(0)
                    .attribute("color", "red")
                    .attribute("size", "S"),
            )
            .variant(
                VariantBuilder::new("RM-L")
                    .price(1100)
                    .stock(2)
                    .attribute("color", "red")
                    .attribute("size", "L"),
            ),
    )
    .await;
    s.create(ProductBuilder::new("blue-mug").title("Blue mug").active().variant(
        VariantBuilder::new("BM-S").price(1500).stock(5).attribute("color", "blue").attribute("size", "S"),
    ))
    .await;
    s.create(
        ProductBuilder::new("green-apron").title("Green apron").active().variant(
            VariantBuilder::new("GA-M")
                .price(3000)
                .untracked()
                .attribute("color", "green")
                .attribute("size", "M"),
        ),
    )
    .await;
    // Without a price: after every priced product both ways, oldest first going up.
    s.create(ProductBuilder::new("gift-card").title("Gift card").active()).await;
    s.create(ProductBuilder::new("gift-wrap").title("Gift wrap").active()).await;

    assert_eq!(
        s.handles("/storefront/products?sort=price_asc").await,
        ["red-mug", "blue-mug", "green-apron", "gift-card", "gift-wrap"]
    );
    assert_eq!(
        s.handles("/storefront/products?sort=price_desc").await,
        ["green-apron", "blue-mug", "red-mug", "gift-wrap", "gift-card"]
    );
    assert_eq!(
        s.handles("/storefront/products?attr[color]=red,blue&sort=price_asc").await,
        ["red-mug", "blue-mug"]
    );
    assert_eq!(s.handles("/storefront/products?attr[color]=red&attr[size]=L").await, ["red-mug"]);
    assert_eq!(s.handles("/storefront/products?attr[color]=blue&attr[size]=L").await, Vec::<String>::new());
    assert_eq!(s.handles("/storefront/products?price_min=1000&price_max=2000").await, ["blue-mug"]);
    assert_eq!(s.handles("/storefront/products?q=MUG&sort=title").await, ["blue-mug", "red-mug"]);

    let list = s.get("/storefront/products?facets=color,size&attr[size]=S", &[]).await.expect(StatusCode::OK);
    assert_eq!(list["facets"], json!({"color": {"blue": 1, "red": 1}, "size": {"L": 1, "S": 2}}));
    let red = &list["items"].as_array().unwrap().iter().find(|p| p["handle"] == "red-mug").unwrap().clone();
    assert_eq!((red["price_from"]["amount"].clone(), red["in_stock"].clone()), (json!(900), json!(true)));

    // Pages of two, every product once, in the order of the whole list, in every sort (the
    // price sorts cross from priced to unpriced products inside a page and across pages).
    for sort in ["newest", "title", "price_asc", "price_desc"] {
        let whole = s.handles(&format!("/storefront/products?sort={sort}")).await;
        let mut seen = Vec::new();
        let mut uri = format!("/storefront/products?sort={sort}&limit=2");
        loop {
            let body = s.get(&uri, &[]).await.expect(StatusCode::OK);
            seen.extend(
                body["items"].as_array().unwrap().iter().map(|p| p["handle"].as_str().unwrap().to_owned()),
            );
            let Some(cursor) = body["next_cursor"].as_str() else { break };
            uri = format!("/storefront/products?sort={sort}&limit=2&cursor={cursor}");
        }
        assert_eq!(seen, whole, "{sort}");
        seen.sort();
        assert_eq!(seen, ["blue-mug", "gift-card", "gift-wrap", "green-apron", "red-mug"], "{sort}");
    }
    for (query, code) in [
        ("sort=cheap", "invalid_sort"),
        ("limit=500", "invalid_limit"),
        ("price_min=-1", "invalid_query"),
        ("colour=red", "invalid_query"),
        ("cursor=x", "invalid_cursor"),
    ] {
        s.get(&format!("/storefront/products?{query}"), &[]).await.problem(StatusCode::BAD_REQUEST, code);
    }
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn concurrent_misses_on_one_key_compute_once(pool: PgPool) {
    let s = shop(pool).await;
    s.create(mug(3)).await;
    let requests = (0..20).map(|_| s.get("/storefront/products/mug?locale=en", &[]));
    let responses = futures_util::future::join_all(requests).await;
    assert!(responses.iter().all(|r| r.status == StatusCode::OK));
    let etags: std::collections::HashSet<_> =
        responses.iter().map(|r| r.header("etag").unwrap().to_owned()).collect();
    assert_eq!(etags.len(), 1);
    assert_eq!(
        s.app.state.cache.metrics.computes.load(Ordering::Relaxed),
        1,
        "20 concurrent misses, one computation"
    );
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn the_shop_sets_its_own_http_cache_lifetimes(pool: PgPool) {
    let s = shop(pool).await;
    sqlx::query(
        r#"update tenants set settings = '{"storefront": {"max_age": 5, "stale_while_revalidate": 30,
           "routes": {"product": {"s_maxage": 600, "max_age": 20}}}}'"#,
    )
    .execute(&s.app.owner)
    .await
    .unwrap();
    let product = s.create(mug(3)).await.product.id;
    let other = s
        .create(
            ProductBuilder::new("jug").title("Jug").active().variant(VariantBuilder::new("JUG").price(900)),
        )
        .await
        .product
        .id;
    let response = s.get("/storefront/products", &[]).await;
    assert_eq!(
        response.header("cache-control"),
        Some("public, max-age=5, s-maxage=30, stale-while-revalidate=30")
    );
    let mut keys: Vec<&str> = response.header("surrogate-key").unwrap().split(' ').collect();
    keys.sort_unstable();
    let mut expected =
        [format!("product-{product}"), format!("product-{other}"), format!("shop-{}", s.demo.id)];
    expected.sort_unstable();
    assert_eq!(keys, expected);
    // A route of its own overrides the shop's lifetimes.
    let response = s.get("/storefront/products/mug", &[]).await;
    assert_eq!(
        response.header("cache-control"),
        Some("public, max-age=20, s-maxage=600, stale-while-revalidate=30")
    );
}
