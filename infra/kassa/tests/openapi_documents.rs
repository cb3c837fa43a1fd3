//! The OpenAPI documents the management and storefront functions serve are generated from
//! the route tables (`kassa_cli::openapi`) and committed; they must be what the routes make
//! now. `GET /management/openapi.json` describes every management route and nothing else.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::collections::BTreeSet;

use kassa_cli::openapi::{files, management_functions};
use kassa_http::Gate;
use kassa_testkit::TestApp;
use sqlx::PgPool;

/// `KASSA_WRITE_OPENAPI=1` writes the documents instead of comparing them.
#[test]
fn the_committed_openapi_documents_are_the_ones_the_route_tables_make() {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let write = std::env::var_os("KASSA_WRITE_OPENAPI").is_some();
    for (file, generated) in files().unwrap() {
        let path = root.join(file);
        if write {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{file} is stale: run KASSA_WRITE_OPENAPI=1 cargo test -p kassa-cli --test openapi_documents"
        );
    }
}

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
