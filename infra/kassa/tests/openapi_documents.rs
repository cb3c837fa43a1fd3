//! The OpenAPI documents the management and storefront functions serve are generated from
//! the route tables (`kassa_cli::openapi`) and committed; they must be what the routes make
//! now. `GET /management/openapi.json` describes every management route and nothing else.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::collections::BTreeSet;

use kassa_cli::openapi::{files, management_functions};
use kassa_http::Gate;
use kassa_http::openapi::ShopperToken;
use kassa_testkit::{CustomerBuilder, TestApp};
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

/// `path` with its parameters filled: ids with a fresh UUID, anything else with `1`.
fn concrete(path: &str) -> String {
    let mut uri = String::new();
    for (i, part) in path.split(['{', '}']).enumerate() {
        match i % 2 {
            0 => uri.push_str(part),
            _ if part == "id" || part.ends_with("_id") => uri.push_str(&uuid::Uuid::now_v7().to_string()),
            _ => uri.push('1'),
        }
    }
    uri
}

/// A route reads `If-Match` or `Idempotency-Key` exactly when its document lists the header:
/// every route is sent a malformed one of each, and is refused with that header's code
/// (`invalid_if_match`, `invalid_idempotency_key`) if and only if it is documented, so a
/// client generated from the documents knows every header a route acts on.
#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn each_route_documents_exactly_the_request_headers_it_reads(pool: PgPool) {
    let issuer = kassa_testkit::Issuer::start().await;
    let app = TestApp::with_config(pool, issuer.config(), kassa_cli::local_routes);
    let demo = app.tenant("demo").await;
    let owner = app.staff(&issuer, &demo, "owner");
    let too_long = "k".repeat(256);
    let body = serde_json::json!({});
    let mut documented = BTreeSet::new();
    let mut shoppers = 0;
    for spec in kassa_cli::functions().iter().flat_map(|f| f.routes().cloned().collect::<Vec<_>>()) {
        let Some(doc) = &spec.doc else { continue };
        let uri = concrete(&spec.path);
        let headers = [
            ("if-match", "not-an-etag", "invalid_if_match", doc.if_match),
            ("idempotency-key", too_long.as_str(), "invalid_idempotency_key", doc.idempotency_key.is_some()),
        ];
        for (header, bad, code, listed) in headers {
            let response = match spec.gate {
                Gate::Staff(_) => owner.call(spec.method(), &uri, Some(&body), &[(header, bad)]).await,
                Gate::Tenant => {
                    // A signed-in route reads its headers once the token is checked. A new
                    // shopper each time: a route may end the session (sign-out).
                    let authorization = if doc.shopper == ShopperToken::Required {
                        shoppers += 1;
                        let email = format!("shopper{shoppers}@example.com");
                        CustomerBuilder::new(&email).signed_in(&app, &demo).await.authorization
                    } else {
                        String::new()
                    };
                    let mut sent = vec![("x-tenant-id", "demo"), (header, bad)];
                    if !authorization.is_empty() {
                        sent.push(("authorization", authorization.as_str()));
                    }
                    app.call(spec.method(), &uri, &sent, Some(&body)).await
                }
                Gate::Open => continue,
            };
            let refused = response.status == http::StatusCode::BAD_REQUEST
                && serde_json::from_slice::<serde_json::Value>(&response.body)
                    .is_ok_and(|p| p["code"] == code);
            assert_eq!(
                refused,
                listed,
                "{} {}: answers {} {} to a bad {header}, but its document {} the header",
                spec.method(),
                spec.path,
                response.status,
                String::from_utf8_lossy(&response.body),
                if listed { "lists" } else { "does not list" }
            );
            if listed {
                documented.insert(format!("{header} {} {}", spec.method(), spec.path));
            }
        }
    }
    // The routes that read one: merge-patch updates, the page draft and block types (If-Match);
    // carts, checkout, refunds and manual orders (Idempotency-Key).
    assert!(documented.len() >= 15, "{documented:#?}");
    assert!(documented.contains("idempotency-key POST /storefront/checkout"), "{documented:#?}");
    assert!(documented.contains("if-match PATCH /management/products/{id}"), "{documented:#?}");
    assert!(documented.contains("if-match PATCH /storefront/customers/me"), "{documented:#?}");
}
