//! Which tenant a key names (an id, a handle or a hostname), resolved through the database's
//! security-definer resolver and remembered in-process for a short time.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use kassa_domain::DomainError;
use kassa_domain::tenant::{self, Tenant, TenantKey};
use sqlx::PgPool;

/// The most unknown keys remembered; past it, expired ones go, then all unknown ones. Known
/// shops live in their own map, so a flood of made-up keys never pushes a real shop out.
pub const UNKNOWN_CAPACITY: usize = 10_000;
/// The most known keys remembered (ids, handles and hostnames of real shops).
const KNOWN_CAPACITY: usize = 100_000;

/// When a key was resolved, and to which tenant.
type Known = HashMap<TenantKey, (Instant, Arc<Tenant>)>;
/// When a key was found to name no tenant.
type Unknown = HashMap<TenantKey, Instant>;

/// Resolves tenant keys through the database and remembers the answer (found or not) for
/// the configured time-to-live, so a flood of requests costs one lookup per key and TTL.
#[derive(Debug)]
pub struct TenantResolver {
    ttl: Duration,
    unknown_capacity: usize,
    known: RwLock<Known>,
    unknown: RwLock<Unknown>,
}

impl TenantResolver {
    pub fn new(ttl: Duration) -> Self {
        Self::with_unknown_capacity(ttl, UNKNOWN_CAPACITY)
    }

    pub fn with_unknown_capacity(ttl: Duration, unknown_capacity: usize) -> Self {
        Self {
            ttl,
            unknown_capacity,
            known: RwLock::new(HashMap::new()),
            unknown: RwLock::new(HashMap::new()),
        }
    }

    pub async fn resolve(&self, pool: &PgPool, key: &TenantKey) -> Result<Option<Arc<Tenant>>, DomainError> {
        if let Ok(known) = self.known.read()
            && let Some((at, tenant)) = known.get(key)
            && at.elapsed() < self.ttl
        {
            return Ok(Some(tenant.clone()));
        }
        if let Ok(unknown) = self.unknown.read()
            && unknown.get(key).is_some_and(|at| at.elapsed() < self.ttl)
        {
            return Ok(None);
        }
        let tenant = tenant::resolve(pool, key).await?.map(Arc::new);
        let ttl = self.ttl;
        match &tenant {
            Some(found) => {
                if let Ok(mut known) = self.known.write() {
                    if known.len() >= KNOWN_CAPACITY {
                        known.retain(|_, (at, _)| at.elapsed() < ttl);
                    }
                    known.insert(key.clone(), (Instant::now(), found.clone()));
                }
            }
            None => {
                if let Ok(mut unknown) = self.unknown.write() {
                    if unknown.len() >= self.unknown_capacity {
                        unknown.retain(|_, at| at.elapsed() < ttl);
                        if unknown.len() >= self.unknown_capacity {
                            unknown.clear();
                        }
                    }
                    unknown.insert(key.clone(), Instant::now());
                }
            }
        }
        Ok(tenant)
    }

    /// How many keys are remembered: `(known, unknown)`.
    pub fn cached(&self) -> (usize, usize) {
        (self.known.read().map_or(0, |k| k.len()), self.unknown.read().map_or(0, |u| u.len()))
    }
}
