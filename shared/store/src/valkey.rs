//! Records in Valkey: one hash per key (`v` the version, `doc` the JSON) expiring at the
//! record's `expires_at`. Reads and compare-and-set writes are Lua scripts, so each is one
//! atomic step on the server (a multiplexed connection cannot hold a WATCH).

use std::sync::{Arc, LazyLock};

use chrono::{DateTime, Utc};
use kassa_http::valkey::Valkey;
use redis::Script;

use crate::{KvStore, Record, StoreError};

/// `{version, doc, expiry in ms}` or nil.
static GET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local r = redis.call('HMGET', KEYS[1], 'v', 'doc')
          if not r[1] then return nil end
          return {r[1], r[2], redis.call('PEXPIRETIME', KEYS[1])}",
    )
});

/// Writes when the version is ARGV[1] (0: absent): ARGV[2] version, ARGV[3] doc, ARGV[4]
/// expiry (ms since the epoch).
static PUT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
          if v ~= tonumber(ARGV[1]) then return 0 end
          redis.call('HSET', KEYS[1], 'v', ARGV[2], 'doc', ARGV[3])
          redis.call('PEXPIREAT', KEYS[1], ARGV[4])
          return 1",
    )
});

static DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
          if v ~= tonumber(ARGV[1]) then return 0 end
          redis.call('DEL', KEYS[1])
          return 1",
    )
});

#[derive(Clone)]
pub struct ValkeyStore {
    valkey: Arc<Valkey>,
}

impl std::fmt::Debug for ValkeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ValkeyStore")
    }
}

impl ValkeyStore {
    pub fn new(valkey: Arc<Valkey>) -> Self {
        Self { valkey }
    }
}

impl KvStore for ValkeyStore {
    async fn get(&self, key: &str) -> Result<Option<Record>, StoreError> {
        let found: Option<(u64, String, i64)> = self.valkey.invoke(&GET.key(key)).await?;
        Ok(found.map(|(version, doc, expiry_ms)| Record {
            version,
            doc,
            expires_at: DateTime::<Utc>::from_timestamp_millis(expiry_ms).unwrap_or(DateTime::<Utc>::MAX_UTC),
        }))
    }

    async fn put(&self, key: &str, expected: u64, record: &Record) -> Result<bool, StoreError> {
        let mut invocation = PUT.key(key);
        invocation
            .arg(expected)
            .arg(record.version)
            .arg(&record.doc)
            .arg(record.expires_at.timestamp_millis());
        let written: i64 = self.valkey.invoke(&invocation).await?;
        Ok(written == 1)
    }

    async fn delete(&self, key: &str, expected: u64) -> Result<bool, StoreError> {
        let mut invocation = DELETE.key(key);
        invocation.arg(expected);
        let deleted: i64 = self.valkey.invoke(&invocation).await?;
        Ok(deleted == 1)
    }
}
