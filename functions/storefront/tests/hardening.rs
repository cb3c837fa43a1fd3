//! Attacks on the public storefront that must fail: poisoning the shared cache, forged
//! cursors, unbounded anonymous work, stale answers after a failed invalidation or across
//! a price list's window.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Request, StatusCode};
use kassa_domain::tenant::TenantKey;
use kassa_http::tenancy::TenantResolver;
use kassa_testkit::{
    CustomerBuilder, CustomerGroupBuilder, PriceListBuilder, ProductBuilder, ProductWithVariants,
    TestResponse, VariantBuilder, test_config,
};
use serde_json::{Value, json};
use sqlx::PgPool;

mod common;

use common::{Shop, shop_with};

impl Shop {
    /// A request from a client at `ip` (as `kassa serve` sees its TCP peer).
    async fn get_from(&self, ip: IpAddr, uri: &str) -> TestResponse {
        let request = Request::get(uri)
            .header("x-tenant-id", "demo")
            .extension(ConnectInfo(SocketAddr::new(ip, 40_000)))
            .body(Body::empty())
            .unwrap();
        self.app.send(request).await
    }

    /// Creates `product` in the demo shop.
    async fn create(&self, product: ProductBuilder) -> ProductWithVariants {
        product.create(&self.app, &self.demo).await
    }

    fn items(body: &Value) -> Vec<String> {
        body["items"].as_array().unwrap().iter().map(|p| p["handle"].as_str().unwrap().to_owned()).collect()
    }
}

/// The active product "mug" selling MUG at €10.00, 5 in stock, in red.
fn red_mug() -> ProductBuilder {
    ProductBuilder::new("mug")
        .active()
        .variant(VariantBuilder::new("MUG").price(1000).stock(5).attribute("color", "red"))
}

fn forged_cursor(value: Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&value).unwrap())
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_filter_value_smuggling_an_ampersand_does_not_poison_the_cached_list(pool: PgPool) {
    let s = shop_with(pool, |_| {}).await;
    s.create(
        ProductBuilder::new("blue-mug")
            .active()
            .variant(VariantBuilder::new("MUG-B").price(1000).stock(5).attribute("color", "blue")),
    )
    .await;
    // One filter whose value is `blue&limit=7`: matches nothing.
    let smuggled = s.get("/storefront/products?attr%5Bcolor%5D=blue%26limit%3D7").await;
    assert_eq!(Shop::items(&smuggled.expect(StatusCode::OK)), Vec::<String>::new());
    // The honest question must not be answered from the smuggled one's entry.
    let honest = s.get("/storefront/products?attr%5Bcolor%5D=blue&limit=7").await;
    assert_eq!(honest.header("x-cache"), Some("miss"));
    assert_eq!(Shop::items(&honest.expect(StatusCode::OK)), ["blue-mug"]);
    // Equal questions in another spelling share the entry.
    let reordered = s.get("/storefront/products?limit=7&attr[color]=blue,blue").await;
    assert_eq!(reordered.header("x-cache"), Some("hit"));
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn forged_storefront_cursors_are_a_400_never_a_500(pool: PgPool) {
    let s = shop_with(pool, |_| {}).await;
    for n in 0..3 {
        let variant = VariantBuilder::new(&format!("MUG-{n}")).price(1000).stock(5).attribute("color", "red");
        s.create(ProductBuilder::new(&format!("mug-{n}")).active().variant(variant)).await;
    }
    let first = s.get("/storefront/products?limit=2").await.expect(StatusCode::OK);
    let next = first["next_cursor"].as_str().unwrap().to_owned();
    let second = s.get(&format!("/storefront/products?limit=2&cursor={next}")).await.expect(StatusCode::OK);
    assert_eq!(Shop::items(&second).len(), 1, "a genuine cursor still pages");

    let demo = s.demo.id.to_string();
    let id = uuid::Uuid::now_v7().to_string();
    let forged = [
        // The right shape, a sort key that is no timestamp (reached a Postgres cast before).
        json!({"o": "shop:newest:en:EUR", "t": demo, "k": "not a time", "i": id}),
        json!({"o": "shop:price_asc:en:EUR", "t": demo, "k": "1e999", "i": id}),
        json!({"o": "shop:title:en:EUR", "t": demo, "k": "a\u{0}b", "i": id}),
        // Another shop's cursor, another sort's, the old shape without a tenant.
        json!({"o": "shop:newest:en:EUR", "t": uuid::Uuid::now_v7(), "k": "2026-01-01T00:00:00Z", "i": id}),
        json!({"o": "shop:price_desc:en:EUR", "t": demo, "k": "2026-01-01T00:00:00Z", "i": id}),
        json!({"o": "newest:en:EUR", "k": "2026-01-01T00:00:00Z", "i": id}),
    ];
    for cursor in forged {
        let sort = cursor["o"].as_str().unwrap().split(':').nth(1).unwrap_or("newest").to_owned();
        let sort = if sort == "en" { "newest".to_owned() } else { sort };
        let uri = format!("/storefront/products?sort={sort}&cursor={}", forged_cursor(cursor.clone()));
        s.get(&uri).await.problem(StatusCode::BAD_REQUEST, "invalid_cursor");
    }
    for junk in ["%FF%FE", "e30", "AAAA", "eyJvIjpudWxsfQ"] {
        s.get(&format!("/storefront/products?cursor={junk}"))
            .await
            .problem(StatusCode::BAD_REQUEST, "invalid_cursor");
    }
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn unbounded_anonymous_queries_are_refused_with_a_clear_code(pool: PgPool) {
    let s = shop_with(pool, |_| {}).await;
    let long_q = "x".repeat(101);
    s.get(&format!("/storefront/products?q={long_q}"))
        .await
        .problem(StatusCode::BAD_REQUEST, "query_too_long");
    let filters: String = (0..6).map(|n| format!("&attr[a{n}]=v")).collect();
    s.get(&format!("/storefront/products?limit=5{filters}"))
        .await
        .problem(StatusCode::BAD_REQUEST, "too_many_filters");
    s.get("/storefront/products?facets=a,b,c,d,e,f")
        .await
        .problem(StatusCode::BAD_REQUEST, "too_many_facets");
    assert_eq!(s.get("/storefront/products?facets=a,b,c,d,e&q=mug").await.status, StatusCode::OK);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_client_flooding_cache_misses_gets_429_with_retry_after(pool: PgPool) {
    let s = shop_with(pool, |config| {
        config.storefront_miss_limit = 3;
        config.storefront_miss_window = Duration::from_secs(60);
    })
    .await;
    s.create(red_mug()).await;
    // A fresh address per run: the counters live in the shared Valkey.
    let attacker: IpAddr = format!("2001:db8::{:x}", rand_u16()).parse().unwrap();
    let neighbour: IpAddr = format!("2001:db8:1::{:x}", rand_u16()).parse().unwrap();
    for n in 0..3 {
        let uri = format!("/storefront/products?q=probe{n}");
        assert_eq!(s.get_from(attacker, &uri).await.status, StatusCode::OK);
    }
    let limited = s.get_from(attacker, "/storefront/products?q=probe3").await;
    limited.problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    // Cached answers cost nothing and stay served; other clients are not affected.
    let hit = s.get_from(attacker, "/storefront/products?q=probe0").await;
    assert_eq!((hit.status, hit.header("x-cache")), (StatusCode::OK, Some("hit")));
    assert_eq!(s.get_from(neighbour, "/storefront/products?q=probe3").await.status, StatusCode::OK);
}

fn rand_u16() -> u16 {
    (uuid::Uuid::new_v4().as_u128() & 0xffff) as u16
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn made_up_tenant_keys_cannot_push_real_shops_out_of_the_tenant_cache(pool: PgPool) {
    let s = shop_with(pool, |_| {}).await;
    let app = &s.app;
    let resolver = TenantResolver::with_unknown_capacity(Duration::from_secs(60), 50);
    let demo = TenantKey::Handle("demo".into());
    assert!(resolver.resolve(&app.state.db, &demo).await.unwrap().is_some());
    for n in 0..200 {
        let junk = TenantKey::Handle(format!("junk-{n}"));
        assert!(resolver.resolve(&app.state.db, &junk).await.unwrap().is_none());
    }
    let (known, unknown) = resolver.cached();
    assert_eq!(known, 1, "the real shop is still remembered");
    assert!(unknown <= 50, "{unknown} unknown keys kept");
}

/// A Valkey user of its own, whose INCR can be taken away: the catalog version bump then
/// fails while lookups and stores work (a partial outage, a full node, a failover mid-write).
async fn valkey_user(base: &str) -> (String, String) {
    let user = format!("kassa-test-{}", uuid::Uuid::new_v4().simple());
    acl(base, &["SETUSER", &user, "on", "nopass", "~*", "&*", "+@all"]).await;
    let rest = base.strip_prefix("redis://").unwrap();
    (user.clone(), format!("redis://{user}:unused@{rest}"))
}

async fn acl(base: &str, args: &[&str]) {
    let client = redis::Client::open(base).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("ACL").arg(args).query_async(&mut admin).await.unwrap();
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_write_whose_cache_invalidation_failed_is_never_followed_by_a_stale_read(pool: PgPool) {
    let base = test_config(&[]).valkey_url.expose().to_owned();
    let (user, url) = valkey_user(&base).await;
    let s = shop_with(pool, |config| {
        config.valkey_url = test_config(&[("VALKEY_URL", &url)]).valkey_url;
    })
    .await;
    let id = s.create(red_mug()).await.product.id;
    assert_eq!(s.get("/storefront/products/mug").await.header("x-cache"), Some("miss"));
    assert_eq!(s.get("/storefront/products/mug").await.header("x-cache"), Some("hit"));

    acl(&base, &["SETUSER", &user, "-incr"]).await;
    let editor = s.app.staff(&s.issuer, &s.demo, "editor");
    let renamed = json!({"title": {"en": "Big mug"}});
    editor.patch(&format!("/management/products/{id}"), &renamed, None).await.expect(StatusCode::OK);
    assert!(s.app.state.cache.metrics.bump_errors.load(std::sync::atomic::Ordering::Relaxed) >= 1);
    // The bump failed; the write answered 200. The next read must not be the old entry.
    let read = s.get("/storefront/products/mug").await;
    assert_eq!(read.header("x-cache"), Some("bypass"));
    assert_eq!(read.json()["title"], "Big mug");

    // Once a bump succeeds the cache is used again, with the new version.
    // Once a bump succeeds (the cache retries after its back-off) the cache is used again,
    // under the new version; every read on the way shows the new title.
    acl(&base, &["SETUSER", &user, "+incr"]).await;
    let started = std::time::Instant::now();
    loop {
        let read = s.get("/storefront/products/mug").await;
        assert_eq!(read.json()["title"], "Big mug");
        match read.header("x-cache") {
            Some("bypass") if started.elapsed() < Duration::from_secs(5) => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            other => {
                assert_eq!(other, Some("miss"));
                break;
            }
        }
    }
    assert_eq!(s.get("/storefront/products/mug").await.header("x-cache"), Some("hit"));
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_cached_group_price_expires_when_its_price_list_window_opens(pool: PgPool) {
    let s = shop_with(pool, |_| {}).await;
    let variant = s.create(red_mug()).await.variant().id;
    let wholesale = CustomerGroupBuilder::new("wholesale").name("Wholesale").create(&s.app, &s.demo).await;
    let opens = chrono::Utc::now() + chrono::Duration::milliseconds(1_500);
    PriceListBuilder::new("From soon", wholesale.id)
        .starts_at(&opens.to_rfc3339())
        .price(variant, 1, 800)
        .create(&s.app, &s.demo)
        .await;

    let buyer =
        CustomerBuilder::new("buyer@example.com").in_group(wholesale.id).signed_in(&s.app, &s.demo).await;
    let price = async || {
        let response = s
            .app
            .get(
                "/storefront/products/mug",
                &[("x-tenant-id", "demo"), ("authorization", &buyer.authorization)],
            )
            .await;
        (
            response.header("x-cache").map(str::to_owned),
            response.json()["variants"][0]["price"]["amount"].clone(),
        )
    };
    assert_eq!(price().await, (Some("miss".into()), json!(1000)));
    assert_eq!(price().await, (Some("hit".into()), json!(1000)));
    // No write happens; the window opening alone must end the cached answer.
    let wait = (opens - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(100);
    tokio::time::sleep(wait).await;
    assert_eq!(price().await.1, json!(800));
}
