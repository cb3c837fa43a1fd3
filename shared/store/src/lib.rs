//! The key-value backends of carts and the storefront's Idempotency-Key records, chosen by
//! `CART_STORE`: Valkey ([`valkey::ValkeyStore`], the default) or DynamoDB
//! ([`dynamo::DynamoStore`]). Both keep versioned records behind one trait, [`KvStore`]: a
//! write names the version it read and fails when another write came first, so callers
//! re-read and retry ([`carts::update`]) and no concurrent change is lost.
//!
//! Every key starts with the tenant (`kassa:{tenant}:…`), so a record of one shop is nothing
//! in another. Only functions that keep carts or idempotency records depend on this crate
//! (it brings the DynamoDB SDK).

pub mod caller;
pub mod carts;
pub mod dynamo;
pub mod idempotency;
pub mod token;
pub mod valkey;

use std::future::Future;

use axum::extract::FromRequestParts;
use chrono::{DateTime, Utc};
use http::request::Parts;
use kassa_domain::tenant::TenantId;
use kassa_http::config::CartStore;
use kassa_http::{ApiError, AppState};

pub use dynamo::DynamoStore;
pub use idempotency::Idempotent;
pub use valkey::ValkeyStore;

/// A stored value: JSON text, the version it was written as (from 1) and when it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub version: u64,
    pub doc: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("valkey: {0}")]
    Valkey(#[from] kassa_http::valkey::ValkeyError),
    #[error("dynamodb: {0}")]
    Dynamo(String),
    #[error("a stored record is unreadable: {0}")]
    Corrupt(#[from] serde_json::Error),
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        ApiError::internal(err)
    }
}

/// Versioned records under string keys, with expiry. Records past `expires_at` are absent
/// (a backend may delete them later, as DynamoDB's TTL does).
pub trait KvStore: Send + Sync {
    /// The record under `key`, unless there is none or it expired.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Record>, StoreError>> + Send;

    /// Writes `record` under `key` if the stored version is `expected` (0: no live record);
    /// `false` when another write came first, so nothing was written.
    fn put(
        &self,
        key: &str,
        expected: u64,
        record: &Record,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes the record if its version is `expected`; `false` when it is not.
    fn delete(&self, key: &str, expected: u64) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// The tenant's key for `kind`/`id`: `kassa:{tenant}:{kind}:{id}`.
pub fn key(tenant: TenantId, kind: &str, id: &str) -> String {
    format!("kassa:{tenant}:{kind}:{id}")
}

/// The configured backend (`CART_STORE`).
#[derive(Clone, Debug)]
pub enum AnyStore {
    Valkey(ValkeyStore),
    Dynamo(DynamoStore),
}

impl AnyStore {
    /// The store `state.config` names. The DynamoDB client is made once per process.
    pub async fn for_state(state: &AppState) -> Result<Self, StoreError> {
        Ok(match state.config.cart_store {
            CartStore::Valkey => AnyStore::Valkey(ValkeyStore::new(state.valkey.clone())),
            CartStore::DynamoDb => AnyStore::Dynamo(
                DynamoStore::shared(state.config.aws_endpoint_url.as_deref(), &state.config.carts_table)
                    .await,
            ),
        })
    }
}

impl KvStore for AnyStore {
    async fn get(&self, key: &str) -> Result<Option<Record>, StoreError> {
        match self {
            AnyStore::Valkey(s) => s.get(key).await,
            AnyStore::Dynamo(s) => s.get(key).await,
        }
    }

    async fn put(&self, key: &str, expected: u64, record: &Record) -> Result<bool, StoreError> {
        match self {
            AnyStore::Valkey(s) => s.put(key, expected, record).await,
            AnyStore::Dynamo(s) => s.put(key, expected, record).await,
        }
    }

    async fn delete(&self, key: &str, expected: u64) -> Result<bool, StoreError> {
        match self {
            AnyStore::Valkey(s) => s.delete(key, expected).await,
            AnyStore::Dynamo(s) => s.delete(key, expected).await,
        }
    }
}

/// Handlers take the configured store as an argument.
impl FromRequestParts<AppState> for AnyStore {
    type Rejection = ApiError;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(AnyStore::for_state(state).await?)
    }
}
