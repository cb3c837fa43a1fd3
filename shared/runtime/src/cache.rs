//! The storefront's response cache in Valkey. Keys carry the tenant's catalog version, and
//! every catalog write bumps that version after it commits — so a read that starts after a
//! write has returned never finds an answer computed before it. Concurrent misses on one key
//! compute once per process. When Valkey is down or slow the cache steps aside for a second
//! and requests are answered from Postgres. In front of Valkey, answers are also kept in the
//! process ([`local`]) for as long as Valkey's invalidation pushes say they are current.

mod local;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use kassa_domain::tenant::TenantId;
use serde::Serialize;
use tokio::sync::OnceCell;

use crate::valkey::{Valkey, ValkeyError};
use local::{Local, LocalCache};

/// What the cache itself can fail with (beside the caller's own errors).
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cannot serialise the answer")]
    Serialise(#[source] serde_json::Error),
    #[error("single flight lost its computation")]
    LostFlight,
}

/// How long the cache stays out of the way after Valkey failed.
const BACKOFF: Duration = Duration::from_secs(1);

/// A cached response: body, its strong ETag, its language and what a CDN may purge it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cached {
    pub etag: String,
    pub content_language: String,
    /// Space-separated surrogate keys (the shop, the products shown), no line breaks.
    pub tags: String,
    pub body: Bytes,
    /// How long the answer stays true without any write (e.g. until a price list's window
    /// opens or closes); the cache keeps it no longer. Not stored with the entry.
    pub max_age: Option<Duration>,
}

impl Cached {
    /// Serialises `value` and tags it with an ETag over the bytes.
    pub fn json<T: Serialize>(value: &T, content_language: &str) -> Result<Self, CacheError> {
        let body = Bytes::from(serde_json::to_vec(value).map_err(CacheError::Serialise)?);
        Ok(Cached {
            etag: format!("\"{}\"", digest(&body)),
            content_language: content_language.to_owned(),
            tags: String::new(),
            body,
            max_age: None,
        })
    }

    /// Adds surrogate keys (line breaks become spaces: the stored form is line-separated).
    pub fn tagged(mut self, tags: &str) -> Self {
        self.tags = tags.replace(['\n', '\r'], " ");
        self
    }

    /// Keeps the answer no longer than until `at` (a moment in the future, or `None`).
    pub fn expiring_at(mut self, at: Option<chrono::DateTime<chrono::Utc>>) -> Self {
        if let Some(at) = at {
            let left = (at - chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO);
            self.max_age = Some(self.max_age.map_or(left, |age| age.min(left)));
        }
        self
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 64);
        out.extend_from_slice(self.etag.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(self.content_language.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(self.tags.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(&self.body);
        out
    }

    fn decode(bytes: Vec<u8>) -> Option<Self> {
        let mut parts = bytes.splitn(4, |b| *b == b'\n');
        let etag = String::from_utf8(parts.next()?.to_vec()).ok()?;
        let content_language = String::from_utf8(parts.next()?.to_vec()).ok()?;
        let tags = String::from_utf8(parts.next()?.to_vec()).ok()?;
        let body = Bytes::copy_from_slice(parts.next()?);
        Some(Cached { etag, content_language, tags, body, max_age: None })
    }
}

/// The first 16 bytes of SHA-256, in hex.
pub fn digest(bytes: &[u8]) -> String {
    hex::encode(&aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref()[..16])
}

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    Hit,
    Miss,
    /// The cache was off or unavailable: computed from Postgres.
    Bypass,
}

impl Lookup {
    pub fn as_str(self) -> &'static str {
        match self {
            Lookup::Hit => "hit",
            Lookup::Miss => "miss",
            Lookup::Bypass => "bypass",
        }
    }
}

/// Counters for `/metrics` and logs.
#[derive(Debug, Default)]
pub struct CacheMetrics {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub bypasses: AtomicU64,
    /// Responses computed from Postgres on a miss (single flight keeps this ≤ misses).
    pub computes: AtomicU64,
    pub errors: AtomicU64,
    pub bumps: AtomicU64,
    pub bump_errors: AtomicU64,
}

/// How the request was found: version, entry if any.
type Found = (String, Option<Cached>);

type Flight = Arc<OnceCell<Option<Cached>>>;

#[derive(Debug)]
pub struct ResponseCache {
    valkey: Arc<Valkey>,
    enabled: bool,
    ttl: Duration,
    lookup: redis::Script,
    entry: redis::Script,
    /// The in-process first level, when configured.
    local: Option<Arc<LocalCache>>,
    inflight: Mutex<HashMap<String, Flight>>,
    /// Unix milliseconds until which the cache stays out of the way.
    down_until: AtomicU64,
    /// Tenants whose last version bump failed: their answers are computed from Postgres
    /// until a bump succeeds, so a write that returned is never followed by a stale read here.
    unbumped: Mutex<HashSet<TenantId>>,
    pub metrics: CacheMetrics,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Keys of one tenant share a hash tag, so they live in one slot of a Valkey cluster.
fn version_key(tenant: TenantId) -> String {
    format!("kassa:{{{tenant}}}:catver")
}

fn entry_prefix(tenant: TenantId) -> String {
    format!("kassa:{{{tenant}}}:sf:")
}

/// Reads the tenant's catalog version and the entry of the request under that version in
/// one round trip: `{version, entry or nil, the entry's time to live in ms}`.
const LOOKUP: &str = r"
local version = redis.call('GET', KEYS[1]) or '0'
local key = KEYS[2] .. version .. ':' .. ARGV[1]
return {version, redis.call('GET', key), redis.call('PTTL', key)}
";

/// One entry and its time to live in ms: `{entry or nil, ttl}`.
const ENTRY: &str = r"
return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}
";

impl ResponseCache {
    pub fn new(valkey: Arc<Valkey>, enabled: bool, ttl: Duration) -> Self {
        Self {
            valkey,
            enabled,
            ttl,
            lookup: redis::Script::new(LOOKUP),
            entry: redis::Script::new(ENTRY),
            local: None,
            inflight: Mutex::new(HashMap::new()),
            down_until: AtomicU64::new(0),
            unbumped: Mutex::new(HashSet::new()),
            metrics: CacheMetrics::default(),
        }
    }

    /// Adds the in-process first level of at most `budget` bytes (0: none), on its own
    /// tracking connection to the Valkey at `url`. A URL it cannot use leaves it off (logged):
    /// the cache then works as before, through Valkey.
    pub fn with_local(mut self, url: &str, timeout: Duration, budget: usize) -> Self {
        if self.enabled && budget > 0 {
            match LocalCache::new(url, timeout, budget) {
                Ok(local) => self.local = Some(Arc::new(local)),
                Err(err) => tracing::warn!(error = %err, "the storefront's in-process cache is off"),
            }
        }
        self
    }

    fn failed(&self, what: &str, err: &ValkeyError) {
        self.metrics.errors.fetch_add(1, Ordering::Relaxed);
        self.down_until.store(now_ms() + BACKOFF.as_millis() as u64, Ordering::Relaxed);
        tracing::warn!(error = %err, what, "storefront cache unavailable; serving from Postgres");
    }

    /// Marks the tenant's catalog as changed. Called after a write committed. When the bump
    /// fails (twice), this process stops using the cache for the tenant until a later bump
    /// succeeds — tried again before each of the tenant's reads.
    pub async fn bump(&self, tenant: TenantId) {
        if !self.enabled {
            return;
        }
        for attempt in 0..2 {
            match self.valkey.query::<i64>(redis::cmd("INCR").arg(version_key(tenant))).await {
                Ok(_) => {
                    self.metrics.bumps.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut unbumped) = self.unbumped.lock() {
                        unbumped.remove(&tenant);
                    }
                    return;
                }
                Err(err) => {
                    self.metrics.bump_errors.fetch_add(1, Ordering::Relaxed);
                    self.failed("bump", &err);
                    if attempt == 1 {
                        tracing::error!(error = %err, %tenant, "could not bump the catalog version; the storefront cache steps aside for this tenant until a bump succeeds");
                    }
                }
            }
        }
        if let Ok(mut unbumped) = self.unbumped.lock() {
            unbumped.insert(tenant);
        }
    }

    /// Whether the tenant's last bump failed (and no later one succeeded).
    fn is_unbumped(&self, tenant: TenantId) -> bool {
        // A poisoned lock: assume the worst and keep out of the way.
        self.unbumped.lock().map_or(true, |unbumped| unbumped.contains(&tenant))
    }

    /// The cached answer for `key` of `tenant`, or `compute`'s, which is then cached.
    pub async fn fetch<F, Fut, E>(
        &self,
        tenant: TenantId,
        key: &str,
        compute: F,
    ) -> Result<(Cached, Lookup), E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Cached, E>>,
        E: From<CacheError>,
    {
        if self.enabled && now_ms() >= self.down_until.load(Ordering::Relaxed) && self.is_unbumped(tenant) {
            // Owe the tenant a bump: pay it before trusting any cached answer again.
            self.bump(tenant).await;
        }
        if !self.enabled || now_ms() < self.down_until.load(Ordering::Relaxed) || self.is_unbumped(tenant) {
            self.metrics.bypasses.fetch_add(1, Ordering::Relaxed);
            return compute().await.map(|c| (c, Lookup::Bypass));
        }
        let digest = digest(key.as_bytes());
        if let Some(local) = &self.local
            && let Local::Hit(cached) = local.get(tenant, &digest).await
        {
            self.metrics.hits.fetch_add(1, Ordering::Relaxed);
            return Ok((cached, Lookup::Hit));
        }
        let (version, entry) = match self.find(tenant, &digest).await {
            Ok(found) => found,
            Err(err) => {
                self.failed("lookup", &err);
                self.metrics.bypasses.fetch_add(1, Ordering::Relaxed);
                return compute().await.map(|c| (c, Lookup::Bypass));
            }
        };
        if let Some(cached) = entry {
            self.metrics.hits.fetch_add(1, Ordering::Relaxed);
            return Ok((cached, Lookup::Hit));
        }
        let key = format!("{}{version}:{digest}", entry_prefix(tenant));
        self.metrics.misses.fetch_add(1, Ordering::Relaxed);
        let cached = self.single_flight(key, compute).await?;
        if let Some(local) = &self.local {
            local.store(tenant, &version, &digest, &cached, self.lifetime(&cached));
        }
        Ok((cached, Lookup::Miss))
    }

    /// The tenant's version and the request's entry: through the tracking connection of the
    /// first level when there is one (so it learns both), else in one Valkey call.
    async fn find(&self, tenant: TenantId, digest: &str) -> Result<Found, ValkeyError> {
        if let Some(local) = &self.local {
            let read = local.read(&self.lookup, tenant, digest).await?;
            return Ok((read.version, read.entry));
        }
        let mut invocation = self.lookup.prepare_invoke();
        invocation.key(version_key(tenant)).key(entry_prefix(tenant)).arg(digest);
        let (version, entry, _) = self.valkey.invoke::<(String, Option<Vec<u8>>, i64)>(&invocation).await?;
        Ok((version, entry.and_then(Cached::decode)))
    }

    /// How long an answer may be kept: the cache's TTL, or less when the answer says so.
    fn lifetime(&self, cached: &Cached) -> Duration {
        cached.max_age.map_or(self.ttl, |age| age.min(self.ttl))
    }

    /// Computes once for all concurrent callers of `key` in this process, and stores it.
    async fn single_flight<F, Fut, E>(&self, key: String, compute: F) -> Result<Cached, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Cached, E>>,
        E: From<CacheError>,
    {
        let flight = match self.inflight.lock() {
            Ok(mut inflight) => inflight.entry(key.clone()).or_default().clone(),
            Err(_) => Flight::default(),
        };
        let mut compute = Some(compute);
        let mut leader_error = None;
        let shared = flight
            .get_or_init(|| async {
                // A caller whose lookup missed just before another flight stored the entry
                // and left: the entry is there now, so serve it instead of computing again.
                let mut invocation = self.entry.prepare_invoke();
                invocation.key(&key);
                if let Ok((Some(stored), ttl_ms)) =
                    self.valkey.invoke::<(Option<Vec<u8>>, i64)>(&invocation).await
                    && let Some(mut cached) = Cached::decode(stored)
                {
                    cached.max_age = u64::try_from(ttl_ms).ok().map(Duration::from_millis);
                    return Some(cached);
                }
                let compute = compute.take()?;
                self.metrics.computes.fetch_add(1, Ordering::Relaxed);
                match compute().await {
                    Ok(cached) => {
                        let ttl = self.lifetime(&cached);
                        // An answer already at its end is served once, not stored.
                        if ttl.as_millis() > 0 {
                            let set = redis::cmd("SET")
                                .arg(&key)
                                .arg(cached.encode())
                                .arg("PX")
                                .arg(ttl.as_millis() as u64)
                                .clone();
                            if let Err(err) = self.valkey.query::<()>(&set).await {
                                self.failed("set", &err);
                            }
                        }
                        Some(cached)
                    }
                    Err(err) => {
                        leader_error = Some(err);
                        None
                    }
                }
            })
            .await
            .clone();
        if let Ok(mut inflight) = self.inflight.lock()
            && inflight.get(&key).is_some_and(|f| Arc::ptr_eq(f, &flight))
        {
            inflight.remove(&key);
        }
        match (shared, leader_error, compute) {
            (Some(cached), _, _) => Ok(cached),
            (None, Some(err), _) => Err(err),
            // The leader failed; this caller computes on its own.
            (None, None, Some(compute)) => compute().await,
            (None, None, None) => Err(CacheError::LostFlight.into()),
        }
    }

    /// Counter lines in the Prometheus text format.
    pub fn render_metrics(&self) -> String {
        let m = &self.metrics;
        let line = |name: &str, value: &AtomicU64| {
            format!("kassa_storefront_cache_{name}_total {}\n", value.load(Ordering::Relaxed))
        };
        [
            line("hits", &m.hits),
            line("misses", &m.misses),
            line("bypasses", &m.bypasses),
            line("computes", &m.computes),
            line("errors", &m.errors),
            line("version_bumps", &m.bumps),
            line("version_bump_errors", &m.bump_errors),
        ]
        .concat()
            + &self.local.as_ref().map_or_else(String::new, |local| {
                format!(
                    "kassa_storefront_cache_local_hits_total {}\nkassa_storefront_cache_local_bytes {}\n",
                    local.hits.load(Ordering::Relaxed),
                    local.bytes()
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_answers_round_trip_through_their_encoding() {
        let cached = Cached::json(&serde_json::json!({"a": "b\nc"}), "nl").unwrap();
        assert_eq!(Cached::decode(cached.encode()), Some(cached.clone()));
        assert_eq!(cached.etag.len(), 34);
        // Surrogate keys cannot break the line-separated form.
        let tagged = cached.tagged("shop-1\nproduct-2");
        assert_eq!(tagged.tags, "shop-1 product-2");
        assert_eq!(Cached::decode(tagged.encode()), Some(tagged));
    }
}
