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

/// Function binary name → the HttpApi routes its resource declares (without the CORS
/// preflight routes, `OPTIONS`, unless asked for).
fn template_routes_with(template: &Value, include_preflights: bool) -> BTreeMap<String, Routes> {
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
                if method == "OPTIONS" && !include_preflights {
                    continue;
                }
                assert!(routes.insert((method, path)), "{event_name:?} repeats a route");
            }
        }
        assert!(functions.insert(binary.clone(), routes).is_none(), "two resources build {binary}");
    }
    functions
}

fn template_routes(template: &Value) -> BTreeMap<String, Routes> {
    template_routes_with(template, false)
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

/// API Gateway answers no preflight itself (its CORS settings would override the functions'
/// own: the storefront from any origin, management from the admin's only), so each path's
/// `OPTIONS` goes to the function serving that path, whose CORS layer answers it.
#[test]
fn every_served_path_sends_its_cors_preflight_to_the_function_that_serves_it() {
    let template = template();
    assert!(template["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"].is_null());
    let with_preflights = template_routes_with(&template, true);
    for (function, routes) in served_routes() {
        let paths: BTreeSet<&str> = routes.iter().map(|(_, path)| path.as_str()).collect();
        let preflights: BTreeSet<&str> = with_preflights[&function]
            .iter()
            .filter(|(method, _)| method == "OPTIONS")
            .map(|(_, path)| path.as_str())
            .collect();
        assert_eq!(preflights, paths, "OPTIONS routes of {function}");
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
    for service in [
        "postgres",
        "valkey",
        "rabbitmq",
        "zitadel",
        "zitadel-bootstrap",
        "localstack",
        "traefik",
        "mollie-sim",
    ] {
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

// ---------------------------------------------------------------------------------------
// IAM: every function's role grants the AWS calls its code makes, and nothing else.
// ---------------------------------------------------------------------------------------

/// The logical ids a template value names: `!Ref X`, `!GetAtt X.Arn`, `${X}` / `${X.Arn}` in
/// `!Sub`, through lists and maps.
fn named_resources(value: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    match value {
        Value::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            match (tag.trim_start_matches('!'), &tagged.value) {
                ("Ref" | "GetAtt", Value::String(s)) => {
                    names.insert(s.split('.').next().unwrap().to_owned());
                }
                ("Sub", Value::String(s)) => {
                    for part in s.split("${").skip(1) {
                        let name = part.split(['}', '.']).next().unwrap();
                        names.insert(name.to_owned());
                    }
                }
                (_, inner) => names.extend(named_resources(inner)),
            }
        }
        Value::Sequence(items) => items.iter().for_each(|v| names.extend(named_resources(v))),
        Value::Mapping(map) => map.values().for_each(|v| names.extend(named_resources(v))),
        _ => {}
    }
    names
}

/// The text of each Resource: a literal, or the string inside `!Sub`, `!Ref`, `!GetAtt`.
fn resource_texts(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Tagged(tagged) => resource_texts(&tagged.value),
        Value::Sequence(items) => items.iter().flat_map(resource_texts).collect(),
        _ => Vec::new(),
    }
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Sequence(items) => items.iter().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// The AWS service of each resource a function may be wired to.
const WIRED: [(&str, &str); 3] = [("MediaBucket", "s3"), ("CartsTable", "dynamodb"), ("EventsQueue", "sqs")];

/// One granted (action, resource) of a function's role, besides its own logs.
type Grants = BTreeSet<(String, String)>;

/// A function's role: its grants (action, logical resource) and the managed policies.
fn role_grants(template: &Value, role: &str) -> (Grants, Vec<BTreeSet<String>>) {
    let role = &template["Resources"][role];
    assert_eq!(role["Type"], "AWS::IAM::Role");
    let managed =
        role["Properties"]["ManagedPolicyArns"].as_sequence().unwrap().iter().map(named_resources).collect();
    let mut grants = Grants::new();
    for policy in role["Properties"]["Policies"].as_sequence().unwrap() {
        for statement in policy["PolicyDocument"]["Statement"].as_sequence().unwrap() {
            assert_eq!(statement["Effect"], "Allow");
            if statement["Sid"] == "OwnLogs" {
                continue;
            }
            let resources = named_resources(&statement["Resource"]);
            assert!(!resources.is_empty(), "{statement:?} names no resource of the template");
            for action in strings(&statement["Action"]) {
                for resource in &resources {
                    grants.insert((action.clone(), resource.clone()));
                }
            }
        }
    }
    (grants, managed)
}

/// The Kassa crates a function is built from: its own and, transitively, its
/// `[dependencies]` (not dev-dependencies) among the workspace's path crates.
fn crate_closure(function_dir: &str) -> Vec<std::path::PathBuf> {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let workspace: toml::Table =
        toml::from_str(&std::fs::read_to_string(root.join("Cargo.toml")).unwrap()).unwrap();
    let paths = workspace["workspace"]["dependencies"].as_table().unwrap();
    let mut seen = Vec::new();
    let mut todo = vec![root.join(function_dir)];
    while let Some(dir) = todo.pop() {
        if seen.contains(&dir) {
            continue;
        }
        let manifest: toml::Table =
            toml::from_str(&std::fs::read_to_string(dir.join("Cargo.toml")).unwrap()).unwrap();
        for name in manifest.get("dependencies").and_then(|d| d.as_table()).into_iter().flat_map(|d| d.keys())
        {
            if let Some(path) = paths.get(name).and_then(|d| d.get("path")).and_then(|p| p.as_str()) {
                todo.push(root.join(path));
            }
        }
        seen.push(dir);
    }
    seen
}

/// Source files of a crate (`src/`, without `tests/`), each without its `#[cfg(test)]` tail.
fn sources(crate_dir: &std::path::Path) -> Vec<(std::path::PathBuf, String)> {
    let mut files = Vec::new();
    let mut dirs = vec![crate_dir.join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let text = match text.find("#[cfg(test)]") {
                    Some(at) => text[..at].to_owned(),
                    None => text,
                };
                files.push((path, text));
            }
        }
    }
    files
}

/// An aws-sdk call in the code: `client.put_object()` (the fluent builder of one API call).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct SdkCall {
    service: String,
    operation: String,
    /// The function (or method) the call is in.
    within: String,
    file: String,
}

/// The IAM actions an SDK operation is authorised as.
fn iam_actions(call: &SdkCall) -> Vec<String> {
    let pascal: String = call.operation.split('_').map(|w| w[..1].to_uppercase() + &w[1..]).collect();
    let action = match (call.service.as_str(), call.operation.as_str()) {
        // Batches are authorised as their single-message action.
        ("sqs", "send_message_batch") => "SendMessage".to_owned(),
        ("sqs", "delete_message_batch") => "DeleteMessage".to_owned(),
        // HeadObject is authorised as GetObject; a missing key answers 404 (what
        // `Media::head` reads as "no object") only with ListBucket, else 403.
        ("s3", "head_object") => return vec!["s3:GetObject".to_owned(), "s3:ListBucket".to_owned()],
        _ => pascal,
    };
    vec![format!("{}:{action}", call.service)]
}

/// Every aws-sdk call in a source file: `client` (or `self.client`) then `.operation()`.
fn sdk_calls(path: &std::path::Path, text: &str) -> Vec<SdkCall> {
    let service = ["s3", "dynamodb", "sqs"]
        .into_iter()
        .find(|s| text.contains(&format!("aws_sdk_{s}::")))
        .map(str::to_owned);
    let Some(service) = service else { return Vec::new() };
    let mut calls = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("client") {
        let before = &text[..text.len() - rest.len() + at];
        rest = &rest[at + "client".len()..];
        let trimmed = rest.trim_start();
        let Some(after_dot) = trimmed.strip_prefix('.') else { continue };
        let name: String = after_dot.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        // Every API operation is a snake_case builder called without arguments;
        // `client.clone()` and the like are not operations.
        let is_operation = after_dot[name.len()..].starts_with("()")
            && (name.contains('_') || matches!(name.as_str(), "query" | "scan"));
        if !is_operation {
            continue;
        }
        let within = enclosing_fn(before);
        calls.push(SdkCall {
            service: service.clone(),
            operation: name,
            within,
            file: path.display().to_string(),
        });
    }
    calls
}

/// The function (or method) the text ends inside of: the name after the last `fn `.
fn enclosing_fn(before: &str) -> String {
    before
        .rfind("fn ")
        .map(|f| before[f + 3..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect())
        .unwrap_or_default()
}

/// Where `text` calls `name` (`.name(`, `::name(`, ` name(`, …), definitions left out.
fn call_sites(text: &str, name: &str) -> Vec<usize> {
    let needle = format!("{name}(");
    text.match_indices(&needle)
        .map(|(at, _)| at)
        .filter(|&at| {
            let before = &text[..at];
            let called = [".", "::", " ", "(", "&", "!"].iter().any(|p| before.ends_with(p));
            called && !before.ends_with("fn ")
        })
        .collect()
}

/// Whether the function `name` defined in `home` is reached from the code in `files`, by
/// name: called from another file, or from a function of its own file that is reached.
/// A method of the same name elsewhere counts too (the test errs towards "reached").
fn is_called(
    name: &str,
    home: &std::path::Path,
    files: &[(std::path::PathBuf, String)],
    depth: usize,
) -> bool {
    files.iter().any(|(path, text)| {
        let sites = call_sites(text, name);
        if path != home {
            return !sites.is_empty();
        }
        depth < 6
            && sites.iter().any(|&at| {
                let caller = enclosing_fn(&text[..at]);
                caller != name && !caller.is_empty() && is_called(&caller, home, files, depth + 1)
            })
    })
}

/// Setup calls: `ensure_*` create the queues, table and bucket for `kassa migrate` and
/// `kassa serve` on the AWS emulator; in the cloud template.yaml creates them.
fn is_setup(call: &SdkCall) -> bool {
    call.within.starts_with("ensure_")
}

struct FunctionAws {
    binary: String,
    /// (action, resource) the role grants.
    grants: Grants,
    /// Actions the code built into the function can make, reached from it (by name).
    reachable: BTreeMap<String, Vec<SdkCall>>,
    /// Resource → service, for the resources the function is given (environment, events).
    wired: BTreeMap<String, String>,
    /// (action, resource) Lambda itself needs for the function's event sources.
    event_sources: Grants,
}

fn functions_aws() -> Vec<FunctionAws> {
    let template = template();
    let mut out = Vec::new();
    for (_, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap().to_owned();
        let properties = &resource["Properties"];
        assert!(properties["Policies"].is_null(), "{binary}: SAM policy templates instead of its own role");
        let role = named_resources(&properties["Role"]);
        assert_eq!(role.len(), 1, "{binary} has its own role");
        let role = role.into_iter().next().unwrap();
        let (grants, managed) = role_grants(&template, &role);
        assert_eq!(
            managed,
            vec![BTreeSet::from(["FunctionNetworkInterfacesPolicy".to_owned()])],
            "{binary}: the only managed policy is the VPC network interfaces'"
        );
        // Its logs go to its own log group, the only one its role may write to.
        let log_group = named_resources(&properties["LoggingConfig"]["LogGroup"]);
        let policy = &template["Resources"][role.as_str()]["Properties"]["Policies"][0]["PolicyDocument"];
        let own_logs =
            policy["Statement"].as_sequence().unwrap().iter().find(|s| s["Sid"] == "OwnLogs").unwrap();
        assert_eq!(
            named_resources(&own_logs["Resource"]),
            log_group,
            "{binary} writes its own log group only"
        );

        let mut wired = BTreeMap::new();
        let environment = &properties["Environment"]["Variables"];
        for (name, service) in WIRED {
            if named_resources(environment).contains(name) {
                wired.insert(name.to_owned(), service.to_owned());
            }
        }
        let mut event_sources = Grants::new();
        for (_, event) in properties["Events"].as_mapping().into_iter().flatten() {
            if event["Type"] == "SQS" {
                for queue in named_resources(&event["Properties"]["Queue"]) {
                    for action in ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"] {
                        event_sources.insert((action.to_owned(), queue.clone()));
                    }
                }
            }
        }

        let dir = format!("functions/{binary}");
        let files: Vec<_> = crate_closure(&dir).iter().flat_map(|c| sources(c)).collect();
        let mut reachable: BTreeMap<String, Vec<SdkCall>> = BTreeMap::new();
        for (path, text) in &files {
            for call in sdk_calls(path, text) {
                if is_setup(&call) || !is_called(&call.within, path, &files, 0) {
                    continue;
                }
                for action in iam_actions(&call) {
                    reachable.entry(action).or_default().push(call.clone());
                }
            }
        }
        out.push(FunctionAws { binary, grants, reachable, wired, event_sources });
    }
    out
}

fn service_of(action: &str) -> &str {
    action.split(':').next().unwrap()
}

#[test]
fn every_function_role_grants_exactly_the_aws_calls_its_code_makes_on_the_resources_it_is_given() {
    let functions = functions_aws();
    assert!(functions.len() >= 13, "every function, the migrations one too");
    let mut problems = Vec::new();
    for f in &functions {
        // Granted → a call in the code (or Lambda's own need for an event source), on a
        // resource of that call's service that the function is given.
        for (action, resource) in &f.grants {
            let by_code = f.reachable.contains_key(action);
            let by_event = f.event_sources.contains(&(action.clone(), resource.clone()));
            if !by_code && !by_event {
                problems.push(format!("{}: grants {action} but no code it is built from calls it", f.binary));
            }
            let wired = f.wired.get(resource).map(String::as_str) == Some(service_of(action));
            if !wired && !by_event {
                problems.push(format!("{}: grants {action} on {resource}, which it is not given", f.binary));
            }
        }
        // A call the code makes on a resource the function is given → granted.
        for (resource, service) in &f.wired {
            for (action, calls) in &f.reachable {
                if service_of(action) == service && !f.grants.contains(&(action.clone(), resource.clone())) {
                    let exempt = NOT_MADE_BY.iter().any(|(b, a, _)| *b == f.binary && a == action);
                    if !exempt {
                        problems.push(format!(
                            "{}: its code calls {action} ({}) on {resource} but its role does not grant it",
                            f.binary,
                            calls
                                .iter()
                                .map(|c| format!("{} in {}", c.within, c.file))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                    }
                }
            }
        }
        for grant in &f.event_sources {
            if !f.grants.contains(grant) {
                problems.push(format!("{}: its event source needs {grant:?}", f.binary));
            }
        }
    }
    // Every exemption still names a call the function could make, so none goes stale.
    for (binary, action, why) in NOT_MADE_BY {
        let f = functions.iter().find(|f| f.binary == *binary).unwrap();
        assert!(f.reachable.contains_key(*action), "stale exemption {binary} {action}: {why}");
        assert!(!f.grants.iter().any(|(a, _)| a == action), "{binary} is exempt from {action} yet grants it");
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Calls the name-based reachability above sees in a function's crates that the function
/// never makes, and why (the test fails once an entry no longer matches a call). Reaching by
/// name errs towards "reached": `.head(` or `.delete(` anywhere reaches `Media::head` and
/// `Media::delete`.
const NOT_MADE_BY: &[(&str, &str, &str)] = &[
    ("worker-engine", "s3:GetObject", "Media::head checks uploads when the products function attaches them"),
    ("worker-engine", "s3:ListBucket", "Media::head checks uploads when the products function attaches them"),
    ("products", "s3:DeleteObject", "the worker deletes a removed image's object on product_media.deleted"),
    (
        "worker-engine",
        "sqs:ChangeMessageVisibility",
        "SqsBus::consume is kassa serve's SQS loop; in Lambda the event source receives, deletes and, for the \
         batchItemFailures, makes messages visible again",
    ),
];

#[test]
fn no_iam_policy_has_a_wildcard_but_the_network_interfaces_one_aws_requires() {
    let template = template();
    let mut wildcards = Vec::new();
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        let documents: Vec<&Value> = match resource["Type"].as_str().unwrap() {
            "AWS::IAM::Role" => resource["Properties"]["Policies"]
                .as_sequence()
                .into_iter()
                .flatten()
                .map(|p| &p["PolicyDocument"])
                .collect(),
            "AWS::IAM::ManagedPolicy" | "AWS::IAM::Policy" => vec![&resource["Properties"]["PolicyDocument"]],
            _ => Vec::new(),
        };
        for document in documents {
            for statement in document["Statement"].as_sequence().unwrap() {
                for action in strings(&statement["Action"]) {
                    if action.contains('*') {
                        wildcards.push(format!("{name}: action {action}"));
                    }
                }
                for resource in resource_texts(&statement["Resource"]) {
                    if resource.contains('*') {
                        wildcards.push(format!(
                            "{name}: resource {resource} for {:?}",
                            strings(&statement["Action"])
                        ));
                    }
                }
            }
        }
    }
    // AWS requires "*" for the network interfaces of a function in a VPC (the comments on
    // FunctionNetworkInterfacesPolicy say why, action by action); media objects are created
    // at run time under tenants/<tenant id>/, so their actions name that prefix.
    let allowed = [
        "FunctionNetworkInterfacesPolicy: resource * for [\"ec2:CreateNetworkInterface\", \
         \"ec2:DescribeNetworkInterfaces\", \"ec2:DescribeSubnets\", \"ec2:DeleteNetworkInterface\", \
         \"ec2:AssignPrivateIpAddresses\", \"ec2:UnassignPrivateIpAddresses\"]",
        "ProductsRole: resource ${MediaBucket.Arn}/tenants/* for [\"s3:PutObject\"]",
        "ProductsRole: resource ${MediaBucket.Arn}/tenants/* for [\"s3:GetObject\"]",
        "WorkerEngineRole: resource ${MediaBucket.Arn}/tenants/* for [\"s3:DeleteObject\"]",
    ];
    assert_eq!(wildcards, allowed);
    // No AWS managed policy brings in wildcards unseen here (SAM policy templates are
    // refused per function by the test above).
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml")).unwrap();
    assert!(!text.contains(":iam::aws:policy/"), "an AWS managed policy");
}
