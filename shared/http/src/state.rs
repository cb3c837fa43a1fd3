//! What every handler can reach: the process's [`Runtime`] (configuration, the Postgres
//! pool, Valkey, tenants, the response cache — fields reached through `Deref`), plus what
//! only routes need: the staff-token authenticator and the rate-limit scripts. One `Arc`:
//! the layers and extractors clone the state for every request, so a clone is one counter.

use std::ops::Deref;
use std::sync::Arc;

use kassa_domain::outbox::PublishAfterCommit;
use kassa_runtime::tenants::TenantResolver;
use kassa_runtime::valkey::Valkey;
use kassa_runtime::{Runtime, RuntimeError};
use sqlx::PgPool;

use crate::auth::Authenticator;
use crate::config::Config;
use crate::limits::Limits;
use crate::shopper::CustomerTokens;

#[derive(Clone, Debug)]
pub struct AppState(Arc<Services>);

/// What [`AppState`] holds (its fields are reached through `Deref`).
#[derive(Clone, Debug)]
pub struct Services {
    pub runtime: Runtime,
    pub auth: Arc<Authenticator>,
    pub limits: Arc<Limits>,
    /// The keys of shoppers' access tokens.
    pub customer_tokens: Arc<CustomerTokens>,
    /// Publish-after-commit of each request's events: set by [`AppState::publishing`] in the
    /// functions that write events, when `EVENTS_QUEUE_URL` is set.
    pub events: Option<Arc<dyn PublishAfterCommit>>,
}

impl Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

impl Deref for Services {
    type Target = Runtime;

    fn deref(&self) -> &Runtime {
        &self.runtime
    }
}

impl AppState {
    /// Builds the state without touching the network (see [`Runtime::connect`]).
    pub fn connect(config: Config) -> Result<Self, StateError> {
        Self::with_runtime(Runtime::connect(config)?)
    }

    /// Builds the state around an existing pool (tests hand in their own database).
    pub fn with_pool(config: Config, db: PgPool) -> Result<Self, StateError> {
        Self::with_runtime(Runtime::with_pool(config, db)?)
    }

    pub fn with_runtime(runtime: Runtime) -> Result<Self, StateError> {
        let auth = Authenticator::new(&runtime.config).map_err(StateError::Http)?;
        let customer_tokens = Arc::new(CustomerTokens::new(&runtime.config));
        Ok(Self(Arc::new(Services {
            runtime,
            auth: Arc::new(auth),
            limits: Arc::new(Limits::default()),
            customer_tokens,
            events: None,
        })))
    }

    /// Assembles a state from its parts (tests swap in an authenticator of their own).
    pub fn from_parts(
        config: Config,
        db: PgPool,
        valkey: Valkey,
        tenants: TenantResolver,
        auth: Authenticator,
    ) -> Self {
        let customer_tokens = Arc::new(CustomerTokens::new(&config));
        let runtime = Runtime::from_parts(config, db, valkey, tenants);
        Self(Arc::new(Services {
            runtime,
            auth: Arc::new(auth),
            limits: Arc::new(Limits::default()),
            customer_tokens,
            events: None,
        }))
    }

    /// The state whose routes publish the events they commit right after the commit,
    /// through what `events` makes of the runtime (`None`: the relay publishes everything).
    /// A writing function's `main.rs`: `boot()?.publishing(FastPath::for_runtime)`.
    pub fn publishing<P: PublishAfterCommit + 'static>(
        self,
        events: impl FnOnce(&Runtime) -> Option<P>,
    ) -> Self {
        let mut services = Arc::unwrap_or_clone(self.0);
        services.events = events(&services.runtime).map(|e| Arc::new(e) as Arc<dyn PublishAfterCommit>);
        Self(Arc::new(services))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("cannot build the HTTP client for the JWKS")]
    Http(#[source] reqwest::Error),
}
