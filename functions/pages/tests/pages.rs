//! Pages end to end against real Postgres and Valkey: drafts validated by the shop's page
//! schema (every rule a 422 with a pointer, nothing saved), immutable revisions, restore,
//! scheduling, preview tokens bound to shop, page and time, block types that cannot break
//! pages, and the storefront's rendering (locale, product blocks, caching).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use http::{Method, StatusCode};
use kassa_domain::tenant::Tenant;
use kassa_testkit::{Issuer, ProductBuilder, TestApp, TestResponse, VariantBuilder, problem_errors};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

async fn app(pool: PgPool) -> (TestApp, Issuer, Tenant, Tenant) {
    TestApp::with_two_shops(pool, |state| {
        kassa_pages::router(state.clone())
            .merge(kassa_storefront::router(state.clone()))
            .merge(kassa_products::router(state))
    })
    .await
}

/// A page `handle` of `shop` (an editor's), its id and version.
async fn page(app: &TestApp, issuer: &Issuer, shop: &Tenant, handle: &str) -> (Uuid, i64) {
    let editor = app.staff(issuer, shop, "editor");
    let created = editor
        .post("/management/pages", &json!({"handle": handle, "title": {"en": "Home", "nl": "Thuis"}}))
        .await
        .expect(StatusCode::CREATED);
    (created["id"].as_str().unwrap().parse().unwrap(), created["version"].as_i64().unwrap())
}

async fn save(app: &TestApp, issuer: &Issuer, shop: &Tenant, id: Uuid, document: &Value) -> TestResponse {
    app.staff(issuer, shop, "editor")
        .call(Method::PUT, &format!("/management/pages/{id}/draft"), Some(document), &[])
        .await
}

async fn publish(app: &TestApp, issuer: &Issuer, shop: &Tenant, id: Uuid) -> Value {
    let editor = app.staff(issuer, shop, "editor");
    editor.post(&format!("/management/pages/{id}/publish"), &json!({})).await.expect(StatusCode::OK)
}

async fn storefront(app: &TestApp, shop: &Tenant, path: &str, headers: &[(&str, &str)]) -> TestResponse {
    let mut all = vec![("x-tenant-id", shop.handle.as_str())];
    all.extend_from_slice(headers);
    app.call(Method::GET, path, &all, None).await
}

fn home(product: &str) -> Value {
    json!({"layout": "default", "sections": [
        {"id": "hero", "type": "hero", "settings": {
            "heading": {"en": "Welcome", "nl": "Welkom"}, "subheading": {"en": "Only in English"},
            "image": {"url": "https://cdn.example/hero.jpg"}, "cta_url": "/collections/all"}},
        {"id": "grid", "type": "product-grid", "settings": {"heading": {"en": "New"}, "count": 4}},
        {"id": "star", "type": "featured-product", "settings": {"product": product}},
        {"id": "cols", "type": "columns", "settings": {}, "blocks": [
            {"id": "text", "type": "rich-text", "settings": {"body": {"en": "<p>Hi <script>alert(1)</script><b>there</b></p>"}}},
            {"id": "cta", "type": "call-to-action", "settings": {"label": {"en": "Shop"}, "url": "https://shop.example"}}
        ]}
    ]})
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_page_is_drafted_published_and_shown_in_the_shoppers_locale_with_current_products(pool: PgPool) {
    let (app, issuer, demo, _) = app(pool).await;
    let mug =
        ProductBuilder::selling(VariantBuilder::new("MUG").price(1_250).stock(3)).create(&app, &demo).await;
    let (id, version) = page(&app, &issuer, &demo, "home").await;
    let saved = save(&app, &issuer, &demo, id, &home("mug")).await;
    assert_eq!(saved.header("etag"), Some(format!("\"{}\"", version + 1).as_str()));
    let stored = saved.expect(StatusCode::OK);
    let body = stored["sections"][3]["blocks"][0]["settings"]["body"]["en"].as_str().unwrap();
    assert_eq!(
        body, "<p>Hi there</p>",
        "script gone with its text; b (not in the safe subset) gone, its text kept"
    );
    storefront(&app, &demo, "/storefront/pages/home", &[]).await.problem(StatusCode::NOT_FOUND, "not_found");

    let published = publish(&app, &issuer, &demo, id).await;
    assert_eq!(published["published_revision"], 1);
    let shown = storefront(&app, &demo, "/storefront/pages/home", &[("accept-language", "nl")]).await;
    assert_eq!(shown.header("x-cache"), Some("miss"));
    assert_eq!(shown.header("content-language"), Some("nl"));
    // A CDN may purge the page by any product its blocks show (the grid's and the featured one).
    assert_eq!(
        shown.header("surrogate-key"),
        Some(format!("shop-{} product-{}", demo.id, mug.product.id).as_str())
    );
    let shown = shown.expect(StatusCode::OK);
    assert_eq!((shown["title"].as_str(), shown["revision"].as_i64()), (Some("Thuis"), Some(1)));
    let hero = &shown["sections"][0];
    assert_eq!(hero["settings"]["heading"], "Welkom");
    assert_eq!(hero["settings"]["subheading"], "Only in English", "falls back to the default locale");
    let grid = shown["sections"][1]["data"]["products"].as_array().unwrap();
    assert_eq!(grid.iter().map(|p| p["handle"].as_str().unwrap()).collect::<Vec<_>>(), ["mug"]);
    assert_eq!(grid[0]["price_from"]["amount"], 1_250);
    assert_eq!(shown["sections"][2]["data"]["product"]["title"], "Product MUG");
    assert_eq!(shown["sections"][3]["blocks"][1]["settings"]["label"], "Shop");
    let again = storefront(&app, &demo, "/storefront/pages/home", &[("accept-language", "nl")]).await;
    assert_eq!(again.header("x-cache"), Some("hit"));

    // A product change shows on the page at once (the write bumps the shop's catalog version).
    let editor = app.staff(&issuer, &demo, "editor");
    let product_uri = format!("/management/products/{}", mug.product.id);
    editor
        .patch(&product_uri, &json!({"title": {"en": "The mug", "nl": "De mok"}}), Some(mug.product.version))
        .await
        .expect(StatusCode::OK);
    let shown = storefront(&app, &demo, "/storefront/pages/home", &[("accept-language", "nl")]).await;
    assert_eq!(shown.header("x-cache"), Some("miss"));
    assert_eq!(shown.json()["sections"][2]["data"]["product"]["title"], "De mok");

    // Another shop has no such page; the draft is not what the storefront shows.
    let other = app.tenant("third").await;
    storefront(&app, &other, "/storefront/pages/home", &[]).await.problem(StatusCode::NOT_FOUND, "not_found");
    let mut changed = home("mug");
    changed["sections"][0]["settings"]["heading"] = json!({"en": "Draft only"});
    save(&app, &issuer, &demo, id, &changed).await.expect(StatusCode::OK);
    assert_eq!(
        storefront(&app, &demo, "/storefront/pages/home", &[]).await.json()["sections"][0]["settings"]["heading"],
        "Welcome"
    );
}

/// A change that breaks one rule of the page schema.
type Change = Box<dyn Fn(&mut Value)>;

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn every_rule_of_the_page_schema_refuses_a_document_with_a_pointer_and_saves_nothing(pool: PgPool) {
    let (app, issuer, demo, _) = app(pool).await;
    let (id, _) = page(&app, &issuer, &demo, "home").await;
    let valid = home("mug");
    save(&app, &issuer, &demo, id, &valid).await.expect(StatusCode::OK);
    let stored = || async { kassa_domain::pages::draft(&app.state.db, &demo, id).await.unwrap().document };
    let before = stored().await;
    let other_shop = Uuid::now_v7();
    let many = |n: usize, item: Value| Value::Array(vec![item; n]);
    let cases: Vec<(&str, Change, &str, &str)> = vec![
        (
            "layout not one of the shop's",
            Box::new(|d| d["layout"] = json!("circus")),
            "/layout",
            "not_allowed",
        ),
        ("unknown top-level field", Box::new(|d| d["theme"] = json!("dark")), "", "unknown_field"),
        (
            "no sections",
            Box::new(|d| {
                d.as_object_mut().unwrap().remove("sections");
            }),
            "",
            "required",
        ),
        (
            "more than 50 sections",
            Box::new(move |d| {
                let sections: Vec<Value> = (0..51)
                    .map(|i| json!({"id": format!("s{i}"), "type": "columns", "settings": {}}))
                    .collect();
                d["sections"] = Value::Array(sections);
            }),
            "/sections",
            "too_many",
        ),
        (
            "more than 50 blocks",
            Box::new(move |d| {
                let blocks: Vec<Value> = (0..51).map(|i| json!({"id": format!("b{i}"), "type": "rich-text", "settings": {"body": {"en": "x"}}})).collect();
                d["sections"][3]["blocks"] = Value::Array(blocks);
            }),
            "/sections/3/blocks",
            "too_many",
        ),
        (
            "a section without an id",
            Box::new(|d| {
                d["sections"][0].as_object_mut().unwrap().remove("id");
            }),
            "/sections/0",
            "required",
        ),
        (
            "an id of the wrong shape",
            Box::new(|d| d["sections"][0]["id"] = json!("has space")),
            "/sections/0/id",
            "invalid_format",
        ),
        (
            "two sections with one id",
            Box::new(|d| d["sections"][1]["id"] = json!("hero")),
            "/sections/1/id",
            "duplicate_id",
        ),
        (
            "an unknown section type",
            Box::new(|d| d["sections"][0]["type"] = json!("carousel")),
            "/sections/0/type",
            "not_allowed",
        ),
        (
            "a block the section may not hold",
            Box::new(|d| d["sections"][3]["blocks"][0]["type"] = json!("hero")),
            "/sections/3/blocks/0/type",
            "not_allowed",
        ),
        (
            "blocks in a section that holds none",
            Box::new(|d| {
                d["sections"][0]["blocks"] =
                    json!([{"id": "x", "type": "rich-text", "settings": {"body": {"en": "x"}}}])
            }),
            "/sections/0/blocks",
            "too_many",
        ),
        (
            "a required setting missing",
            Box::new(|d| d["sections"][0]["settings"] = json!({})),
            "/sections/0/settings",
            "required",
        ),
        (
            "an unknown setting",
            Box::new(|d| d["sections"][1]["settings"]["colour"] = json!("red")),
            "/sections/1/settings",
            "unknown_field",
        ),
        (
            "a setting of the wrong type",
            Box::new(|d| d["sections"][1]["settings"]["count"] = json!("four")),
            "/sections/1/settings/count",
            "wrong_type",
        ),
        (
            "a count out of range",
            Box::new(|d| d["sections"][1]["settings"]["count"] = json!(99)),
            "/sections/1/settings/count",
            "out_of_range",
        ),
        (
            "a text in a locale the shop lacks",
            Box::new(|d| d["sections"][0]["settings"]["heading"]["fr"] = json!("Bienvenue")),
            "/sections/0/settings/heading",
            "not_allowed",
        ),
        (
            "a text too long",
            Box::new(|d| d["sections"][0]["settings"]["heading"]["en"] = json!("x".repeat(2001))),
            "/sections/0/settings/heading/en",
            "too_long",
        ),
        (
            "another shop's media key",
            Box::new(move |d| {
                d["sections"][0]["settings"]["image"] = json!({"key": format!("tenants/{other_shop}/a.png")})
            }),
            "/sections/0/settings/image/key",
            "invalid_format",
        ),
        (
            "a javascript: link",
            Box::new(|d| d["sections"][3]["blocks"][1]["settings"]["url"] = json!("javascript:alert(1)")),
            "/sections/3/blocks/1/settings/url",
            "invalid_format",
        ),
        (
            "an http image URL",
            Box::new(|d| d["sections"][0]["settings"]["image"] = json!({"url": "http://cdn.example/a.png"})),
            "/sections/0/settings/image/url",
            "invalid_format",
        ),
        (
            "a product handle of the wrong shape",
            Box::new(|d| d["sections"][2]["settings"]["product"] = json!("Not A Handle")),
            "/sections/2/settings/product",
            "invalid_format",
        ),
        (
            "a document over 256 KiB",
            Box::new(move |d| {
                d["sections"][3]["blocks"] = many(
                    1,
                    json!({"id": "big", "type": "rich-text", "settings": {"body": {"en": "x".repeat(270_000)}}}),
                )
            }),
            "",
            "document_too_large",
        ),
    ];
    for (what, change, pointer, code) in cases {
        let mut document = valid.clone();
        change(&mut document);
        let problem = save(&app, &issuer, &demo, id, &document)
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let found: Vec<(&str, &str)> =
            problem_errors(&problem, "pointer").into_iter().zip(problem_errors(&problem, "code")).collect();
        assert!(found.contains(&(pointer, code)), "{what}: wanted ({pointer}, {code}) in {found:?}");
        assert_eq!(stored().await, before, "{what}: nothing saved");
    }
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_published_revision_never_changes_and_a_restore_publishes_a_new_one(pool: PgPool) {
    let (app, issuer, demo, _) = app(pool).await;
    let (id, _) = page(&app, &issuer, &demo, "about").await;
    let first = json!({"layout": "default", "sections": [{"id": "t", "type": "rich-text", "settings": {"body": {"en": "<p>One</p>"}}}]});
    let second = json!({"layout": "wide", "sections": [{"id": "t", "type": "rich-text", "settings": {"body": {"en": "<p>Two</p>"}}}]});
    save(&app, &issuer, &demo, id, &first).await.expect(StatusCode::OK);
    publish(&app, &issuer, &demo, id).await;
    save(&app, &issuer, &demo, id, &second).await.expect(StatusCode::OK);
    publish(&app, &issuer, &demo, id).await;
    let editor = app.staff(&issuer, &demo, "editor");
    let revision = |n: i32| {
        let editor = &editor;
        async move { editor.get(&format!("/management/pages/{id}/revisions/{n}")).await.expect(StatusCode::OK) }
    };
    assert_eq!(revision(1).await["document"], first);
    // Not even the schema's owner can change a published revision.
    let changed = sqlx::query("update page_revisions set document = '{}' where page_id = $1")
        .bind(id)
        .execute(&app.owner)
        .await;
    assert!(changed.is_err(), "the trigger refuses any update");

    let restored = editor
        .post(&format!("/management/pages/{id}/revisions/1/restore"), &json!({"publish": true}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(restored["published_revision"], 3);
    let list = editor.get(&format!("/management/pages/{id}/revisions")).await.expect(StatusCode::OK);
    let numbers: Vec<(i64, bool, Option<i64>)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (r["number"].as_i64().unwrap(), r["published"].as_bool().unwrap(), r["restored_from"].as_i64())
        })
        .collect();
    assert_eq!(numbers, [(3, true, Some(1)), (2, false, None), (1, false, None)]);
    assert_eq!(revision(3).await["document"], first);
    assert_eq!(revision(2).await["document"], second, "revision 2 is as it was");
    assert_eq!(revision(1).await["document"], first);
    let shown = storefront(&app, &demo, "/storefront/pages/about", &[]).await.expect(StatusCode::OK);
    assert_eq!((shown["revision"].as_i64(), shown["layout"].as_str()), (Some(3), Some("default")));
    // A restore without publishing only changes the draft.
    editor
        .post(&format!("/management/pages/{id}/revisions/2/restore"), &json!({}))
        .await
        .expect(StatusCode::OK);
    let draft = editor.get(&format!("/management/pages/{id}/draft")).await.expect(StatusCode::OK);
    assert_eq!(draft, second);
    assert_eq!(storefront(&app, &demo, "/storefront/pages/about", &[]).await.json()["revision"], 3);
    editor
        .get(&format!("/management/pages/{id}/revisions/9"))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_preview_token_shows_its_pages_draft_in_its_shop_only_until_it_expires(pool: PgPool) {
    let (app, issuer, demo, other) = app(pool).await;
    let (id, _) = page(&app, &issuer, &demo, "about").await;
    let (second, _) = page(&app, &issuer, &demo, "contact").await;
    let draft = json!({"layout": "default", "sections": [{"id": "t", "type": "rich-text", "settings": {"body": {"en": "<p>Draft</p>"}}}]});
    save(&app, &issuer, &demo, id, &draft).await.expect(StatusCode::OK);
    save(&app, &issuer, &demo, second, &draft).await.expect(StatusCode::OK);
    let issued = app
        .staff(&issuer, &demo, "viewer")
        .post(&format!("/management/pages/{id}/preview-token"), &json!({}))
        .await
        .expect(StatusCode::CREATED);
    let token = issued["token"].as_str().unwrap();
    assert_eq!(issued["path"], format!("/storefront/pages/about?preview={token}"));

    let preview = storefront(&app, &demo, &format!("/storefront/pages/about?preview={token}"), &[]).await;
    assert_eq!(preview.header("cache-control"), Some("private, no-store"));
    assert_eq!(preview.header("x-cache"), None, "never from the cache");
    let preview = preview.expect(StatusCode::OK);
    assert_eq!(
        (preview["revision"].clone(), preview["sections"][0]["settings"]["body"].clone()),
        (Value::Null, json!("<p>Draft</p>"))
    );
    // Unpublished without a token; another page, another shop, an expired or forged token: 401.
    storefront(&app, &demo, "/storefront/pages/about", &[]).await.problem(StatusCode::NOT_FOUND, "not_found");
    storefront(&app, &demo, &format!("/storefront/pages/contact?preview={token}"), &[])
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_token");
    storefront(&app, &other, &format!("/storefront/pages/about?preview={token}"), &[])
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_token");
    let tokens = kassa_http::preview::PreviewTokens::new(&app.state.config);
    let long_ago = chrono::Utc::now() - chrono::Duration::minutes(16);
    let (expired, _) = tokens.mint_issued_at(&demo, id, long_ago).unwrap();
    storefront(&app, &demo, &format!("/storefront/pages/about?preview={expired}"), &[])
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_token");
    let forged = format!("{}x", &token[..token.len() - 1]);
    storefront(&app, &demo, &format!("/storefront/pages/about?preview={forged}"), &[])
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_token");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_block_type_change_that_would_break_a_page_is_refused_naming_the_pages(pool: PgPool) {
    let (app, issuer, demo, other) = app(pool).await;
    let admin = app.staff(&issuer, &demo, "admin");
    let quote = json!({"label": "Quote", "settings_schema": {
        "type": "object", "additionalProperties": false, "required": ["text"],
        "properties": {"text": {"$ref": "#/$defs/text"}, "stars": {"type": "integer", "minimum": 1, "maximum": 5}}}});
    admin.call(Method::PUT, "/management/block-types/quote", Some(&quote), &[]).await.expect(StatusCode::OK);
    let (id, _) = page(&app, &issuer, &demo, "reviews").await;
    let document = json!({"layout": "default", "sections": [{"id": "q", "type": "quote", "settings": {"text": {"en": "Great"}, "stars": 5}}]});
    save(&app, &issuer, &demo, id, &document).await.expect(StatusCode::OK);
    publish(&app, &issuer, &demo, id).await;
    let shown = storefront(&app, &demo, "/storefront/pages/reviews", &[]).await.expect(StatusCode::OK);
    assert_eq!(shown["sections"][0]["settings"], json!({"text": "Great", "stars": 5}));
    // Another shop neither has the type nor may use it.
    let (theirs, _) = page(&app, &issuer, &other, "reviews").await;
    save(&app, &issuer, &other, theirs, &document)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    let stricter = json!({"label": "Quote", "settings_schema": {
        "type": "object", "required": ["text", "author"],
        "properties": {"text": {"$ref": "#/$defs/text"}, "author": {"type": "string"}}}});
    let refused = admin.call(Method::PUT, "/management/block-types/quote", Some(&stricter), &[]).await;
    let problem = refused.problem(StatusCode::CONFLICT, "block_type_in_use");
    assert!(problem["detail"].as_str().unwrap().contains("reviews"), "{problem}");
    admin
        .call(Method::DELETE, "/management/block-types/quote", None, &[])
        .await
        .problem(StatusCode::CONFLICT, "block_type_in_use");
    admin
        .call(Method::PUT, "/management/block-types/hero", Some(&quote), &[])
        .await
        .problem(StatusCode::CONFLICT, "name_taken");
    let listed = admin.get("/management/block-types").await.expect(StatusCode::OK);
    let quote_now =
        listed["items"].as_array().unwrap().iter().find(|t| t["name"] == "quote").unwrap().clone();
    assert_eq!(quote_now["settings_schema"]["required"], json!(["text"]), "unchanged");
    // A schema that reaches outside the document is refused with a pointer into it.
    let remote = json!({"label": "X", "settings_schema": {"type": "object", "properties": {"a": {"$ref": "https://evil.example/x.json"}}}});
    let problem = admin
        .call(Method::PUT, "/management/block-types/remote", Some(&remote), &[])
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem_errors(&problem, "pointer"), ["/settings_schema/properties/a/$ref"]);
    // A number near the float limit would be stored and then fail every read of the type (or
    // page) with a 500, as schemathesis found: refused, and nothing is stored.
    let huge = json!({"label": "Huge", "settings_schema": {"type": "object", "x": [1.7976931348623157e308]}});
    let problem = admin
        .call(Method::PUT, "/management/block-types/huge", Some(&huge), &[])
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem_errors(&problem, "pointer"), ["/settings_schema/x/0"], "{problem}");
    let mut huge_number = document.clone();
    huge_number["sections"][0]["settings"]["extra"] = json!(-1.7976931348623157e308);
    let problem = save(&app, &issuer, &demo, id, &huge_number)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let refused = problem["errors"].as_array().unwrap().iter().find(|e| e["code"] == "number_out_of_range");
    assert_eq!(refused.map(|e| &e["pointer"]), Some(&json!("/sections/0/settings/extra")), "{problem}");
    let listed = admin.get("/management/block-types").await.expect(StatusCode::OK);
    assert!(listed["items"].as_array().unwrap().iter().all(|t| t["name"] != "huge"));
    assert_eq!(admin.get(&format!("/management/pages/{id}/draft")).await.expect(StatusCode::OK), document);
    // Once no page uses it, it goes; the schema served lists the shop's types.
    let schema = admin.get("/management/schemas/page.json").await.expect(StatusCode::OK);
    assert!(
        schema["$defs"]["section"]["properties"]["type"]["enum"]
            .as_array()
            .unwrap()
            .contains(&json!("quote"))
    );
    app.staff(&issuer, &demo, "editor")
        .call(Method::DELETE, &format!("/management/pages/{id}"), None, &[])
        .await
        .expect(StatusCode::NO_CONTENT);
    admin
        .call(Method::DELETE, "/management/block-types/quote", None, &[])
        .await
        .expect(StatusCode::NO_CONTENT);
    app.staff(&issuer, &demo, "viewer")
        .call(Method::PUT, "/management/block-types/quote", Some(&quote), &[])
        .await
        .problem(StatusCode::FORBIDDEN, "insufficient_role");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_scheduled_page_is_published_by_the_sweep_when_its_time_comes(pool: PgPool) {
    let (app, issuer, demo, _) = app(pool).await;
    let (id, _) = page(&app, &issuer, &demo, "sale").await;
    let document = json!({"layout": "landing", "sections": [{"id": "h", "type": "hero", "settings": {"heading": {"en": "Sale"}}}]});
    save(&app, &issuer, &demo, id, &document).await.expect(StatusCode::OK);
    let editor = app.staff(&issuer, &demo, "editor");
    let soon = chrono::Utc::now() + chrono::Duration::hours(1);
    let scheduled = editor
        .post(&format!("/management/pages/{id}/schedule"), &json!({"at": soon}))
        .await
        .expect(StatusCode::OK);
    assert!(scheduled["publish_at"].is_string());
    assert_eq!(kassa_domain::pages::publish_due(&app.state.db, 10).await.unwrap(), Vec::new(), "not yet");
    storefront(&app, &demo, "/storefront/pages/sale", &[]).await.problem(StatusCode::NOT_FOUND, "not_found");
    sqlx::query("update pages set publish_at = now() - interval '1 second' where id = $1")
        .bind(id)
        .execute(&app.owner)
        .await
        .unwrap();
    assert_eq!(kassa_domain::pages::publish_due(&app.state.db, 10).await.unwrap(), vec![demo.id]);
    assert_eq!(kassa_domain::pages::publish_due(&app.state.db, 10).await.unwrap(), Vec::new(), "once");
    let shown = storefront(&app, &demo, "/storefront/pages/sale", &[]).await.expect(StatusCode::OK);
    assert_eq!((shown["revision"].as_i64(), shown["layout"].as_str()), (Some(1), Some("landing")));
    let page = editor.get(&format!("/management/pages/{id}")).await.expect(StatusCode::OK);
    assert!(page["publish_at"].is_null());
    let events: Vec<String> =
        app.outbox(&demo).await.into_iter().map(|(t, _, _)| t).filter(|t| t.starts_with("page.")).collect();
    assert_eq!(events.iter().filter(|t| *t == "page.published").count(), 1);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_product_grid_shows_its_collection_in_order_and_images_get_their_public_url(pool: PgPool) {
    use kassa_domain::collections::{self, Collection, CollectionProducts};
    use kassa_domain::resource::Editable;
    let (app, issuer, demo, _) = app(pool).await;
    let mug =
        ProductBuilder::selling(VariantBuilder::new("MUG").price(1_000).stock(3)).create(&app, &demo).await;
    let cup =
        ProductBuilder::selling(VariantBuilder::new("CUP").price(900).stock(3)).create(&app, &demo).await;
    ProductBuilder::selling(VariantBuilder::new("PLATE").price(800).stock(3)).create(&app, &demo).await;
    let draft =
        serde_json::from_value(json!({"handle": "picks", "title": {"en": "Picks"}, "kind": "manual"}))
            .unwrap();
    let picks = Collection::create(&app.state.db, &demo, &draft).await.unwrap();
    let order = CollectionProducts { product_ids: vec![cup.product.id, mug.product.id] };
    collections::set_products(&app.state.db, &demo, picks.id, &order).await.unwrap();
    let (id, _) = page(&app, &issuer, &demo, "home").await;
    let key = format!("tenants/{}/uploads/{}.png", demo.id, Uuid::now_v7());
    let document = json!({"layout": "default", "sections": [
        {"id": "picks", "type": "product-grid", "settings": {"collection": "picks", "count": 5}},
        {"id": "gone", "type": "product-grid", "settings": {"collection": "no-such-collection"}},
        {"id": "pic", "type": "image", "settings": {"image": {"key": key}}},
        // After the collection grids, a plain grid and a product, in the same read.
        {"id": "new", "type": "product-grid", "settings": {"count": 2}},
        {"id": "star", "type": "featured-product", "settings": {"product": "mug"}}
    ]});
    save(&app, &issuer, &demo, id, &document).await.expect(StatusCode::OK);
    publish(&app, &issuer, &demo, id).await;
    let shown = storefront(&app, &demo, "/storefront/pages/home", &[]).await.expect(StatusCode::OK);
    let grid = |section: usize| -> Vec<&str> {
        let products = shown["sections"][section]["data"]["products"].as_array().unwrap();
        products.iter().map(|p| p["handle"].as_str().unwrap()).collect()
    };
    assert_eq!(grid(0), ["cup", "mug"], "the collection's own order, nothing else");
    assert_eq!(
        shown["sections"][1]["data"]["products"],
        json!([]),
        "a collection that is gone shows nothing"
    );
    let url = shown["sections"][2]["settings"]["image"]["url"].as_str().unwrap();
    assert_eq!(url, format!("{}/{key}", app.state.config.media_base_url));
    assert_eq!(grid(3), ["plate", "cup"], "the newest products, the collection no longer applies");
    assert_eq!(shown["sections"][4]["data"]["product"]["handle"], "mug");

    // Rendered again after a write, the page's grids are sent ahead with the page (the same
    // statements as the last render): what they show is read now, not remembered.
    let order = CollectionProducts { product_ids: vec![mug.product.id] };
    collections::set_products(&app.state.db, &demo, picks.id, &order).await.unwrap();
    app.state.cache.bump(demo.id).await;
    let shown = storefront(&app, &demo, "/storefront/pages/home", &[]).await.expect(StatusCode::OK);
    let handles = |section: usize| -> Vec<String> {
        let products = shown["sections"][section]["data"]["products"].as_array().unwrap();
        products.iter().map(|p| p["handle"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(handles(0), ["mug"]);
    assert_eq!(handles(3), ["plate", "cup"]);
}
