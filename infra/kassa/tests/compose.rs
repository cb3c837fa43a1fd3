//! `infra/docker-compose.yml` is safe to start on a laptop on a shared network: it publishes
//! nothing beyond loopback and ships no password, key or secret of its own — every
//! credential is a required variable from `infra/.env`, so compose refuses to start without
//! one instead of falling back to a well-known default.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use serde_norway::Value;

fn compose() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docker-compose.yml");
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `${NAME:?message}`: compose stops with the message when NAME is unset or empty.
fn is_required_variable(value: &str) -> bool {
    let Some(inner) = value.strip_prefix("${").and_then(|v| v.strip_suffix('}')) else {
        return false;
    };
    match inner.split_once(":?") {
        Some((name, _)) => {
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !inner.contains('}')
        }
        None => false,
    }
}

fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    ["PASSWORD", "PASS", "SECRET", "MASTERKEY", "TOKEN", "AUTH", "API_KEY", "PRIVATE_KEY"]
        .iter()
        .any(|word| name.contains(word))
}

/// A service's environment as (name, value) pairs, from either the map or the list form.
fn environment(service: &Value) -> Vec<(String, String)> {
    let scalar = |value: &Value| match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => serde_norway::to_string(other).unwrap().trim().to_owned(),
    };
    match &service["environment"] {
        Value::Mapping(map) => map.iter().map(|(k, v)| (scalar(k), scalar(v))).collect(),
        Value::Sequence(list) => list
            .iter()
            .map(|entry| {
                let entry = scalar(entry);
                match entry.split_once('=') {
                    Some((k, v)) => (k.to_owned(), v.to_owned()),
                    None => (entry, String::new()),
                }
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn is_loopback_port(entry: &Value) -> bool {
    match entry {
        // "127.0.0.1:5432:5432"; a bare "5432" or "5432:5432" listens on every interface.
        Value::String(s) => s.starts_with("127.0.0.1:"),
        // The long syntax: host_ip must be set, to loopback.
        Value::Mapping(_) => entry["host_ip"].as_str() == Some("127.0.0.1"),
        _ => false,
    }
}

#[test]
fn docker_compose_publishes_no_port_beyond_loopback_and_ships_no_default_password() {
    let compose = compose();
    let services = compose["services"].as_mapping().unwrap();
    assert!(!services.is_empty());
    let mut published = 0;
    for (name, service) in services {
        let name = name.as_str().unwrap();
        for entry in service["ports"].as_sequence().into_iter().flatten() {
            published += 1;
            assert!(is_loopback_port(entry), "{name} publishes {entry:?} beyond 127.0.0.1");
        }
        for (key, value) in environment(service) {
            if is_secret_name(&key) {
                assert!(
                    is_required_variable(&value),
                    "{name}: {key} is {value:?}, not a required variable like ${{{key}:?set {key} in infra/.env}}"
                );
            }
        }
        // A password handed over as a command-line flag (valkey's --requirepass); flags such as
        // zitadel's --masterkeyFromEnv take no value.
        let command: Vec<&str> =
            service["command"].as_sequence().into_iter().flatten().filter_map(Value::as_str).collect();
        for pair in command.windows(2) {
            let flag = pair[0].to_ascii_lowercase();
            if flag.starts_with("--") && (flag.contains("pass") || flag.contains("secret")) {
                assert!(is_required_variable(pair[1]), "{name}: {} is {:?}", pair[0], pair[1]);
            }
        }
    }
    assert!(published > 0, "the stack publishes its ports (on loopback)");

    // Services on the host's network publish nothing: they must listen on loopback themselves.
    for (name, service) in services {
        if service["network_mode"].as_str() != Some("host") {
            continue;
        }
        let command: Vec<&str> =
            service["command"].as_sequence().unwrap().iter().filter_map(Value::as_str).collect();
        let listens: Vec<&str> = command
            .iter()
            .enumerate()
            .filter_map(|(i, arg)| match arg.split_once('=') {
                Some((flag, value)) if flag.ends_with(".address") => Some(value),
                _ if *arg == "--host" => command.get(i + 1).copied(),
                _ => None,
            })
            .collect();
        assert!(!listens.is_empty(), "{name:?} on the host's network names no listen address");
        for address in listens {
            assert!(address.starts_with("127.0.0.1"), "{name:?} listens on {address} beyond loopback");
        }
    }

    // Images that fall back to a well-known account when nothing is configured.
    let env = |service: &str, key: &str| {
        environment(&compose["services"][service]).into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
    };
    let rabbit_user = env("rabbitmq", "RABBITMQ_DEFAULT_USER").expect("rabbitmq would create guest/guest");
    assert!(is_required_variable(&rabbit_user), "rabbitmq's user is {rabbit_user:?}");
    assert!(env("rabbitmq", "RABBITMQ_DEFAULT_PASS").is_some(), "rabbitmq would create guest/guest");
    let valkey: Vec<&str> = compose["services"]["valkey"]["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(valkey.contains(&"--requirepass"), "valkey accepts anyone: {valkey:?}");
    for (service, key) in [
        ("postgres", "POSTGRES_PASSWORD"),
        ("zitadel", "ZITADEL_MASTERKEY"),
        ("zitadel", "ZITADEL_FIRSTINSTANCE_ORG_HUMAN_PASSWORD"),
    ] {
        assert!(env(service, key).is_some(), "{service} sets no {key}");
    }
    for service in ["postgres", "zitadel-db"] {
        assert_ne!(env(service, "POSTGRES_HOST_AUTH_METHOD").as_deref(), Some("trust"), "{service}");
    }
}

#[test]
fn the_env_example_names_every_variable_the_compose_file_requires_and_is_ignored_by_git() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let compose = std::fs::read_to_string(format!("{dir}/docker-compose.yml")).unwrap();
    let example = std::fs::read_to_string(format!("{dir}/.env.example")).unwrap();
    let defined: Vec<&str> = example
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, _)| k.trim())
        .collect();
    let mut required =
        compose.split("${").skip(1).filter_map(|rest| rest.split_once(":?")).map(|(name, _)| name).peekable();
    assert!(required.peek().is_some());
    for name in required {
        assert!(defined.contains(&name), "infra/.env.example does not define {name}");
    }
    let gitignore = std::fs::read_to_string(format!("{dir}/../.gitignore")).unwrap();
    assert!(gitignore.lines().any(|l| l.trim() == "infra/.env"), ".gitignore does not list infra/.env");
}

#[test]
fn only_the_required_variable_form_counts_as_a_reference() {
    assert!(is_required_variable("${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in infra/.env}"));
    assert!(!is_required_variable("kassa"));
    assert!(!is_required_variable("${POSTGRES_PASSWORD}"), "empty when unset");
    assert!(!is_required_variable("${POSTGRES_PASSWORD:-kassa}"), "a default in disguise");
    assert!(!is_required_variable("${A:?x}${B:-kassa}"));
    assert!(is_loopback_port(&Value::String("127.0.0.1:5432:5432".into())));
    assert!(!is_loopback_port(&Value::String("5432:5432".into())));
    assert!(!is_loopback_port(&Value::String("0.0.0.0:5432:5432".into())));
}
