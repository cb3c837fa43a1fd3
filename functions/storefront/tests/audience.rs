//! Who is asking decides prices and visibility: the signed-in customer's groups, from the
//! access token — never a URL parameter. Anonymous answers stay public and shared; a
//! shopper's answers are private and cached under the set of their groups.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use axum::Router;
use http::StatusCode;
use kassa_domain::catalog::B2bSettings;
use kassa_domain::tenant::Tenant;
use kassa_http::AppState;
use kassa_testkit::{
    CustomerBuilder, CustomerGroupBuilder, Issuer, PriceListBuilder, ProductBuilder, SignedIn, TenantBuilder,
    TestApp, VariantBuilder,
};
use serde_json::Value;
use sqlx::PgPool;

fn routes(state: AppState) -> Router {
    kassa_storefront::router(state.clone()).merge(kassa_customers::router(state))
}

struct Shop {
    app: TestApp,
    issuer: Issuer,
    demo: Tenant,
    wholesaler: SignedIn,
    vip: SignedIn,
}

/// "mug" at €10 (wholesale €8 from 1, €7 from 10; VIP €9), "bulk" visible to wholesale
/// only, and two signed-in shoppers: one in wholesale, one in vip.
async fn shop(pool: PgPool) -> Shop {
    let issuer = Issuer::start().await;
    let app = TestApp::with_config(pool, issuer.config(), routes);
    let demo = app.tenant("demo").await;
    let wholesale = CustomerGroupBuilder::new("wholesale").create(&app, &demo).await;
    let vip = CustomerGroupBuilder::new("vip").create(&app, &demo).await;
    let mug = ProductBuilder::new("mug")
        .title("Mug")
        .active()
        .variant(VariantBuilder::new("MUG").price(1000).stock(5))
        .create(&app, &demo)
        .await;
    let b2b =
        B2bSettings { visible_to_customer_groups: Some(vec!["wholesale".into()]), ..Default::default() };
    ProductBuilder::new("bulk")
        .title("Bulk pallet")
        .active()
        .b2b(b2b)
        .variant(VariantBuilder::new("PALLET").price(50_000).stock(2))
        .create(&app, &demo)
        .await;
    let variant = mug.variant().id;
    PriceListBuilder::new("Wholesale", wholesale.id)
        .price(variant, 1, 800)
        .price(variant, 10, 700)
        .create(&app, &demo)
        .await;
    PriceListBuilder::new("VIP", vip.id).price(variant, 1, 900).create(&app, &demo).await;
    let wholesaler =
        CustomerBuilder::new("trade@example.com").in_group(wholesale.id).signed_in(&app, &demo).await;
    let vip = CustomerBuilder::new("vip@example.com").in_group(vip.id).signed_in(&app, &demo).await;
    Shop { app, issuer, demo, wholesaler, vip }
}

impl Shop {
    async fn read(&self, uri: &str, who: Option<&SignedIn>) -> (Value, Option<String>, Option<String>) {
        let mut headers = vec![("x-tenant-id", "demo")];
        if let Some(who) = who {
            headers.push(("authorization", who.authorization.as_str()));
        }
        let response = self.app.get(uri, &headers).await;
        let body = response.expect(StatusCode::OK);
        (
            body,
            response.header("cache-control").map(str::to_owned),
            response.header("x-cache").map(str::to_owned),
        )
    }
}

/// Every price in an answer (lists and product pages alike).
fn sources(body: &Value) -> Vec<String> {
    let mut found = Vec::new();
    fn walk(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(source)) = map.get("source") {
                    found.push(source.clone());
                }
                map.values().for_each(|v| walk(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, found)),
            _ => {}
        }
    }
    walk(body, &mut found);
    found
}

const URLS: &[&str] = &[
    "/storefront/products",
    "/storefront/products?sort=price_asc",
    "/storefront/products?sort=price_desc&limit=1",
    "/storefront/products?sort=title&locale=nl",
    "/storefront/products?q=mug",
    "/storefront/products?q=pallet",
    "/storefront/products?price_max=900",
    "/storefront/products?facets=color",
    "/storefront/products/mug",
    "/storefront/products/mug?locale=nl",
    "/storefront/products/mug?currency=EUR",
];

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn anonymous_shoppers_never_see_a_group_price_or_a_group_only_product_even_with_a_warm_cache(
    pool: PgPool,
) {
    let s = shop(pool).await;
    // Group members warm the cache first, on every URL.
    for url in URLS {
        for who in [&s.wholesaler, &s.vip] {
            let (body, cache_control, _) = s.read(url, Some(who)).await;
            let cache_control = cache_control.unwrap();
            assert!(cache_control.starts_with("private"), "{url}");
            assert!(!cache_control.contains("s-maxage"), "no shared cache keeps a shopper's answer: {url}");
            if url.ends_with("/mug") {
                assert!(sources(&body).iter().any(|s| s == "price_list"), "{url}: {body}");
            }
        }
    }
    for url in URLS {
        for _ in 0..2 {
            let (body, cache_control, _) = s.read(url, None).await;
            assert!(cache_control.unwrap().starts_with("public"), "{url}");
            assert!(sources(&body).iter().all(|s| s == "base"), "{url} shows a group price: {body}");
            assert!(!body.to_string().contains("bulk"), "{url} shows the wholesale-only product: {body}");
        }
    }
    // Nothing a URL says makes a shopper anyone else.
    for smuggled in ["?customer_group=wholesale", "?group=wholesale", "?customer_group_ids=x"] {
        let response =
            s.app.get(&format!("/storefront/products{smuggled}"), &[("x-tenant-id", "demo")]).await;
        response.problem(StatusCode::BAD_REQUEST, "invalid_query");
    }
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_signed_in_shopper_sees_their_groups_prices_and_products_and_shares_the_cache_with_their_group(
    pool: PgPool,
) {
    let s = shop(pool).await;
    let (page, _, _) = s.read("/storefront/products/mug", Some(&s.wholesaler)).await;
    assert_eq!(page["variants"][0]["price"]["amount"], 800);
    assert_eq!(page["variants"][0]["tier_prices"][0]["amount"], 700);
    let (page, _, _) = s.read("/storefront/products/mug", Some(&s.vip)).await;
    assert_eq!(page["variants"][0]["price"]["amount"], 900);
    let (list, _, _) = s.read("/storefront/products?sort=title", Some(&s.wholesaler)).await;
    let handles: Vec<&str> =
        list["items"].as_array().unwrap().iter().map(|p| p["handle"].as_str().unwrap()).collect();
    assert_eq!(handles, ["bulk", "mug"]);
    let (list, _, _) = s.read("/storefront/products?sort=title", Some(&s.vip)).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "vip does not see bulk");

    // Another wholesale customer asks the same question: the answer is the group's, cached.
    let colleague = CustomerBuilder::new("colleague@example.com")
        .in_group(s.wholesaler_group().await)
        .signed_in(&s.app, &s.demo)
        .await;
    let (_, _, lookup) = s.read("/storefront/products/mug", Some(&colleague)).await;
    assert_eq!(lookup.as_deref(), Some("hit"), "same groups, same cached answer");

    // A customer in both groups gets the best price of both.
    let both = CustomerBuilder::new("both@example.com")
        .in_group(s.wholesaler_group().await)
        .in_group(s.group("vip").await)
        .signed_in(&s.app, &s.demo)
        .await;
    let (page, _, _) = s.read("/storefront/products/mug", Some(&both)).await;
    assert_eq!(page["variants"][0]["price"]["amount"], 800);
}

impl Shop {
    async fn group(&self, handle: &str) -> uuid::Uuid {
        sqlx::query_scalar("select id from customer_groups where tenant_id = $1 and handle = $2")
            .bind(self.demo.id)
            .bind(handle)
            .fetch_one(&self.app.owner)
            .await
            .unwrap()
    }

    async fn wholesaler_group(&self) -> uuid::Uuid {
        self.group("wholesale").await
    }
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn tokens_of_another_shop_staff_tokens_and_forged_or_signed_out_tokens_are_refused(pool: PgPool) {
    let s = shop(pool).await;
    let other = TenantBuilder::new("other").create(&s.app).await;
    let stranger = CustomerBuilder::new("trade@example.com").signed_in(&s.app, &other).await;
    let staff = format!(
        "Bearer {}",
        s.issuer.token("editor-user", &[("editor", s.demo.zitadel_org_id.as_ref().unwrap())])
    );
    let forged = {
        // The wholesaler's token with the signature of another key.
        let token = s.wholesaler.authorization.trim_start_matches("Bearer ");
        let (rest, _) = token.rsplit_once('.').unwrap();
        format!("Bearer {rest}.c2lnbmVkIGJ5IHNvbWVvbmUgZWxzZQ")
    };
    for authorization in [&stranger.authorization, &staff, &forged, &"Bearer not-a-jwt".to_owned()] {
        let response = s
            .app
            .get("/storefront/products/mug", &[("x-tenant-id", "demo"), ("authorization", authorization)])
            .await;
        response.problem(StatusCode::UNAUTHORIZED, "invalid_token");
        assert!(response.header("www-authenticate").is_some());
    }
    // Signed out: the token ends at once.
    let response = s
        .app
        .call(
            http::Method::POST,
            "/storefront/customers/sign-out",
            &[("x-tenant-id", "demo"), ("authorization", &s.wholesaler.authorization)],
            None,
        )
        .await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    let response = s
        .app
        .get(
            "/storefront/products/mug",
            &[("x-tenant-id", "demo"), ("authorization", &s.wholesaler.authorization)],
        )
        .await;
    response.problem(StatusCode::UNAUTHORIZED, "invalid_token");
}
