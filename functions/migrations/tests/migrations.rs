//! The migrations Lambda through its handler, against real Postgres: CloudFormation's
//! custom resource request (from `events/`), answered at a real HTTP `ResponseURL`, and the
//! one-off invoke that creates a shop.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;

use kassa_migrations::{Command, CustomResourceRequest, handle, run};
use kassa_runtime::Config;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;
use sqlx::PgPool;
use std::io::{Read, Write};

fn event(name: &str) -> Value {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The URL of the test's own database (as the server's superuser: the owner, as in the cloud
/// DATABASE_OWNER_URL is the cluster's master user).
async fn database_url(pool: &PgPool) -> String {
    let name: String = sqlx::query_scalar("select current_database()").fetch_one(pool).await.unwrap();
    let server = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut url = reqwest::Url::parse(&server).unwrap();
    url.set_path(&name);
    url.to_string()
}

/// A Lambda configuration; DATABASE_URL without a password, so the shared server's
/// kassa_service role keeps the password other processes use.
fn config(owner_url: &str, service_url: &str) -> Arc<Config> {
    let vars = [
        ("DATABASE_OWNER_URL", owner_url.to_owned()),
        ("DATABASE_URL", service_url.to_owned()),
        ("AWS_LAMBDA_FUNCTION_NAME", "migrations".to_owned()),
        ("CUSTOMER_TOKEN_KEYS", "k1=0123456789abcdef0123456789abcdef".to_owned()),
        ("PAYMENT_KEY_ENCRYPTION_KEYS", "k1=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".to_owned()),
        ("MEDIA_BASE_URL", "https://d111111abcdef8.cloudfront.net".to_owned()),
    ];
    Arc::new(Config::from_lookup(|key| vars.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone())).unwrap())
}

/// CloudFormation's side: an HTTP server taking one PUT at the ResponseURL; its request
/// line and JSON body.
fn cloudformation() -> (String, std::thread::JoinHandle<(String, Value)>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url =
        format!("http://{}/cloudformation-response?X-Amz-Signature=abc", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut received = Vec::new();
        let mut buffer = [0u8; 8192];
        loop {
            let n = socket.read(&mut buffer).unwrap();
            received.extend_from_slice(&buffer[..n]);
            let text = String::from_utf8_lossy(&received).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                if body.len() >= length {
                    socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").unwrap();
                    let request_line = head.lines().next().unwrap().to_owned();
                    return (request_line, serde_json::from_str(body).unwrap());
                }
            }
            assert!(n > 0, "connection closed early");
        }
    });
    (url, server)
}

fn migration_files() -> usize {
    std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "sql"))
        .count()
}

#[test]
fn the_event_files_are_what_the_function_reads() {
    let request: CustomResourceRequest =
        serde_json::from_value(event("migrations-cloudformation-update.json")).unwrap();
    assert_eq!(
        (request.request_type.as_str(), request.logical_resource_id.as_str()),
        ("Update", "Migrations")
    );
    assert!(matches!(serde_json::from_value(event("migrations-migrate.json")).unwrap(), Command::Migrate));
    match serde_json::from_value(event("migrations-tenant-create.json")).unwrap() {
        Command::TenantCreate(draft) => {
            assert_eq!(
                (draft.handle.as_str(), draft.domains.len(), draft.default_currency.as_str()),
                ("demo", 1, "EUR")
            );
            assert_eq!(draft.zitadel_org_id.as_deref(), Some("310000000000000002"));
        }
        Command::Migrate => panic!("the tenant-create event parsed as migrate"),
    }
}

#[test]
fn a_misspelt_tenant_create_field_is_refused_not_defaulted() {
    let mut payload = event("migrations-tenant-create.json");
    let currency = payload.as_object_mut().unwrap().remove("currency").unwrap();
    payload["default_currency"] = currency;
    let err = serde_json::from_value::<Command>(payload).unwrap_err().to_string();
    assert!(err.contains("unknown field `default_currency`"), "{err}");
}

#[sqlx::test(migrations = false)]
async fn a_cloudformation_update_migrates_as_the_owner_and_reports_success_at_the_response_url(pool: PgPool) {
    let url = database_url(&pool).await;
    let (answer, request_line, body) = deploy(&url, &url).await;
    assert_eq!(answer["status"], "SUCCESS");
    assert!(request_line.starts_with("PUT /cloudformation-response?X-Amz-Signature=abc "), "{request_line}");
    assert_eq!(body["Status"], "SUCCESS", "{body}");
    assert_eq!(body["LogicalResourceId"], "Migrations");
    assert_eq!(body["RequestId"], "0b1c2d3e-0000-0000-0000-000000000001");
    assert_eq!(body["PhysicalResourceId"], "kassa-migrations");
    assert_eq!(body["Data"]["Applied"], migration_files());
    let tenants: i64 = sqlx::query_scalar("select count(*) from tenants").fetch_one(&pool).await.unwrap();
    assert_eq!(tenants, 0, "the schema exists");

    // Every deploy runs it again: nothing new to apply, still a success.
    let (_, _, body) = deploy(&url, &url).await;
    assert_eq!(body["Status"], "SUCCESS");
}

/// A stack update as CloudFormation sends it, run with `owner` as `DATABASE_OWNER_URL` and
/// `service` as `DATABASE_URL`: the function's answer, and the request line and body it PUT
/// at the response URL.
async fn deploy(owner: &str, service: &str) -> (Value, String, Value) {
    let (response_url, server) = cloudformation();
    let mut payload = event("migrations-cloudformation-update.json");
    payload["ResponseURL"] = Value::String(response_url);
    let answer = handle(config(owner, service), LambdaEvent::new(payload, Context::default())).await.unwrap();
    let (request_line, body) = server.join().unwrap();
    (answer, request_line, body)
}

#[sqlx::test(migrations = false)]
async fn a_failed_migration_fails_the_deploy_instead_of_leaving_cloudformation_waiting(pool: PgPool) {
    let url = database_url(&pool).await;
    // Not a suffix of the test database's name: Postgres cuts names at 63 characters, and
    // sqlx's test databases are that long already.
    let mut missing = reqwest::Url::parse(&url).unwrap();
    missing.set_path("kassa_migrations_no_such_database");
    let (answer, _, body) = deploy(missing.as_str(), &url).await;
    assert_eq!(answer["status"], "FAILED");
    assert_eq!(body["Status"], "FAILED");
    assert!(body["Reason"].as_str().unwrap().starts_with("migrations failed: "), "{body}");
}

#[sqlx::test(migrations = false)]
async fn a_one_off_invoke_creates_the_first_shop(pool: PgPool) {
    let url = database_url(&pool).await;
    let config = config(&url, &url);
    let migrated =
        run(&config, serde_json::from_value(event("migrations-migrate.json")).unwrap()).await.unwrap();
    assert_eq!(migrated["applied"], migration_files());
    let created =
        run(&config, serde_json::from_value(event("migrations-tenant-create.json")).unwrap()).await.unwrap();
    assert_eq!(created["created"]["handle"], "demo");
    let domain: String =
        sqlx::query_scalar("select hostname from tenant_domains").fetch_one(&pool).await.unwrap();
    assert_eq!(domain, "demo.shops.example.com");
    let again = run(&config, serde_json::from_value(event("migrations-tenant-create.json")).unwrap()).await;
    assert!(again.is_err(), "a second shop with the same handle is refused");
}

#[sqlx::test(migrations = false)]
async fn migrating_sets_the_service_logins_password_from_database_url(pool: PgPool) {
    let owner = database_url(&pool).await;
    let mut service = reqwest::Url::parse(&owner).unwrap();
    service.set_username("kassa_service").unwrap();
    // A quote and a percent-encoded character: the password is decoded, then quoted as a literal.
    service.set_password(Some("it%27s%20secret")).unwrap();
    let config = config(&owner, service.as_str());
    // The role is the server's, shared with other tests and processes: put its password back.
    let before: Option<String> =
        sqlx::query_scalar("select rolpassword from pg_authid where rolname = 'kassa_service'")
            .fetch_optional(&pool)
            .await
            .unwrap()
            .flatten();
    let applied = kassa_migrations::migrate(&config).await;
    let verifier: Option<String> =
        sqlx::query_scalar("select rolpassword from pg_authid where rolname = 'kassa_service'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let restore = match &before {
        Some(hash) => format!("alter role kassa_service with password '{}'", hash.replace('\'', "''")),
        None => "alter role kassa_service with password null".to_owned(),
    };
    sqlx::query(&restore).execute(&pool).await.unwrap();
    assert_eq!(applied.unwrap(), migration_files());
    assert_ne!(verifier, before, "the password changed");
    // A quote left unescaped would have failed the statement (and `applied` above).
    let verifier = verifier.unwrap();
    assert!(verifier.starts_with("SCRAM-SHA-256$"), "{verifier}");
    assert_eq!(config.service_password().as_deref(), Some("it's secret"));
}
