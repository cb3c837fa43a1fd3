//! `GET /management/openapi.json` describes every management route, generated from the same
//! route table as the routers.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::collections::BTreeSet;

use kassa_http::Gate;
use kassa_management::management_functions;
use kassa_testkit::TestApp;
use sqlx::PgPool;

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn the_openapi_document_covers_every_staff_route_and_nothing_else(pool: PgPool) {
    let app = TestApp::new(pool, kassa_management::router);
    // Public: no token and no tenant needed.
    let (doc, documented) = app.openapi_document("/management/openapi.json").await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            for status in ["401", "403", "404"] {
                let problem = &responses[status]["content"]["application/problem+json"]["schema"]["$ref"];
                assert_eq!(problem, "#/components/schemas/Problem", "{method} {path} {status}");
            }
            assert!(operation["operationId"].is_string());
        }
    }
    let routed: BTreeSet<(String, String)> = management_functions()
        .iter()
        .flat_map(|f| f.routes().cloned().collect::<Vec<_>>())
        .filter(|r| matches!(r.gate, Gate::Staff(_)))
        .map(|r| (r.method().to_string(), r.path.to_owned()))
        .collect();
    assert_eq!(documented, routed);
    assert!(routed.len() >= 28, "{}", routed.len());

    // Every $ref points at a schema the document defines.
    let text = doc.to_string();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for reference in text.split("\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(schemas.contains_key(name), "missing schema {name}");
    }
}
