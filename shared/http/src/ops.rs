//! Operational endpoints of the local server: liveness and readiness.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::json;

use crate::extract::Json;
use crate::problem::ApiError;
use crate::state::AppState;
use kassa_domain::ErrorCode;

const READY_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Liveness: the process answers. Touches nothing else.
async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: Postgres and Valkey both answer; otherwise 503 naming what is down.
async fn ready(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let postgres = tokio::time::timeout(READY_TIMEOUT, sqlx::query("select 1").execute(&state.db)).await;
    let postgres_ok = matches!(postgres, Ok(Ok(_)));
    let valkey_ok = state.valkey.ping().await.is_ok();
    let status = |ok: bool| if ok { "up" } else { "down" };
    let checks = json!({ "postgres": status(postgres_ok), "valkey": status(valkey_ok) });
    if postgres_ok && valkey_ok {
        Ok(Json(json!({ "status": "ready", "checks": checks })))
    } else {
        Err(ApiError::new(ErrorCode::NotReady, "a dependency is down; see checks")
            .with_extension("checks", checks))
    }
}

/// Counters in the Prometheus text format (the local server; Lambda reports through logs).
async fn metrics(State(state): State<AppState>) -> String {
    state.cache.render_metrics()
}
