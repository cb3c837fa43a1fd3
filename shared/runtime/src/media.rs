//! The media bucket (S3; the AWS emulator at `AWS_ENDPOINT_URL` locally): presigned uploads,
//! what an uploaded object is (`HEAD`), and deleting objects. The use cases that combine it
//! with the database — [`issue_upload`], [`attach`] — are here too, so a handler calls one
//! function.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, CorsConfiguration, CorsRule, CreateBucketConfiguration};
use chrono::{DateTime, Utc};
use kassa_domain::DomainError;
use kassa_domain::media::{self, MediaDraft, ProductMedia, StoredObject, UploadRequest};
use kassa_domain::tenant::Tenant;
use serde::Serialize;
use sqlx::PgPool;
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::Config;

#[derive(Debug, thiserror::Error)]
#[error("media bucket: {0}")]
pub struct MediaError(String);

fn failed(what: &str, err: impl std::error::Error) -> MediaError {
    // The SDK's Display says little ("service error"); its Debug names the cause.
    MediaError(format!("{what}: {err:?}"))
}

impl From<MediaError> for DomainError {
    fn from(err: MediaError) -> Self {
        DomainError::Unexpected(err.0)
    }
}

/// The bucket `MEDIA_BUCKET`, through one S3 client per process.
#[derive(Clone, Debug)]
pub struct MediaStore {
    client: Arc<Client>,
    bucket: Arc<str>,
    /// The bucket is the AWS emulator's (`AWS_ENDPOINT_URL` set).
    emulated: bool,
}

/// An S3 client for the account, or for the emulator at `AWS_ENDPOINT_URL` (path-style
/// addressing: the emulator has no per-bucket host names).
async fn client(config: &Config) -> Client {
    let shared = crate::aws::sdk_config(config.aws_endpoint_url.as_deref());
    let s3 = aws_sdk_s3::config::Builder::from(&shared).force_path_style(config.aws_endpoint_url.is_some());
    Client::from_conf(s3.build())
}

impl MediaStore {
    /// The process's store: one client (connections, credentials) for every request.
    pub async fn shared(config: &Config) -> Self {
        static CLIENT: OnceCell<Arc<Client>> = OnceCell::const_new();
        let client = CLIENT.get_or_init(|| async { Arc::new(client(config).await) }).await.clone();
        Self::with_client(client, config)
    }

    /// A store with a client of its own (a one-off command such as the demo seed).
    pub async fn connect(config: &Config) -> Self {
        Self::with_client(Arc::new(client(config).await), config)
    }

    fn with_client(client: Arc<Client>, config: &Config) -> Self {
        Self {
            client,
            bucket: Arc::from(config.media_bucket.as_str()),
            emulated: config.aws_endpoint_url.is_some(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// A presigned `PUT` of exactly this key, content type and length, valid until the
    /// upload's expiry.
    pub async fn presign_put(&self, upload: &media::Upload) -> Result<String, MediaError> {
        let seconds =
            (upload.expires_at - Utc::now()).num_seconds().clamp(1, media::UPLOAD_TTL.num_seconds());
        let presigning = PresigningConfig::expires_in(Duration::from_secs(seconds.unsigned_abs()))
            .map_err(|e| failed("presigning", e))?;
        let request = self
            .client
            .put_object()
            .bucket(self.bucket.as_ref())
            .key(&upload.key)
            .content_type(&upload.content_type)
            .content_length(upload.max_bytes)
            .presigned(presigning)
            .await
            .map_err(|e| failed("presigning", e))?;
        Ok(request.uri().to_owned())
    }

    /// What the bucket holds under `key`, if anything.
    pub async fn head(&self, key: &str) -> Result<Option<StoredObject>, MediaError> {
        match self.client.head_object().bucket(self.bucket.as_ref()).key(key).send().await {
            Ok(object) => Ok(Some(StoredObject {
                content_type: object.content_type().map(str::to_owned),
                size: object.content_length().unwrap_or_default(),
                last_modified: object
                    .last_modified()
                    .and_then(|t| DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos())),
            })),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(err) => Err(failed("head", err)),
        }
    }

    /// Deletes the object (nothing to delete is fine: deleting is idempotent).
    pub async fn delete(&self, key: &str) -> Result<(), MediaError> {
        self.client
            .delete_object()
            .bucket(self.bucket.as_ref())
            .key(key)
            .send()
            .await
            .map(drop)
            .map_err(|e| failed("delete", e))
    }

    /// Stores an object (the demo seed's images; clients upload through presigned URLs).
    pub async fn put(&self, key: &str, content_type: &str, body: Vec<u8>) -> Result<(), MediaError> {
        self.client
            .put_object()
            .bucket(self.bucket.as_ref())
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map(drop)
            .map_err(|e| failed("put", e))
    }

    /// Creates the bucket when it is missing, with CORS for browser uploads from `origins`
    /// (`kassa seed-demo` and the tests; `template.yaml` creates it in AWS). On the emulator,
    /// which has no CloudFront, anyone may read the objects: the bucket URL is
    /// `MEDIA_BASE_URL` there.
    pub async fn ensure_bucket(&self, origins: &[&str]) -> Result<(), MediaError> {
        if self.client.head_bucket().bucket(self.bucket.as_ref()).send().await.is_err() {
            let mut create = self.client.create_bucket().bucket(self.bucket.as_ref());
            // Outside us-east-1 a bucket names its region.
            if let Some(region) = self.client.config().region().map(|r| r.as_ref().to_owned())
                && region != "us-east-1"
            {
                let location = BucketLocationConstraint::from(region.as_str());
                let config = CreateBucketConfiguration::builder().location_constraint(location).build();
                create = create.create_bucket_configuration(config);
            }
            let created = create.send().await;
            if let Err(err) = created {
                let code = err.as_service_error().and_then(aws_sdk_s3::error::ProvideErrorMetadata::code);
                if !matches!(code, Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists")) {
                    return Err(failed("create bucket", err));
                }
            }
        }
        if self.emulated {
            let policy = serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                               "Resource": format!("arn:aws:s3:::{}/*", self.bucket)}],
            });
            self.client
                .put_bucket_policy()
                .bucket(self.bucket.as_ref())
                .policy(policy.to_string())
                .send()
                .await
                .map_err(|e| failed("bucket policy", e))?;
        }
        if origins.is_empty() {
            return Ok(());
        }
        let rule = CorsRule::builder()
            .set_allowed_origins(Some(origins.iter().map(|o| (*o).to_owned()).collect()))
            .allowed_methods("PUT")
            .allowed_headers("*")
            .max_age_seconds(3000)
            .build()
            .map_err(|e| failed("cors rule", e))?;
        let cors = CorsConfiguration::builder().cors_rules(rule).build().map_err(|e| failed("cors", e))?;
        self.client
            .put_bucket_cors()
            .bucket(self.bucket.as_ref())
            .cors_configuration(cors)
            .send()
            .await
            .map(drop)
            .map_err(|e| failed("cors", e))
    }
}

/// What `POST /management/uploads` answers: `PUT` the file to `upload_url` with exactly the
/// `headers` given, before `expires_at`, then attach `key` to a product.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UploadTicket {
    pub upload_url: String,
    pub key: String,
    pub expires_at: DateTime<Utc>,
    /// The headers the upload must send (`Content-Type`, `Content-Length`).
    #[schema(value_type = Object)]
    pub headers: serde_json::Map<String, serde_json::Value>,
}

/// Records an upload for the shop and presigns its `PUT`.
pub async fn issue_upload(
    pool: &PgPool,
    store: &MediaStore,
    tenant: &Tenant,
    request: &UploadRequest,
) -> Result<UploadTicket, DomainError> {
    let upload = media::issue_upload(pool, tenant, request).await?;
    let upload_url = store.presign_put(&upload).await?;
    let mut headers = serde_json::Map::new();
    headers.insert("Content-Type".into(), upload.content_type.clone().into());
    headers.insert("Content-Length".into(), upload.max_bytes.to_string().into());
    Ok(UploadTicket { upload_url, key: upload.key, expires_at: upload.expires_at, headers })
}

/// Attaches an image to a product: an uploaded key is checked against the bucket.
pub async fn attach(
    pool: &PgPool,
    store: &MediaStore,
    tenant: &Tenant,
    product: Uuid,
    draft: &MediaDraft,
) -> Result<ProductMedia, DomainError> {
    media::attach(pool, tenant, product, draft, |key| async move { Ok(store.head(&key).await?) }).await
}
