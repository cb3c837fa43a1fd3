//! `/health` and `/ready` against the real Postgres and Valkey.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use http::StatusCode;
use kassa_testkit::{TestApp, test_config};
use serde_json::json;
use sqlx::PgPool;

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn ready_is_200_when_postgres_and_valkey_answer(pool: PgPool) {
    let app = TestApp::new(pool, kassa_http::ops::router);
    let response = app.get("/ready", &[]).await;
    assert_eq!(response.status, StatusCode::OK, "{:?}", response.json());
    assert_eq!(response.json(), json!({"status": "ready", "checks": {"postgres": "up", "valkey": "up"}}));
    assert_eq!(app.get("/health", &[]).await.json(), json!({"status": "ok"}));
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn ready_is_a_503_problem_when_valkey_is_down(pool: PgPool) {
    // Port 1 on loopback: nothing listens there, so the connection is refused.
    let config = test_config(&[("VALKEY_URL", "redis://127.0.0.1:1")]);
    let app = TestApp::with_config(pool, config, kassa_http::ops::router);
    let response = app.get("/ready", &[]).await;
    let problem = response.problem(StatusCode::SERVICE_UNAVAILABLE, "not_ready");
    assert_eq!(problem["checks"], json!({"postgres": "up", "valkey": "down"}));
    // Liveness does not depend on Valkey.
    assert_eq!(app.get("/health", &[]).await.status, StatusCode::OK);
}
