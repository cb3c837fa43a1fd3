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
            assert!(operation.get("security").is_none(), "{method} {path} asks for a token");
            let responses = operation["responses"].as_object().unwrap();
            for status in ["400", "404", "429"] {
                let problem = &responses[status]["content"]["application/problem+json"]["schema"]["$ref"];
                assert_eq!(problem, "#/components/schemas/Problem", "{method} {path} {status}");
            }
            assert!(responses.get("401").is_none(), "{method} {path}");
        }
    }
    let routed: BTreeSet<(String, String)> = routes()
        .routes()
        .filter(|r| r.gate == Gate::Tenant)
        .map(|r| (r.method().to_string(), r.path.to_owned()))
        .collect();
    assert_eq!(documented, routed);
    assert_eq!(routed.len(), 3);
    assert!(doc["components"].get("securitySchemes").is_none());

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
