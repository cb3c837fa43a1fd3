//! Records in DynamoDB: one item per key in the table `CARTS_TABLE` (partition key `pk`,
//! string), with `v` the version (number), `doc` the JSON (string) and `expires_at` (number,
//! seconds since the epoch) the table's TTL attribute. Writes are conditional on `v`; items
//! past `expires_at` count as absent (TTL deletes them within a day or two).

use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use chrono::{DateTime, Utc};
use tokio::sync::OnceCell;

use crate::{KvStore, Record, StoreError};

/// The partition key and the TTL attribute of the table (`template.yaml` and
/// `localstack/ready.d/20-kassa-carts.sh` declare the same).
pub const PARTITION_KEY: &str = "pk";
pub const TTL_ATTRIBUTE: &str = "expires_at";

#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Arc<Client>,
    table: Arc<str>,
}

fn failed<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    let message = match err.as_service_error() {
        Some(service) => {
            format!("{}: {}", service.code().unwrap_or("error"), service.message().unwrap_or(""))
        }
        None => format!("{err:?}"),
    };
    StoreError::Dynamo(message)
}

fn conditional_check_failed<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}

/// A client for the AWS account, or for the emulator at `endpoint`.
pub async fn client(endpoint: Option<&str>) -> Client {
    Client::new(&kassa_runtime::aws::sdk_config(endpoint))
}

impl DynamoStore {
    pub fn new(client: Client, table: &str) -> Self {
        Self { client: Arc::new(client), table: Arc::from(table) }
    }

    /// The process's store: one client (connection pool, credentials) for every request.
    pub async fn shared(endpoint: Option<&str>, table: &str) -> Self {
        static CLIENT: OnceCell<Arc<Client>> = OnceCell::const_new();
        let client = CLIENT.get_or_init(|| async { Arc::new(client(endpoint).await) }).await.clone();
        Self { client, table: Arc::from(table) }
    }

    /// Creates the table when it is missing (on-demand capacity, TTL on `expires_at`).
    /// `kassa migrate` and the tests call it; in AWS `template.yaml` creates it.
    pub async fn ensure_table(&self) -> Result<(), StoreError> {
        let created = self
            .client
            .create_table()
            .table_name(&*self.table)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(PARTITION_KEY)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(|e| StoreError::Dynamo(e.to_string()))?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(PARTITION_KEY)
                    .key_type(KeyType::Hash)
                    .build()
                    .map_err(|e| StoreError::Dynamo(e.to_string()))?,
            )
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(err) if err.as_service_error().and_then(|e| e.code()) == Some("ResourceInUseException") => {
                return Ok(());
            }
            Err(err) => return Err(failed(err)),
        }
        self.client
            .update_time_to_live()
            .table_name(&*self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(TTL_ATTRIBUTE)
                    .enabled(true)
                    .build()
                    .map_err(|e| StoreError::Dynamo(e.to_string()))?,
            )
            .send()
            .await
            .map_err(failed)?;
        Ok(())
    }

    /// The table's TTL attribute, if TTL is enabled.
    pub async fn ttl_attribute(&self) -> Result<Option<String>, StoreError> {
        let ttl =
            self.client.describe_time_to_live().table_name(&*self.table).send().await.map_err(failed)?;
        Ok(ttl.time_to_live_description().and_then(|d| d.attribute_name()).map(str::to_owned))
    }

    /// The raw `expires_at` attribute of `key` (seconds since the epoch), expired or not.
    pub async fn stored_expiry(&self, key: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.item(key).await?.and_then(|item| number(item.get(TTL_ATTRIBUTE))))
    }

    async fn item(&self, key: &str) -> Result<Option<Item>, StoreError> {
        let found = self
            .client
            .get_item()
            .table_name(&*self.table)
            .key(PARTITION_KEY, AttributeValue::S(key.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(failed)?;
        Ok(found.item)
    }
}

type Item = std::collections::HashMap<String, AttributeValue>;

/// The TTL attribute counts whole seconds: round up, so that a record never ends before its
/// `expires_at` (truncating would end it up to a second early).
fn whole_seconds_after(at: DateTime<Utc>) -> i64 {
    at.timestamp() + i64::from(at.timestamp_subsec_nanos() > 0)
}

fn number(value: Option<&AttributeValue>) -> Option<i64> {
    value.and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok())
}

impl KvStore for DynamoStore {
    async fn get(&self, key: &str) -> Result<Option<Record>, StoreError> {
        let Some(item) = self.item(key).await? else { return Ok(None) };
        let expires_at = number(item.get(TTL_ATTRIBUTE)).and_then(|s| DateTime::<Utc>::from_timestamp(s, 0));
        let version = number(item.get("v")).and_then(|v| u64::try_from(v).ok());
        let doc = item.get("doc").and_then(|d| d.as_s().ok());
        match (version, doc, expires_at) {
            (Some(version), Some(doc), Some(expires_at)) if expires_at > Utc::now() => {
                Ok(Some(Record { version, doc: doc.clone(), expires_at }))
            }
            (Some(_), Some(_), Some(_)) => Ok(None),
            _ => Err(StoreError::Dynamo(format!("item {key} lacks v, doc or expires_at"))),
        }
    }

    async fn put(&self, key: &str, expected: u64, record: &Record) -> Result<bool, StoreError> {
        let now = Utc::now().timestamp();
        let request = self
            .client
            .put_item()
            .table_name(&*self.table)
            .item(PARTITION_KEY, AttributeValue::S(key.to_owned()))
            .item("v", AttributeValue::N(record.version.to_string()))
            .item("doc", AttributeValue::S(record.doc.clone()))
            .item(TTL_ATTRIBUTE, AttributeValue::N(whole_seconds_after(record.expires_at).to_string()))
            .expression_attribute_names("#e", TTL_ATTRIBUTE)
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()));
        // An expired item counts as absent, like a missing one.
        let request = if expected == 0 {
            request.condition_expression("attribute_not_exists(pk) OR #e <= :now")
        } else {
            request
                .condition_expression("v = :expected AND #e > :now")
                .expression_attribute_values(":expected", AttributeValue::N(expected.to_string()))
        };
        match request.send().await {
            Ok(_) => Ok(true),
            Err(err) if conditional_check_failed(&err) => Ok(false),
            Err(err) => Err(failed(err)),
        }
    }

    async fn delete(&self, key: &str, expected: u64) -> Result<bool, StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&*self.table)
            .key(PARTITION_KEY, AttributeValue::S(key.to_owned()))
            .condition_expression("v = :expected")
            .expression_attribute_values(":expected", AttributeValue::N(expected.to_string()))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(true),
            Err(err) if conditional_check_failed(&err) => Ok(false),
            Err(err) => Err(failed(err)),
        }
    }
}
