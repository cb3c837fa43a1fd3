//! The first-level cache: storefront answers kept in this process, in front of Valkey, so a
//! hit costs no Valkey payload at all.
//!
//! What may be stale here is the tenant's catalog version: every write bumps it in Valkey
//! (`INCR`) after it commits and before it answers. This process reads versions on its own
//! connection with server-assisted client-side caching on (`CLIENT TRACKING`, RESP3), so
//! Valkey pushes an invalidation for a version key to this connection when any process
//! bumps it. The push is applied by the connection's reader as it arrives, in order with
//! the replies on that connection.
//!
//! Before answering from memory a request waits for a **fence**: a `PING` on the tracking
//! connection sent after the request began. A write that returned before the request began
//! ran its `INCR` before that `PING` reached Valkey, so its invalidation was queued on the
//! connection ahead of the `PONG` and has been applied by the time the fence returns. One
//! `PING` in flight serves every request waiting for it, so under load a fence costs a
//! fraction of a round trip per request and carries no payload.
//!
//! When the tracking connection fails or drops, everything in memory is thrown away (pushes
//! may have been missed) and requests read through Valkey until it is back.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kassa_domain::tenant::TenantId;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, IntoConnectionInfo, ProtocolVersion, PushInfo, PushKind, Value};
use tokio::sync::{Notify, watch};

use super::{Cached, entry_prefix, version_key};
use crate::valkey::ValkeyError;

/// The entries and versions this process knows, and how fresh that knowledge is.
#[derive(Default)]
struct State {
    /// Which tracking connection the state belongs to; pushes of an older one are ignored.
    epoch: u64,
    /// Whether tracking is on for the current connection (else nothing here is served).
    tracking: bool,
    /// Counts invalidations of versions (and flushes): a version read before one of them is
    /// not installed, because its push may already have been applied.
    generation: u64,
    versions: HashMap<TenantId, String>,
    entries: HashMap<String, Entry>,
    /// Insertion order for eviction: `(key, seq)`; a stale `seq` means the entry was replaced.
    order: VecDeque<(String, u64)>,
    bytes: usize,
    seq: u64,
}

struct Entry {
    cached: Cached,
    expires: Instant,
    size: usize,
    seq: u64,
}

impl State {
    fn forget_all(&mut self) {
        self.generation += 1;
        self.versions.clear();
        self.entries.clear();
        self.order.clear();
        self.bytes = 0;
    }

    fn remove(&mut self, key: &str) {
        if let Some(entry) = self.entries.remove(key) {
            self.bytes -= entry.size;
        }
    }

    /// A key Valkey says changed (or stopped being tracked). Only version keys matter: an
    /// entry's key names its version, so whoever stores it stores an equal answer, and its
    /// end is kept here as well (the time to live it was read or stored with).
    fn invalidate(&mut self, key: &[u8]) {
        let Some(tenant) = std::str::from_utf8(key).ok().and_then(tenant_of_version_key) else { return };
        self.generation += 1;
        if self.versions.remove(&tenant).is_some() {
            // Entries under the old version can no longer be reached: free them now.
            let prefix = entry_prefix(tenant);
            let gone: Vec<String> = self.entries.keys().filter(|k| k.starts_with(&prefix)).cloned().collect();
            for key in gone {
                self.remove(&key);
            }
        }
    }

    fn apply(&mut self, push: PushInfo, epoch: u64) {
        if epoch != self.epoch {
            return;
        }
        match push.kind {
            PushKind::Invalidate => match push.data.first() {
                Some(Value::Array(keys)) => {
                    for key in keys {
                        if let Value::BulkString(key) = key {
                            self.invalidate(key);
                        }
                    }
                }
                // A null list: the server flushed its data, or its tracking table.
                _ => self.forget_all(),
            },
            PushKind::Disconnection => {
                self.tracking = false;
                self.forget_all();
            }
            _ => {}
        }
    }
}

/// `kassa:{<tenant>}:catver` → the tenant.
fn tenant_of_version_key(key: &str) -> Option<TenantId> {
    let id = key.strip_prefix("kassa:{")?.strip_suffix("}:catver")?;
    uuid::Uuid::parse_str(id).ok().map(TenantId::from)
}

/// What the in-process cache knows of a request.
pub(super) enum Local {
    /// The answer, current as of a fence sent after the request began.
    Hit(Cached),
    /// Not here: read through Valkey on the tracking connection.
    Absent,
}

/// The answer of a read through the tracking connection.
pub(super) struct Read {
    pub version: String,
    pub entry: Option<Cached>,
}

/// The fence's progress: the last `PING` answered and the last one that failed.
#[derive(Clone, Copy, Default)]
struct Fenced {
    done: u64,
    failed: u64,
}

pub(super) struct LocalCache {
    client: Client,
    timeout: Duration,
    budget: usize,
    state: Arc<Mutex<State>>,
    connection: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    /// Id of the last fence `PING` sent (or about to be).
    sent: AtomicU64,
    /// The highest fence id a request waits for.
    wanted: AtomicU64,
    fenced: watch::Sender<Fenced>,
    wake: Notify,
    fencing: AtomicBool,
    pub(super) hits: AtomicU64,
}

impl LocalCache {
    /// A cache of at most `budget` bytes of answers; connects on first use.
    pub(super) fn new(url: &str, timeout: Duration, budget: usize) -> Result<Self, ValkeyError> {
        let mut info = url.into_connection_info()?;
        let redis = info.redis_settings().clone().set_protocol(ProtocolVersion::RESP3);
        info = info.set_redis_settings(redis);
        Ok(Self {
            client: Client::open(info)?,
            timeout,
            budget,
            state: Arc::new(Mutex::new(State::default())),
            connection: tokio::sync::Mutex::new(None),
            sent: AtomicU64::new(0),
            wanted: AtomicU64::new(0),
            fenced: watch::Sender::new(Fenced::default()),
            wake: Notify::new(),
            fencing: AtomicBool::new(false),
            hits: AtomicU64::new(0),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The tracking connection, made (with tracking on) if there is none.
    async fn connection(&self) -> Result<MultiplexedConnection, ValkeyError> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref()
            && self.state().tracking
        {
            return Ok(connection.clone());
        }
        let epoch = {
            let mut state = self.state();
            state.epoch += 1;
            state.tracking = false;
            state.forget_all();
            state.epoch
        };
        let pushes = Arc::clone(&self.state);
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_push_sender(move |push: PushInfo| {
                pushes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).apply(push, epoch);
                Ok::<(), std::convert::Infallible>(())
            });
        let mut connection =
            bounded(self.timeout, self.client.get_multiplexed_async_connection_with_config(&config)).await?;
        bounded(
            self.timeout,
            redis::cmd("CLIENT").arg("TRACKING").arg("ON").query_async::<()>(&mut connection),
        )
        .await?;
        {
            let mut state = self.state();
            if state.epoch == epoch {
                state.tracking = true;
            }
        }
        *slot = Some(connection.clone());
        Ok(connection)
    }

    /// Forgets the connection and everything learnt through it.
    async fn reset(&self) {
        self.connection.lock().await.take();
        let mut state = self.state();
        state.tracking = false;
        state.forget_all();
    }

    /// The answer for `digest` of `tenant` if this process holds it under the tenant's current
    /// version. Waits for a fence first; `Absent` when the fence fails.
    pub(super) async fn get(self: &Arc<Self>, tenant: TenantId, digest: &str) -> Local {
        let known = {
            let state = self.state();
            state.tracking && state.versions.contains_key(&tenant)
        };
        if !known || self.fence().await.is_err() {
            return Local::Absent;
        }
        let mut state = self.state();
        let Some(version) = state.versions.get(&tenant) else { return Local::Absent };
        let key = format!("{}{version}:{digest}", entry_prefix(tenant));
        match state.entries.get(&key) {
            Some(entry) if entry.expires > Instant::now() => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Local::Hit(entry.cached.clone())
            }
            Some(_) => {
                state.remove(&key);
                Local::Absent
            }
            None => Local::Absent,
        }
    }

    /// Reads the tenant's version and the entry on the tracking connection (so Valkey tracks
    /// both for this process) and keeps what it may.
    pub(super) async fn read(
        &self,
        script: &redis::Script,
        tenant: TenantId,
        digest: &str,
    ) -> Result<Read, ValkeyError> {
        let mut connection = self.connection().await?;
        let (epoch, generation) = {
            let state = self.state();
            (state.epoch, state.generation)
        };
        let mut invocation = script.prepare_invoke();
        invocation.key(version_key(tenant)).key(entry_prefix(tenant)).arg(digest);
        let found =
            bounded(self.timeout, invocation.invoke_async::<(String, Option<Vec<u8>>, i64)>(&mut connection))
                .await;
        let (version, entry, ttl_ms) = match found {
            Ok(found) => found,
            Err(err) => {
                self.reset().await;
                return Err(err);
            }
        };
        let entry = entry.and_then(Cached::decode);
        let mut state = self.state();
        // A push applied since the read was sent may concern this very version: keep nothing.
        if state.tracking && state.epoch == epoch && state.generation == generation {
            state.versions.insert(tenant, version.clone());
            if let Some(cached) = &entry
                && let Ok(ttl) = u64::try_from(ttl_ms)
            {
                let key = format!("{}{version}:{digest}", entry_prefix(tenant));
                self.insert(&mut state, key, cached.clone(), Duration::from_millis(ttl));
            }
        }
        Ok(Read { version, entry })
    }

    /// Keeps a freshly computed answer if `version` is still the tenant's version here.
    pub(super) fn store(
        &self,
        tenant: TenantId,
        version: &str,
        digest: &str,
        cached: &Cached,
        ttl: Duration,
    ) {
        let mut state = self.state();
        if state.tracking && state.versions.get(&tenant).is_some_and(|v| v == version) {
            let key = format!("{}{version}:{digest}", entry_prefix(tenant));
            self.insert(&mut state, key, cached.clone(), ttl);
        }
    }

    fn insert(&self, state: &mut State, key: String, cached: Cached, ttl: Duration) {
        let size = cached.body.len() + cached.etag.len() + cached.content_language.len() + key.len() * 2 + 96;
        if size > self.budget || ttl.is_zero() {
            return;
        }
        state.remove(&key);
        state.seq += 1;
        let seq = state.seq;
        state.order.push_back((key.clone(), seq));
        state.bytes += size;
        state.entries.insert(key, Entry { cached, expires: Instant::now() + ttl, size, seq });
        while state.bytes > self.budget {
            let Some((oldest, seq)) = state.order.pop_front() else { break };
            if state.entries.get(&oldest).is_some_and(|e| e.seq == seq) {
                state.remove(&oldest);
            }
        }
    }

    /// Bytes of answers held now.
    pub(super) fn bytes(&self) -> usize {
        self.state().bytes
    }

    /// Returns once a `PING` sent after this call began has been answered on the tracking
    /// connection (so every invalidation queued before it has been applied).
    async fn fence(self: &Arc<Self>) -> Result<(), ()> {
        let mut fenced = self.fenced.subscribe();
        let need = self.sent.load(Ordering::SeqCst) + 1;
        self.wanted.fetch_max(need, Ordering::SeqCst);
        if !self.fencing.swap(true, Ordering::SeqCst) {
            tokio::spawn(Arc::clone(self).fence_loop());
        }
        self.wake.notify_one();
        let waited =
            tokio::time::timeout(self.timeout * 2, fenced.wait_for(|f| f.done >= need || f.failed >= need))
                .await;
        match waited {
            Ok(Ok(f)) if f.done >= need => Ok(()),
            _ => Err(()),
        }
    }

    /// Sends fence `PING`s one after another while requests wait for them.
    async fn fence_loop(self: Arc<Self>) {
        loop {
            if self.wanted.load(Ordering::SeqCst) <= self.sent.load(Ordering::SeqCst) {
                self.wake.notified().await;
                continue;
            }
            let id = self.sent.fetch_add(1, Ordering::SeqCst) + 1;
            let answered = match self.connection().await {
                Ok(mut connection) => {
                    bounded(self.timeout, redis::cmd("PING").query_async::<String>(&mut connection))
                        .await
                        .is_ok()
                        && self.state().tracking
                }
                Err(_) => false,
            };
            if !answered {
                self.reset().await;
            }
            self.fenced.send_modify(|f| {
                if answered {
                    f.done = f.done.max(id);
                } else {
                    f.failed = f.failed.max(id);
                }
            });
        }
    }
}

impl std::fmt::Debug for LocalCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCache")
            .field("budget", &self.budget)
            .field("bytes", &self.bytes())
            .finish_non_exhaustive()
    }
}

async fn bounded<T>(
    timeout: Duration,
    call: impl Future<Output = Result<T, redis::RedisError>>,
) -> Result<T, ValkeyError> {
    match tokio::time::timeout(timeout, call).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(ValkeyError::Timeout(timeout)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_keys_name_their_tenant_and_nothing_else_does() {
        let tenant = TenantId::new();
        assert_eq!(tenant_of_version_key(&version_key(tenant)), Some(tenant));
        assert_eq!(tenant_of_version_key(&format!("{}1:abc", entry_prefix(tenant))), None);
        assert_eq!(tenant_of_version_key("kassa:{nope}:catver"), None);
    }

    #[test]
    fn a_version_push_drops_the_version_and_its_entries_and_an_entry_push_nothing() {
        let (a, b) = (TenantId::new(), TenantId::new());
        let mut state = State { tracking: true, ..State::default() };
        for tenant in [a, b] {
            state.versions.insert(tenant, "7".into());
            let key = format!("{}7:d", entry_prefix(tenant));
            state.entries.insert(
                key,
                Entry {
                    cached: Cached {
                        etag: "\"e\"".into(),
                        content_language: "en".into(),
                        tags: String::new(),
                        body: bytes::Bytes::from_static(b"{}"),
                        max_age: None,
                    },
                    expires: Instant::now() + Duration::from_secs(60),
                    size: 10,
                    seq: 1,
                },
            );
            state.bytes += 10;
        }
        let generation = state.generation;
        let entry_of_b = format!("{}7:d", entry_prefix(b)).into_bytes();
        let push = PushInfo {
            kind: PushKind::Invalidate,
            data: vec![Value::Array(vec![
                Value::BulkString(version_key(a).into_bytes()),
                Value::BulkString(entry_of_b),
            ])],
        };
        state.apply(push, 0);
        assert!(state.generation > generation, "a version push moves the generation");
        assert!(!state.versions.contains_key(&a));
        assert!(state.versions.contains_key(&b));
        assert_eq!(state.entries.len(), 1);
        assert_eq!(state.bytes, 10);
        // A push of an older connection changes nothing.
        let push = PushInfo { kind: PushKind::Invalidate, data: vec![Value::Nil] };
        state.apply(push, 41);
        assert_eq!(state.entries.len(), 1);
        // A flush (null key list) of this connection forgets everything.
        let push = PushInfo { kind: PushKind::Invalidate, data: vec![Value::Nil] };
        state.apply(push, 0);
        assert!(state.entries.is_empty() && state.versions.is_empty() && state.bytes == 0);
    }
}
