//! Test helpers (a dev-dependency only): a [`TestApp`] that drives an app in-process over
//! a test's own Postgres database (from `#[sqlx::test]`) and the real Valkey at
//! `VALKEY_URL`, plus typed builders for test data ([`builders`]).
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod builders;
pub mod cart_stores;
pub mod issuer;
pub mod mollie;
pub mod smtp;
pub mod webhook;

use axum::Router;
use axum::body::Body;
pub use builders::{
    CollectionBuilder, CustomerBuilder, CustomerGroupBuilder, OrderBuilder, PriceListBuilder, ProductBuilder,
    ProductWithVariants, SignedIn, TenantBuilder, VariantBuilder, WorkflowBuilder,
};
use http::{HeaderMap, Method, Request, StatusCode};
pub use issuer::Issuer;

use http_body_util::BodyExt;
use kassa_domain::tenant::Tenant;
use kassa_http::{AppState, Config};
use sqlx::PgPool;
use tower::ServiceExt;

/// Sends `request` to a real server (a `kassa serve`, the Mollie simulator) and reads the
/// answer's JSON body, whatever its status; panics if it cannot be sent or is no JSON.
pub async fn json_of(request: reqwest::RequestBuilder) -> serde_json::Value {
    request.send().await.unwrap().json().await.unwrap()
}

/// A free port on 127.0.0.1 (free when asked).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Spawns the server `command(port)` makes, on a port free when asked, and waits (up to 20 s)
/// until that child itself listens on it. A port picked here can be taken by another test's
/// server before the child binds it, and waiting for anything to answer there would then take
/// that server for this one; a child that exits instead (it found the port taken) is started
/// again on another port.
pub fn spawn_listening(
    what: &str,
    mut command: impl FnMut(u16) -> std::process::Command,
) -> (std::process::Child, u16) {
    for _ in 0..5 {
        let port = free_port();
        let mut child = command(port).spawn().unwrap_or_else(|e| panic!("{what} does not start: {e}"));
        let started = std::time::Instant::now();
        loop {
            if listens(child.id(), port) {
                return (child, port);
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "{what} did not listen on port {port}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    panic!("{what} exited five times before listening (its ports were taken?)")
}

/// Whether process `pid` holds a socket listening on TCP `port` (Linux: the listening sockets'
/// inodes in `/proc/net/tcp*`, the process's descriptors in `/proc/<pid>/fd`).
fn listens(pid: u32, port: u16) -> bool {
    let sockets: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .flat_map(|table| {
            std::fs::read_to_string(table)
                .unwrap_or_default()
                .lines()
                .skip(1)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter_map(|line| {
            // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local_port = u16::from_str_radix(fields.get(1)?.rsplit_once(':')?.1, 16).ok()?;
            let inode = fields.get(9)?;
            (local_port == port && *fields.get(3)? == "0A").then(|| format!("socket:[{inode}]"))
        })
        .collect();
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return false };
    fds.filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .any(|target| sockets.iter().any(|socket| target.as_os_str() == socket.as_str()))
}

pub struct TestApp {
    /// The app's state; its pool logs in as `kassa_service`, as the platform serves.
    pub state: AppState,
    /// The test database as its owner (a superuser): for assertions that look across
    /// tenants or at tables the service cannot read directly.
    pub owner: PgPool,
    router: Router,
}

/// A pool on the same database as `owner`, logged in as the service role the platform
/// serves as (no superuser, no BYPASSRLS, owns nothing).
pub fn service_pool(owner: &PgPool) -> PgPool {
    let options = (*owner.connect_options()).clone().username(kassa_domain::db::SERVICE_ROLE);
    sqlx::postgres::PgPoolOptions::new().max_connections(10).connect_lazy_with(options)
}

/// The configuration tests run with: the environment's (`make test` points `VALKEY_URL` at
/// the test Valkey), with `overrides` on top. Valkey calls may take 2 s instead of 50 ms: a
/// test machine loaded by parallel tests is no Valkey outage, and a cache that stepped aside
/// mid-test would answer `bypass` where the test expects `hit` or `miss`.
pub fn test_config(overrides: &[(&str, &str)]) -> Config {
    Config::from_lookup(|key| {
        overrides
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| (*v).to_owned())
            .or_else(|| std::env::var(key).ok())
            .or_else(|| (key == "VALKEY_TIMEOUT_MS").then(|| "2000".to_owned()))
    })
    .expect("test configuration is valid")
}

impl TestApp {
    /// An app made of `routes` in the shared stack ([`kassa_http::app`]).
    pub fn new(pool: PgPool, routes: impl FnOnce(AppState) -> Router) -> Self {
        Self::with_config(pool, test_config(&[]), routes)
    }

    pub fn with_config(pool: PgPool, config: Config, routes: impl FnOnce(AppState) -> Router) -> Self {
        let state = AppState::with_pool(config, service_pool(&pool)).expect("state builds");
        Self::with_state(pool, state, routes)
    }

    /// An app over `state` (whose pool should be [`service_pool`]), with `owner` the test
    /// database's own pool.
    pub fn with_state(owner: PgPool, state: AppState, routes: impl FnOnce(AppState) -> Router) -> Self {
        let router = kassa_http::app(routes(state.clone()));
        Self { state, owner, router }
    }

    /// A staff API of `routes` with its token issuer and two shops, `demo` and `other` (the
    /// other is for isolation checks), each made by [`TestApp::tenant`].
    pub async fn with_two_shops(
        pool: PgPool,
        routes: impl FnOnce(AppState) -> Router,
    ) -> (TestApp, Issuer, Tenant, Tenant) {
        let issuer = Issuer::start().await;
        let app = TestApp::with_config(pool, issuer.config(), routes);
        let demo = app.tenant("demo").await;
        let other = app.tenant("other").await;
        (app, issuer, demo, other)
    }

    /// Creates a tenant `handle` served on `<handle>.shop.test`, with locales en and nl,
    /// whose staff are the Zitadel organisation `org-<handle>` ([`TenantBuilder`]'s defaults).
    pub async fn tenant(&self, handle: &str) -> Tenant {
        TenantBuilder::new(handle).create(self).await
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(request).await.expect("the router is infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.expect("body reads").to_bytes().to_vec();
        TestResponse { status, headers, body }
    }

    /// Any request, with a JSON body if given.
    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: Option<&serde_json::Value>,
    ) -> TestResponse {
        let mut request = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = match body {
            Some(json) => {
                request = request.header("content-type", "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).unwrap()).await
    }

    /// A staff member of `tenant` holding `role`, with a token from `issuer`.
    pub fn staff<'a>(&'a self, issuer: &Issuer, tenant: &Tenant, role: &str) -> StaffClient<'a> {
        let org = tenant.zitadel_org_id.clone().expect("the tenant has a Zitadel organisation");
        let token = issuer.token(&format!("{role}-user"), &[(role, &org)]);
        StaffClient { app: self, tenant: tenant.handle.clone(), authorization: format!("Bearer {token}") }
    }

    /// The OpenAPI document served at `path` (public: no token, no tenant), checked to be
    /// OpenAPI 3.1 JSON, with its operations as `(METHOD, path)` pairs.
    pub async fn openapi_document(
        &self,
        path: &str,
    ) -> (serde_json::Value, std::collections::BTreeSet<(String, String)>) {
        let response = self.get(path, &[]).await;
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.header("content-type"), Some("application/json"));
        let doc = response.json();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
        let operations = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                item.as_object().unwrap().keys().map(|method| (method.to_uppercase(), path.clone()))
            })
            .collect();
        (doc, operations)
    }

    /// The outbox events of `tenant`, oldest first: `(event_type, aggregate_id, payload)`.
    pub async fn outbox(&self, tenant: &Tenant) -> Vec<(String, uuid::Uuid, serde_json::Value)> {
        sqlx::query_as(
            "select event_type, aggregate_id, payload from outbox where tenant_id = $1 order by seq",
        )
        .bind(tenant.id)
        .fetch_all(&self.owner)
        .await
        .unwrap()
    }

    /// `GET uri` with the given headers.
    pub async fn get(&self, uri: &str, headers: &[(&str, &str)]) -> TestResponse {
        let mut request = Request::get(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }
}

/// Requests as one staff member of one shop.
pub struct StaffClient<'a> {
    app: &'a TestApp,
    tenant: String,
    authorization: String,
}

impl StaffClient<'_> {
    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        body: Option<&serde_json::Value>,
        extra: &[(&str, &str)],
    ) -> TestResponse {
        let mut headers =
            vec![("x-tenant-id", self.tenant.as_str()), ("authorization", self.authorization.as_str())];
        headers.extend_from_slice(extra);
        self.app.call(method, uri, &headers, body).await
    }

    pub async fn get(&self, uri: &str) -> TestResponse {
        self.call(Method::GET, uri, None, &[]).await
    }

    pub async fn post(&self, uri: &str, body: &serde_json::Value) -> TestResponse {
        self.call(Method::POST, uri, Some(body), &[]).await
    }

    /// A JSON merge patch, with `If-Match: "<version>"` when a version is given.
    pub async fn patch(&self, uri: &str, body: &serde_json::Value, version: Option<i64>) -> TestResponse {
        let etag = version.map(|v| format!("\"{v}\""));
        let extra: Vec<(&str, &str)> = etag.iter().map(|e| ("if-match", e.as_str())).collect();
        self.call(Method::PATCH, uri, Some(body), &extra).await
    }

    pub async fn delete(&self, uri: &str) -> TestResponse {
        self.call(Method::DELETE, uri, None, &[]).await
    }
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status (showing the body when it differs) and returns the JSON body.
    pub fn expect(&self, status: StatusCode) -> serde_json::Value {
        assert_eq!(self.status, status, "body: {}", String::from_utf8_lossy(&self.body));
        if self.body.is_empty() { serde_json::Value::Null } else { self.json() }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// Asserts a problem+json response with this status and code, and returns the body.
    pub fn problem(&self, status: StatusCode, code: &str) -> serde_json::Value {
        assert_eq!(self.status, status, "status; body: {}", String::from_utf8_lossy(&self.body));
        assert_eq!(self.header("content-type"), Some("application/problem+json"));
        let body = self.json();
        assert_eq!(body["code"], code, "code in {body}");
        assert_eq!(body["status"], status.as_u16());
        assert_eq!(body["type"], format!("urn:kassa:problem:{code}"));
        assert_eq!(body["request_id"].as_str(), self.header("x-request-id"), "request_id matches the header");
        body
    }
}

/// One field (`pointer`, `code` or `message`) of each entry of a validation problem's
/// `errors`, in order.
pub fn problem_errors<'a>(problem: &'a serde_json::Value, field: &str) -> Vec<&'a str> {
    problem["errors"].as_array().unwrap().iter().map(|e| e[field].as_str().unwrap()).collect()
}

/// The message ids a Lambda SQS batch answer reports as failed (`batchItemFailures`), which
/// SQS delivers again.
pub fn batch_item_failures(answer: &serde_json::Value) -> Vec<&str> {
    answer["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap())
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_listening_socket_is_found_on_its_own_process_only() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(super::listens(std::process::id(), port));
        assert!(!super::listens(1, port), "another process does not hold it");
        drop(listener);
        assert!(!super::listens(std::process::id(), port), "closed");
    }
}
