//! HTTP glue shared by every Kassa function: configuration, state, problem+json errors,
//! extractors, tenant resolution, middleware and telemetry.

pub mod auth;
pub mod context;
pub mod cors;
pub mod crud;
pub mod extract;
pub mod limits;
pub mod list;
pub mod openapi;
pub mod ops;
pub mod preview;
pub mod problem;
pub mod rest;
pub mod routes;
pub mod shopper;
pub mod staff;
pub mod state;
pub mod tenancy;

// The runtime's modules, under their old paths (`kassa_http::cache::Cached`, …).
pub use kassa_runtime::{Runtime, cache, config, mail, telemetry, valkey};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;

pub use config::{Config, ConfigError};
pub use extract::{Json, Path, Query};
pub use problem::{ApiError, Problem};
pub use routes::{FunctionRoutes, Gate, RouteSpec, Verb};
pub use shopper::Shopper;
pub use staff::{Access, Staff};
pub use state::AppState;
pub use tenancy::CurrentTenant;

/// Wraps routes in the stack every deployment shares: request context (id, span, logs,
/// problem bodies), the 1 MiB body limit, and a problem for unknown routes.
pub fn app(routes: Router) -> Router {
    routes
        .fallback(|| async {
            ApiError::new(kassa_domain::ErrorCode::RouteNotFound, "no route matches this path")
        })
        .layer(DefaultBodyLimit::max(extract::BODY_LIMIT_BYTES))
        .layer(middleware::from_fn(context::request_context))
}

/// Start-up of a function: configuration, logging, state. Fails with every bad key named.
pub fn boot() -> Result<AppState, BootError> {
    let config = Config::from_env()?;
    telemetry::init(config.log_format);
    Ok(AppState::connect(config)?)
}

#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    State(#[from] state::StateError),
}
