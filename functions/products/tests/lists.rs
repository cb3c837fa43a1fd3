//! Product lists: keyset pages that visit every row exactly once (also while rows are
//! inserted), sorts, and filters by status, text and attributes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::collections::HashSet;

use http::StatusCode;
use kassa_domain::tenant::Tenant;
use kassa_testkit::issuer::Issuer;
use kassa_testkit::{ProductBuilder, StaffClient, TestApp, VariantBuilder};
use sqlx::PgPool;

async fn app(pool: PgPool) -> (TestApp, Issuer, Tenant) {
    let issuer = Issuer::start().await;
    let app = TestApp::with_config(pool, issuer.config(), kassa_products::router);
    let demo = app.tenant("demo").await;
    (app, issuer, demo)
}

/// A product titled in English and Dutch.
fn product(handle: &str, en: &str, nl: &str) -> ProductBuilder {
    ProductBuilder::new(handle).titles(&[("en", en), ("nl", nl)])
}

/// Every handle of a listing, following next_cursor to the end; `between` runs after each page.
async fn walk(editor: &StaffClient<'_>, query: &str, mut between: impl AsyncFnMut(usize)) -> Vec<String> {
    let mut handles = Vec::new();
    let mut uri = format!("/management/products?{query}");
    for page in 0.. {
        let body = editor.get(&uri).await.expect(StatusCode::OK);
        handles.extend(
            body["items"].as_array().unwrap().iter().map(|p| p["handle"].as_str().unwrap().to_owned()),
        );
        let Some(cursor) = body["next_cursor"].as_str() else { break };
        uri = format!("/management/products?{query}&cursor={cursor}");
        between(page).await;
    }
    handles
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn pages_visit_every_product_exactly_once_while_products_are_added(pool: PgPool) {
    let (app, issuer, demo) = app(pool).await;
    let editor = app.staff(&issuer, &demo, "editor");
    let mut existing = HashSet::new();
    for n in 0..23 {
        let handle = format!("p-{n:02}");
        product(&handle, &format!("Product {n}"), &format!("Product {n}")).create(&app, &demo).await;
        existing.insert(handle);
    }
    for (query, name) in [
        ("limit=5", "created-at"),
        ("limit=4&sort=handle&order=desc", "handle"),
        ("limit=6&sort=title&locale=nl", "title"),
    ] {
        let added = std::cell::Cell::new(0);
        let seen = walk(&editor, query, async |page| {
            // Products keep being added (as by another editor) while the list is paged.
            product(&format!("new-{name}-{page}"), "A new one", "Een nieuwe").create(&app, &demo).await;
            added.set(added.get() + 1);
        })
        .await;
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{name}: a product appeared twice: {seen:?}");
        for handle in &existing {
            assert!(seen.contains(handle), "{name}: {handle} was skipped");
        }
        assert!(added.get() >= 3, "{name}: the walk took several pages");
    }
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn lists_sort_by_handle_and_by_title_in_a_locale(pool: PgPool) {
    let (app, issuer, demo) = app(pool).await;
    let editor = app.staff(&issuer, &demo, "editor");
    product("b-mug", "Mug", "Beker").create(&app, &demo).await;
    product("a-apron", "Apron", "Schort").create(&app, &demo).await;
    product("c-towel", "Towel", "Handdoek").create(&app, &demo).await;
    assert_eq!(walk(&editor, "sort=handle", async |_| {}).await, ["a-apron", "b-mug", "c-towel"]);
    assert_eq!(
        walk(&editor, "sort=handle&order=desc&limit=1", async |_| {}).await,
        ["c-towel", "b-mug", "a-apron"]
    );
    assert_eq!(walk(&editor, "sort=title", async |_| {}).await, ["a-apron", "b-mug", "c-towel"]);
    assert_eq!(
        walk(&editor, "sort=title&locale=nl&limit=2", async |_| {}).await,
        ["b-mug", "c-towel", "a-apron"]
    );
    assert_eq!(walk(&editor, "order=desc", async |_| {}).await, ["c-towel", "a-apron", "b-mug"]);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn lists_filter_by_status_text_and_attributes(pool: PgPool) {
    let (app, issuer, demo) = app(pool).await;
    let editor = app.staff(&issuer, &demo, "editor");
    product("mug", "Stoneware mug", "Stenen beker")
        .active()
        .variant(VariantBuilder::new("MUG-RED").price(1500).attribute("color", "red").attribute("size", 30))
        .variant(VariantBuilder::new("MUG-BLUE").price(1500).attribute("color", "blue").attribute("size", 40))
        .create(&app, &demo)
        .await;
    product("apron", "Linen apron", "Linnen schort")
        .active()
        .variant(
            VariantBuilder::new("APRON-NAT").price(1500).attribute("color", "natural").attribute("size", "M"),
        )
        .create(&app, &demo)
        .await;
    product("old-towel", "Towel", "Handdoek").archived().create(&app, &demo).await;

    let list = async |query: &str| walk(&editor, query, async |_| {}).await;
    assert_eq!(list("status=archived").await, ["old-towel"]);
    assert_eq!(list("q=LINEN").await, ["apron"]);
    assert_eq!(list("q=beker").await, ["mug"], "titles in every locale are searched");
    assert_eq!(list("q=mug-blu").await, ["mug"], "SKUs are searched");
    assert_eq!(list("q=100%25").await, Vec::<String>::new(), "wildcards are literal");
    assert_eq!(list("attr[color]=red").await, ["mug"]);
    assert_eq!(list("attr[color]=natural&attr[color]=red").await, ["mug", "apron"]);
    assert_eq!(list("attr[color]=natural,blue").await, ["mug", "apron"]);
    assert_eq!(
        list("attr[color]=red&attr[size]=40").await,
        Vec::<String>::new(),
        "attributes are ANDed per product's variants"
    );
    assert_eq!(list("attr[color]=blue&attr[size]=40").await, ["mug"]);
    assert_eq!(list("attr[size]=40").await, ["mug"], "numbers match their text");
    assert_eq!(list("attr[size]=M&status=active").await, ["apron"]);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn bad_list_parameters_are_400_problems(pool: PgPool) {
    let (app, issuer, demo) = app(pool).await;
    let editor = app.staff(&issuer, &demo, "editor");
    for (query, code) in [
        ("limit=0", "invalid_limit"),
        ("limit=101", "invalid_limit"),
        ("limit=ten", "invalid_limit"),
        ("sort=price", "invalid_sort"),
        ("sort=title&locale=fr", "unsupported_locale"),
        ("order=up", "invalid_order"),
        ("status=sold", "invalid_status"),
        ("cursor=garbage", "invalid_cursor"),
        ("colour=red", "invalid_query"),
    ] {
        editor.get(&format!("/management/products?{query}")).await.problem(StatusCode::BAD_REQUEST, code);
    }
    // A cursor from one ordering is refused by another.
    for n in 0..3 {
        product(&format!("p{n}"), "P", "P").create(&app, &demo).await;
    }
    let page = editor.get("/management/products?limit=1&sort=handle").await.expect(StatusCode::OK);
    let cursor = page["next_cursor"].as_str().unwrap();
    editor
        .get(&format!("/management/products?limit=1&cursor={cursor}"))
        .await
        .problem(StatusCode::BAD_REQUEST, "invalid_cursor");
}
