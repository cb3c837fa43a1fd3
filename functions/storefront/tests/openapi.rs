//! `GET /storefront/openapi.json` describes every public storefront route, generated from the
//! same route table as the router.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::collections::BTreeSet;

use kassa_http::Gate;
use kassa_storefront::{router, routes};
use kassa_testkit::TestApp;
use sqlx::PgPool;

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn the_storefront_openapi_document_covers_every_public_route_and_nothing_else(pool: PgPool) {
    let app = TestApp::new(pool, router);
    // Public: no token and no tenant needed.
    let (doc, documented) = app.openapi_document("/storefront/openapi.json").await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            assert!(operation["operationId"].is_string());
            let responses = operation["responses"].as_object().unwrap();
            for status in ["400", "404"] {
                let problem = &responses[status]["content"]["application/problem+json"]["schema"]["$ref"];
                assert_eq!(problem, "#/components/schemas/Problem", "{method} {path} {status}");
            }
            // Only a shopper's token is ever asked for, and only where the route reads it.
            let schemes: BTreeSet<String> = operation["security"]
                .as_array()
                .map(|all| all.iter().flat_map(|s| s.as_object().unwrap().keys().cloned()).collect())
                .unwrap_or_default();
            assert!(schemes.iter().all(|s| s == "customerToken"), "{method} {path}: {schemes:?}");
            assert_eq!(responses.contains_key("401"), !schemes.is_empty(), "{method} {path}");
        }
    }
    let functions = [routes(), kassa_customers::routes(), kassa_carts::routes(), kassa_checkout::routes()];
    let routed: BTreeSet<(String, String)> = functions
        .iter()
        .flat_map(|f| f.routes())
        .filter(|r| r.gate == Gate::Tenant)
        .map(|r| (r.method().to_string(), r.path.to_owned()))
        .collect();
    assert_eq!(documented, routed);
    assert!(routed.contains(&("POST".into(), "/storefront/customers/sign-in".into())));
    assert!(routed.contains(&("POST".into(), "/storefront/carts/{id}/lines".into())));
    // Carts say which headers open them and make a POST run once.
    let add_line = &doc["paths"]["/storefront/carts/{id}/lines"]["post"]["parameters"];
    let headers: BTreeSet<&str> = add_line
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["in"] == "header")
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(headers, BTreeSet::from(["Cart-Token", "Idempotency-Key"]));
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert_eq!(schemes.keys().collect::<Vec<_>>(), ["customerToken"]);
    // Product reads take the token optionally: anonymous or signed in.
    assert_eq!(
        doc["paths"]["/storefront/products"]["get"]["security"],
        serde_json::json!([{}, {"customerToken": []}])
    );
    assert_eq!(
        doc["paths"]["/storefront/customers/me"]["get"]["security"],
        serde_json::json!([{"customerToken": []}])
    );

    let page = &doc["paths"]["/storefront/products/{handle}"]["get"];
    let handle = &page["parameters"][0];
    assert_eq!(handle["name"], "handle");
    assert_eq!(handle["in"], "path");
    assert_eq!(handle["schema"]["type"], "string");
    assert_eq!(handle["schema"]["pattern"], kassa_domain::schemas::HANDLE);
    let success = |path: &str| {
        doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].clone()
    };
    assert_eq!(success("/storefront/tenant"), "#/components/schemas/TenantProfile");
    assert_eq!(success("/storefront/products"), "#/components/schemas/ShopPage");
    assert_eq!(success("/storefront/products/{handle}"), "#/components/schemas/ShopProduct");

    // Every $ref points at a schema the document defines.
    let text = doc.to_string();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for reference in text.split("\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(schemas.contains_key(name), "missing schema {name}");
    }
}
