//! `template.yaml` deploys exactly the routes the functions serve: every route of every
//! function's router appears on that function's resource with the same method and path,
//! and the template declares no route that no router serves.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::collections::{BTreeMap, BTreeSet};

use serde_norway::Value;

type Routes = BTreeSet<(String, String)>;

fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Function binary name → the HttpApi routes its resource declares.
fn template_routes(template: &Value) -> BTreeMap<String, Routes> {
    let mut functions = BTreeMap::new();
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        assert_eq!(resource["Metadata"]["BuildMethod"], "rust-cargolambda", "{name:?}");
        let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap().to_owned();
        let mut routes = Routes::new();
        if let Some(events) = resource["Properties"]["Events"].as_mapping() {
            for (event_name, event) in events {
                if event["Type"].as_str() != Some("HttpApi") {
                    continue;
                }
                let method = event["Properties"]["Method"].as_str().unwrap().to_uppercase();
                let path = event["Properties"]["Path"].as_str().unwrap().to_owned();
                assert!(routes.insert((method, path)), "{event_name:?} repeats a route");
            }
        }
        assert!(functions.insert(binary.clone(), routes).is_none(), "two resources build {binary}");
    }
    functions
}

/// Function name → the routes its router serves.
fn served_routes() -> BTreeMap<String, Routes> {
    kassa_cli::functions()
        .iter()
        .map(|function| {
            let routes = function.routes().map(|r| (r.method().to_string(), r.path.to_owned())).collect();
            (function.name().to_owned(), routes)
        })
        .collect()
}

#[test]
fn every_router_route_is_in_the_template_and_nothing_else_is() {
    let declared = template_routes(&template());
    let served = served_routes();
    assert!(!served.is_empty());
    for (function, routes) in &served {
        assert_eq!(declared.get(function), Some(routes), "routes of function {function}");
    }
    for (function, routes) in &declared {
        if !served.contains_key(function) {
            assert!(
                routes.is_empty(),
                "{function} is in the template with routes but serves none: {routes:?}"
            );
        }
    }
}

#[test]
fn functions_run_on_al2023_with_json_logs_and_a_chosen_architecture() {
    let template = template();
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["LoggingConfig"]["LogFormat"], "JSON");
    assert_eq!(template["Parameters"]["Architecture"]["Default"], "arm64");
    let events = template["Resources"]["HttpApi"]["Type"].as_str();
    assert_eq!(events, Some("AWS::Serverless::HttpApi"));
}

#[test]
fn cargo_lambda_watch_routes_every_path_to_the_function_that_serves_it() {
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml")).unwrap();
    let manifest: toml::Table = toml::from_str(&manifest).unwrap();
    let router = manifest["workspace"]["metadata"]["lambda"]["watch"]["router"].as_table().unwrap();
    let mut watched: BTreeMap<String, Routes> = BTreeMap::new();
    for (path, targets) in router {
        for target in targets.as_array().unwrap() {
            let function = target["function"].as_str().unwrap().to_owned();
            let method = target["method"].as_str().unwrap().to_owned();
            watched.entry(function).or_default().insert((method, path.clone()));
        }
    }
    assert_eq!(watched, served_routes());
}

#[test]
fn the_docker_compose_stack_parses_and_has_every_service_kassa_uses() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docker-compose.yml");
    let compose: Value = serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for service in ["postgres", "valkey", "rabbitmq", "zitadel", "localstack"] {
        assert!(compose["services"][service]["image"].is_string(), "service {service} is missing");
    }
}

#[test]
fn the_outbox_relay_runs_on_a_schedule_into_a_fifo_queue_with_a_dead_letter_queue() {
    let template = template();
    let resources = &template["Resources"];
    let relay = &resources["OutboxRelayFunction"];
    assert_eq!(relay["Metadata"]["BuildProperties"]["Binary"], "outbox-relay");
    assert_eq!(relay["Properties"]["Events"]["EveryMinute"]["Type"], "Schedule");
    assert_eq!(resources["EventsQueue"]["Properties"]["FifoQueue"], true);
    assert_eq!(resources["EventsQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"], 5);
    assert_eq!(resources["EventsDeadLetterQueue"]["Properties"]["FifoQueue"], true);
}
