//! A Valkey client that never blocks start-up and never waits longer than its timeout: the
//! connection is made on first use and remade after a failure, so a cache outage degrades
//! Kassa (it serves from Postgres) instead of stopping it.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client};
use tokio::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum ValkeyError {
    #[error("valkey did not answer within {0:?}")]
    Timeout(Duration),
    #[error(transparent)]
    Redis(#[from] redis::RedisError),
}

pub struct Valkey {
    client: Client,
    connection: Mutex<Option<MultiplexedConnection>>,
    timeout: Duration,
}

impl Valkey {
    /// Checks the URL only; nothing is connected yet.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, ValkeyError> {
        Ok(Self { client: Client::open(url)?, connection: Mutex::new(None), timeout })
    }

    /// The shared multiplexed connection, made now if there is none. Concurrent callers
    /// wait for one connection attempt instead of each making their own.
    pub async fn connection(&self) -> Result<MultiplexedConnection, ValkeyError> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        let connection =
            self.bounded(self.client.get_multiplexed_async_connection_with_config(&config)).await?;
        *slot = Some(connection.clone());
        Ok(connection)
    }

    /// Runs one command with the timeout; after a failure the connection is dropped so the
    /// next call connects afresh.
    pub async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, ValkeyError> {
        let mut connection = self.connection().await?;
        let result = self.bounded(cmd.query_async::<T>(&mut connection)).await;
        self.forget_on_error(result).await
    }

    /// Runs a Lua script (EVALSHA, loading it on first use) with the same timeout.
    pub async fn invoke<T: redis::FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<T, ValkeyError> {
        let mut connection = self.connection().await?;
        let result = self.bounded(invocation.invoke_async::<T>(&mut connection)).await;
        self.forget_on_error(result).await
    }

    async fn forget_on_error<T>(&self, result: Result<T, ValkeyError>) -> Result<T, ValkeyError> {
        if result.is_err() {
            self.connection.lock().await.take();
        }
        result
    }

    pub async fn ping(&self) -> Result<(), ValkeyError> {
        self.query::<String>(&redis::cmd("PING")).await.map(drop)
    }

    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, redis::RedisError>>,
    ) -> Result<T, ValkeyError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(ValkeyError::Timeout(self.timeout)),
        }
    }
}

impl std::fmt::Debug for Valkey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Valkey").field("timeout", &self.timeout).finish_non_exhaustive()
    }
}
