//! `ARCHITECTURE.md` stays the map of the code as it is: it names every directory under
//! `functions/`, every workspace crate with its path and its Kassa dependencies, and every
//! route the routers serve (method, function and gate) — and no route that none serves.
//! Each failure lists everything that is missing or wrong, so one run tells what to fix.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use kassa_http::Gate;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn architecture_md() -> String {
    std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md at the workspace root")
}

fn manifest(path: &Path) -> toml::Table {
    toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A workspace member: its path relative to the root, package name and the Kassa crates in
/// its `[dependencies]`.
struct Member {
    path: String,
    name: String,
    kassa_deps: BTreeSet<String>,
}

/// The members of the root manifest, with `dir/*` globs expanded to the directories under
/// `dir` that hold a `Cargo.toml` (as Cargo does).
fn members() -> Vec<Member> {
    let root_manifest = manifest(&root().join("Cargo.toml"));
    let mut paths = Vec::new();
    for member in root_manifest["workspace"]["members"].as_array().unwrap() {
        let member = member.as_str().unwrap();
        match member.strip_suffix("/*") {
            Some(dir) => {
                for entry in std::fs::read_dir(root().join(dir)).unwrap() {
                    let entry = entry.unwrap();
                    if entry.path().join("Cargo.toml").is_file() {
                        paths.push(format!("{dir}/{}", entry.file_name().to_string_lossy()));
                    }
                }
            }
            None => paths.push(member.to_owned()),
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let package = manifest(&root().join(&path).join("Cargo.toml"));
            let name = package["package"]["name"].as_str().unwrap().to_owned();
            let kassa_deps = package
                .get("dependencies")
                .and_then(toml::Value::as_table)
                .map(|deps| deps.keys().filter(|k| k.starts_with("kassa-")).cloned().collect())
                .unwrap_or_default();
            Member { path, name, kassa_deps }
        })
        .collect()
}

/// The cells of every markdown table row, trimmed (header and separator rows included).
fn table_rows(doc: &str) -> Vec<Vec<String>> {
    doc.lines()
        .map(str::trim)
        .filter(|line| line.starts_with('|') && line.ends_with('|') && line.len() > 1)
        .map(|line| line[1..line.len() - 1].split('|').map(|cell| cell.trim().to_owned()).collect())
        .collect()
}

/// The text between the first pair of backticks of `cell`, if the cell starts with one.
fn code(cell: &str) -> Option<&str> {
    cell.strip_prefix('`')?.split('`').next()
}

fn gate_name(gate: Gate) -> &'static str {
    match gate {
        Gate::Open => "open",
        Gate::Tenant => "tenant",
        Gate::Staff(_) => "staff",
    }
}

/// What a route table row says about one path: its methods, function and gate.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RouteRow {
    methods: BTreeSet<String>,
    function: String,
    gate: String,
}

/// Path → what the routers serve there. A path whose methods have different gate kinds is
/// reported, since the page gives one gate per path.
fn served_routes(problems: &mut Vec<String>) -> BTreeMap<String, RouteRow> {
    let mut served: BTreeMap<String, RouteRow> = BTreeMap::new();
    for function in kassa_cli::functions() {
        for route in function.routes() {
            let row = served.entry(route.path.to_owned()).or_insert_with(|| RouteRow {
                methods: BTreeSet::new(),
                function: function.name().to_owned(),
                gate: gate_name(route.gate).to_owned(),
            });
            if row.function != function.name() {
                problems.push(format!(
                    "{} is served by two functions: {} and {}",
                    route.path,
                    row.function,
                    function.name()
                ));
            }
            if row.gate != gate_name(route.gate) {
                problems.push(format!(
                    "{} mixes gates {} and {}",
                    route.path,
                    row.gate,
                    gate_name(route.gate)
                ));
            }
            row.methods.insert(route.method().to_string());
        }
    }
    served
}

/// Path → the route table row of ARCHITECTURE.md (`| `path` | METHODS | function | gate |`).
fn documented_routes(doc: &str, problems: &mut Vec<String>) -> BTreeMap<String, RouteRow> {
    let mut documented = BTreeMap::new();
    for cells in table_rows(doc) {
        let Some(path) = cells.first().and_then(|c| code(c)).filter(|p| p.starts_with('/')) else {
            continue;
        };
        if cells.len() < 4 {
            problems.push(format!("route row {path} needs path | methods | function | gate"));
            continue;
        }
        let row = RouteRow {
            methods: cells[1].split_whitespace().map(str::to_owned).collect(),
            function: cells[2].clone(),
            gate: cells[3].clone(),
        };
        if documented.insert(path.to_owned(), row).is_some() {
            problems.push(format!("route row {path} appears twice"));
        }
    }
    documented
}

/// Every `/management/…` or `/storefront/…` API path written anywhere on the page.
fn api_paths_mentioned(doc: &str) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    for prefix in ["/management/", "/storefront/"] {
        for (start, _) in doc.match_indices(prefix) {
            // Part of a file path such as `functions/management/tests/openapi.rs`: not a route.
            if doc[..start].ends_with(|c: char| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
                continue;
            }
            let end = doc[start..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || "-_./{}".contains(c)))
                .map_or(doc.len(), |len| start + len);
            paths.insert(doc[start..end].trim_end_matches('.').to_owned());
        }
    }
    paths
}

/// Whether `doc` names `word` on its own: not as part of a longer name or path
/// (`functions/outbox-relay` is not named by `functions/outbox-relay-v2`).
fn names(doc: &str, word: &str) -> bool {
    let part_of_name = |c: char| c.is_ascii_alphanumeric() || "-_".contains(c);
    doc.match_indices(word).any(|(start, _)| {
        !doc[..start].ends_with(part_of_name) && !doc[start + word.len()..].starts_with(part_of_name)
    })
}

fn fail_on(problems: &[String]) {
    assert!(
        problems.is_empty(),
        "ARCHITECTURE.md is out of date ({} problems):\n  - {}",
        problems.len(),
        problems.join("\n  - ")
    );
}

#[test]
fn architecture_md_names_every_function_crate_and_route() {
    let doc = architecture_md();
    let mut problems = Vec::new();

    // Every directory under functions/.
    let mut function_dirs: Vec<String> = std::fs::read_dir(root().join("functions"))
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    function_dirs.sort();
    assert!(function_dirs.len() >= 5, "functions/ looks empty: {function_dirs:?}");
    for dir in &function_dirs {
        if !names(&doc, &format!("functions/{dir}")) {
            problems.push(format!("function directory functions/{dir} is not named"));
        }
    }

    // Every workspace member, by package name and path.
    let members = members();
    assert!(members.iter().any(|m| m.name == "kassa-domain"), "workspace members not found");
    for member in &members {
        if !doc.contains(&format!("`{}`", member.name)) {
            problems.push(format!("crate `{}` ({}) is not named", member.name, member.path));
        }
        if !doc.contains(&format!("`{}`", member.path)) {
            problems.push(format!("crate path `{}` ({}) is not named", member.path, member.name));
        }
    }

    // Every served route, with its methods, function and gate; no route nobody serves.
    let served = served_routes(&mut problems);
    assert!(served.len() >= 10, "the routers serve almost nothing: {served:?}");
    let documented = documented_routes(&doc, &mut problems);
    for (path, route) in &served {
        match documented.get(path) {
            None => problems.push(format!(
                "route {path} ({} {}, {}) has no row in the routes table",
                route.function,
                route.methods.iter().cloned().collect::<Vec<_>>().join(" "),
                route.gate
            )),
            Some(row) if row != route => problems.push(format!(
                "route {path}: the page says {:?} {} {}, the router serves {:?} {} {}",
                row.methods, row.function, row.gate, route.methods, route.function, route.gate
            )),
            Some(_) => {}
        }
    }
    for path in documented.keys().filter(|p| !served.contains_key(*p)) {
        problems.push(format!("route row {path} names a path no function's routes() serves"));
    }
    for path in api_paths_mentioned(&doc).iter().filter(|p| !served.contains_key(*p)) {
        problems.push(format!("the page mentions {path}, which no function's routes() serves"));
    }

    fail_on(&problems);
}

#[test]
fn architecture_md_lists_each_crates_kassa_dependencies() {
    let doc = architecture_md();
    let members = members();
    let mut problems = Vec::new();
    // The crates table: | `crate` | `path` | what | depends on |
    let mut documented: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for cells in table_rows(&doc) {
        let Some(name) = cells.first().and_then(|c| code(c)) else { continue };
        if !members.iter().any(|m| m.name == name) {
            continue;
        }
        let deps = cells
            .last()
            .unwrap()
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|token| token.starts_with("kassa-"))
            .map(str::to_owned)
            .collect();
        documented.insert(name.to_owned(), deps);
    }
    for member in &members {
        match documented.get(&member.name) {
            None => problems.push(format!("crate `{}` has no row in the crates table", member.name)),
            Some(deps) if *deps != member.kassa_deps => problems.push(format!(
                "crate `{}`: the page lists {:?}, {}/Cargo.toml [dependencies] has {:?}",
                member.name, deps, member.path, member.kassa_deps
            )),
            Some(_) => {}
        }
    }
    fail_on(&problems);
}

/// Every function runs on a single-threaded tokio runtime (ARCHITECTURE.md, "Functions and
/// routes"): Lambda hands an instance one request at a time, and the multi-threaded runtime
/// only adds cross-thread wake-ups to each invocation.
#[test]
fn every_function_starts_a_single_threaded_runtime() {
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(root().join("functions")).unwrap() {
        let main = entry.unwrap().path().join("src/main.rs");
        let source = std::fs::read_to_string(&main).unwrap();
        if !source.contains("#[tokio::main(flavor = \"current_thread\")]") {
            problems.push(format!(
                "{} does not start #[tokio::main(flavor = \"current_thread\")]",
                main.display()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
