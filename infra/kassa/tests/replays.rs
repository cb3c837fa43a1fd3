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

/// A recorded HTTP event and what it answers (`events/replays.json`, which
/// `infra/scripts/lambda_replay.py` reads too).
#[derive(serde::Deserialize)]
struct Replay {
    function: String,
    event: String,
    status: u16,
    /// The text at this JSON pointer.
    text: Option<[String; 2]>,
    /// An empty list at this pointer (the fresh shop has none).
    empty: Option<String>,
    /// A list of at least one item at this pointer.
    listed: Option<String>,
}

fn replays() -> Vec<Replay> {
    #[derive(serde::Deserialize)]
    struct File {
        http: Vec<Replay>,
    }
    let text = std::fs::read_to_string(events_dir().join("replays.json")).unwrap();
    serde_json::from_str::<File>(&text).unwrap().http
}

fn events_dir() -> std::path::PathBuf {
    std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events")).to_path_buf()
}

#[test]
fn every_http_function_has_a_recorded_event_and_every_recorded_http_event_is_replayed() {
    let functions: BTreeSet<&str> = kassa_cli::functions().iter().map(|f| f.name()).collect();
    let replays = replays();
    let replayed: BTreeSet<&str> = replays.iter().map(|replay| replay.function.as_str()).collect();
    assert_eq!(replayed, functions, "one recorded event per HTTP function at least");
    let listed: BTreeSet<String> = replays.iter().map(|replay| format!("{}.json", replay.event)).collect();
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

    for Replay { function, event: file, status, text: expected_text, empty, listed } in replays() {
        let routes = kassa_cli::functions().into_iter().find(|f| f.name() == function).unwrap();
        let app = kassa_http::app(routes.into_router(state.clone()));
        let text = std::fs::read_to_string(events_dir().join(format!("{file}.json"))).unwrap();
        let request: LambdaRequest = serde_json::from_str(&text.replace("${STAFF_TOKEN}", &token)).unwrap();
        let response =
            Adapter::from(app).oneshot(LambdaEvent::new(request, Context::default())).await.unwrap();
        let response = serde_json::to_value(&response).unwrap();
        assert_eq!(response["statusCode"], status, "{file}: {response}");
        assert_eq!(response["headers"]["x-request-id"], format!("replay-{file}-1"), "{file}");
        let text = response["body"].as_str().unwrap_or_default();
        let body: Value = if text.is_empty() { Value::Null } else { serde_json::from_str(text).unwrap() };
        let list = |pointer: &str| body.pointer(pointer).and_then(Value::as_array).map(Vec::len);
        match (expected_text, empty, listed) {
            (Some([pointer, value]), None, None) => {
                assert_eq!(
                    body.pointer(&pointer).and_then(Value::as_str),
                    Some(value.as_str()),
                    "{file}: {body}"
                )
            }
            (None, Some(pointer), None) => assert_eq!(list(&pointer), Some(0), "{file}: {body}"),
            (None, None, Some(pointer)) => assert!(list(&pointer).is_some_and(|n| n > 0), "{file}: {body}"),
            (None, None, None) => assert_eq!(body, Value::Null, "{file}: {body}"),
            _ => panic!("{file}: replays.json gives more than one expectation"),
        }
    }
}
