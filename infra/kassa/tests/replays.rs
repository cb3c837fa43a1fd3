//! Every HTTP function answers its recorded API Gateway HTTP API (v2) events in `events/`
//! through the `lambda_http` adapter its `main.rs` runs, as the function alone (its own
//! router in the shared stack, as in Lambda). The same files are what `cargo lambda invoke`
//! sends (README, "Replaying Lambda events"). Staff events carry
//! `Authorization: Bearer ${STAFF_TOKEN}`, filled in here with a token of the test issuer
//! (and by a person with `make token`). The worker's and relay's events (SQS, schedules)
//! are replayed in their own crates' tests, the migrations' in theirs.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::collections::BTreeSet;

use kassa_testkit::TenantBuilder;
use kassa_testkit::issuer::Issuer;
use lambda_http::request::LambdaRequest;
use lambda_http::tower::ServiceExt;
use lambda_http::{Adapter, Context, LambdaEvent};
use serde_json::Value;
use sqlx::PgPool;

/// What an answer's body must hold.
enum Body {
    /// The text at this JSON pointer.
    Text(&'static str, &'static str),
    /// An empty list at this pointer (the fresh shop has none).
    Empty(&'static str),
    /// A list of at least one item at this pointer.
    Listed(&'static str),
    /// Nothing (Mollie's webhook is answered with a bare status).
    Nothing,
}

/// (function, event file, the status it answers with, what its body holds).
const REPLAYS: &[(&str, &str, u16, Body)] = &[
    ("storefront", "storefront-tenant", 200, Body::Text("/handle", "demo")),
    ("management", "management-me", 200, Body::Text("/tenant/handle", "demo")),
    ("products", "products-create", 201, Body::Text("/handle", "replayed-apron")),
    ("pricing", "pricing-create-customer-group", 201, Body::Text("/handle", "wholesale")),
    ("workflows", "workflows-step-types", 200, Body::Listed("/items")),
    ("carts", "carts-create", 201, Body::Text("/cart/currency", "EUR")),
    ("customers", "customers-list", 200, Body::Empty("/items")),
    ("mollie-webhook", "mollie-webhook-payment", 200, Body::Nothing),
    ("checkout", "checkout-shipping-zones", 200, Body::Empty("/items")),
    ("pages", "pages-create", 201, Body::Text("/handle", "about")),
];

fn events_dir() -> std::path::PathBuf {
    std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events")).to_path_buf()
}

#[test]
fn every_http_function_has_a_recorded_event_and_every_recorded_http_event_is_replayed() {
    let functions: BTreeSet<&str> = kassa_cli::functions().iter().map(|f| f.name()).collect();
    let replayed: BTreeSet<&str> = REPLAYS.iter().map(|(function, ..)| *function).collect();
    assert_eq!(replayed, functions, "one recorded event per HTTP function at least");
    let listed: BTreeSet<String> = REPLAYS.iter().map(|(_, file, ..)| format!("{file}.json")).collect();
    for entry in std::fs::read_dir(events_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let text = std::fs::read_to_string(events_dir().join(&name)).unwrap();
        let event: Value = serde_json::from_str(&text).unwrap();
        if event["version"] == "2.0" && event["requestContext"]["http"].is_object() {
            assert!(listed.contains(&name), "events/{name} is an HTTP event no test replays");
        }
    }
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn every_http_function_answers_its_recorded_events_through_lambda_http(pool: PgPool) {
    let issuer = Issuer::start().await;
    let demo = TenantBuilder::new("demo").domains(&["demo.localhost"]).create(&pool).await;
    let org = demo.zitadel_org_id.clone().unwrap();
    let token = issuer.token("owner-user", &[("owner", &org)]);
    let state = kassa_http::AppState::with_pool(issuer.config(), kassa_testkit::service_pool(&pool)).unwrap();

    for (function, file, status, expected) in REPLAYS {
        let routes = kassa_cli::functions().into_iter().find(|f| f.name() == *function).unwrap();
        let app = kassa_http::app(routes.into_router(state.clone()));
        let text = std::fs::read_to_string(events_dir().join(format!("{file}.json"))).unwrap();
        let request: LambdaRequest = serde_json::from_str(&text.replace("${STAFF_TOKEN}", &token)).unwrap();
        let response =
            Adapter::from(app).oneshot(LambdaEvent::new(request, Context::default())).await.unwrap();
        let response = serde_json::to_value(&response).unwrap();
        assert_eq!(response["statusCode"], *status, "{file}: {response}");
        assert_eq!(response["headers"]["x-request-id"], format!("replay-{file}-1"), "{file}");
        let text = response["body"].as_str().unwrap_or_default();
        let body: Value = if text.is_empty() { Value::Null } else { serde_json::from_str(text).unwrap() };
        let list = |pointer: &str| body.pointer(pointer).and_then(Value::as_array).map(Vec::len);
        match expected {
            Body::Text(pointer, value) => {
                assert_eq!(body.pointer(pointer).and_then(Value::as_str), Some(*value), "{file}: {body}")
            }
            Body::Empty(pointer) => assert_eq!(list(pointer), Some(0), "{file}: {body}"),
            Body::Listed(pointer) => assert!(list(pointer).is_some_and(|n| n > 0), "{file}: {body}"),
            Body::Nothing => assert_eq!(body, Value::Null, "{file}: {body}"),
        }
    }
}
