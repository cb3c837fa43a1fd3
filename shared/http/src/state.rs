//! What every handler can reach: configuration, the Postgres pool, Valkey and the tenant
//! resolver. Cheap to clone.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::auth::Authenticator;
use crate::cache::ResponseCache;
use crate::config::Config;
use crate::limits::Limits;
use crate::tenancy::TenantResolver;
use crate::valkey::{Valkey, ValkeyError};

#[derive(Clone, Debug)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: PgPool,
    pub valkey: Arc<Valkey>,
    pub tenants: Arc<TenantResolver>,
    pub auth: Arc<Authenticator>,
    pub cache: Arc<ResponseCache>,
    pub limits: Arc<Limits>,
}

impl AppState {
    /// Builds the state without touching the network: the pool and Valkey connect on first
    /// use, which keeps Lambda cold starts short and lets `/ready` report an outage.
    pub fn connect(config: Config) -> Result<Self, StateError> {
        let db = PgPoolOptions::new()
            .max_connections(config.database_max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy(config.database_url.expose())
            .map_err(StateError::Database)?;
        Self::with_pool(config, db)
    }

    /// Builds the state around an existing pool (tests hand in their own database).
    pub fn with_pool(config: Config, db: PgPool) -> Result<Self, StateError> {
        let valkey =
            Valkey::new(config.valkey_url.expose(), config.valkey_timeout).map_err(StateError::Valkey)?;
        let tenants = TenantResolver::new(config.tenant_cache_ttl);
        let auth = Authenticator::new(&config).map_err(StateError::Http)?;
        Ok(Self::from_parts(config, db, valkey, tenants, auth))
    }

    /// Assembles a state from its parts (tests swap in an authenticator of their own).
    pub fn from_parts(
        config: Config,
        db: PgPool,
        valkey: Valkey,
        tenants: TenantResolver,
        auth: Authenticator,
    ) -> Self {
        let valkey = Arc::new(valkey);
        let cache = ResponseCache::new(valkey.clone(), config.storefront_cache, config.storefront_cache_ttl);
        Self {
            config: Arc::new(config),
            db,
            valkey,
            tenants: Arc::new(tenants),
            auth: Arc::new(auth),
            cache: Arc::new(cache),
            limits: Arc::new(Limits::default()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("DATABASE_URL is not usable")]
    Database(#[source] sqlx::Error),
    #[error("VALKEY_URL is not usable")]
    Valkey(#[source] ValkeyError),
    #[error("cannot build the HTTP client for the JWKS")]
    Http(#[source] reqwest::Error),
}
