//! What every Kassa process runs on, HTTP or not — the functions behind API Gateway, the
//! workflow worker, the outbox relay and `kassa serve`: flat environment configuration, the
//! Postgres pool, Valkey, the storefront response cache, tenant resolution and logging. No
//! HTTP here (no JWKS client, no extractors): `kassa-http` adds those for the routes.

pub mod aws;
pub mod cache;
pub mod config;
pub mod mail;
pub mod media;
pub mod secrets;
pub mod telemetry;
pub mod tenants;
pub mod valkey;

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

pub use config::{Config, ConfigError};

use crate::cache::ResponseCache;
use crate::tenants::TenantResolver;
use crate::valkey::{Valkey, ValkeyError};

/// Every Kassa process allocates through mimalloc (built without transparent huge pages, see
/// the workspace's Cargo.toml). A cached storefront answer is mostly allocator work (headers,
/// futures, buffers): glibc's malloc spent about 15 % of such a request's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The shared parts of a process: configuration, pool, Valkey, tenants, cache. Cheap to
/// clone.
#[derive(Clone, Debug)]
pub struct Runtime {
    pub config: Arc<Config>,
    pub db: PgPool,
    pub valkey: Arc<Valkey>,
    pub tenants: Arc<TenantResolver>,
    pub cache: Arc<ResponseCache>,
}

impl Runtime {
    /// Builds the runtime without touching the network: the pool and Valkey connect on
    /// first use, which keeps Lambda cold starts short and lets `/ready` report an outage.
    pub fn connect(config: Config) -> Result<Self, RuntimeError> {
        let db = PgPoolOptions::new()
            .max_connections(config.database_max_connections)
            .acquire_timeout(Duration::from_secs(5))
            // The pool checks every connection when it comes back; a check before each use
            // too would cost every request a round trip. Only a connection idle for a while
            // (e.g. a Lambda instance thawed after minutes) is checked again before use.
            .test_before_acquire(false)
            .before_acquire(|connection, meta| {
                Box::pin(async move {
                    if meta.idle_for > Duration::from_secs(10) {
                        sqlx::Connection::ping(connection).await?;
                    }
                    Ok(true)
                })
            })
            .connect_lazy(config.database_url.expose())
            .map_err(RuntimeError::Database)?;
        Self::with_pool(config, db)
    }

    /// Builds the runtime around an existing pool (tests hand in their own database).
    pub fn with_pool(config: Config, db: PgPool) -> Result<Self, RuntimeError> {
        let valkey =
            Valkey::new(config.valkey_url.expose(), config.valkey_timeout).map_err(RuntimeError::Valkey)?;
        let tenants = TenantResolver::new(config.tenant_cache_ttl);
        Ok(Self::from_parts(config, db, valkey, tenants))
    }

    pub fn from_parts(config: Config, db: PgPool, valkey: Valkey, tenants: TenantResolver) -> Self {
        let valkey = Arc::new(valkey);
        let cache = ResponseCache::new(valkey.clone(), config.storefront_cache, config.storefront_cache_ttl)
            .with_local(
                config.valkey_url.expose(),
                config.valkey_timeout,
                config.storefront_local_cache_bytes,
            );
        Self { config: Arc::new(config), db, valkey, tenants: Arc::new(tenants), cache: Arc::new(cache) }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("DATABASE_URL is not usable")]
    Database(#[source] sqlx::Error),
    #[error("VALKEY_URL is not usable")]
    Valkey(#[source] ValkeyError),
}

/// Start-up of a process without routes (the worker, the relay): configuration, logging,
/// runtime. Fails with every bad key named.
pub fn boot() -> Result<Runtime, BootError> {
    let config = Config::from_env()?;
    telemetry::init(config.log_format);
    Ok(Runtime::connect(config)?)
}

#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}
