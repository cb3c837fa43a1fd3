//! Product media: images of a product (optionally of one of its variants), ordered, with
//! translatable alt text. An image is either an object uploaded to the media bucket through
//! a presigned URL Kassa handed out ([`issue_upload`]), attached by its key, or an external
//! `https://` URL.
//!
//! The bucket is not trusted to have enforced the presigned URL's terms: attaching a key
//! checks that Kassa issued it to this shop (its prefix `tenants/{tenant_id}/` and a row in
//! `media_uploads`), that the object exists, has the issued content type, is no larger than
//! the issued size, and was stored before the URL expired. Removing an image (or deleting
//! its product) appends `product_media.deleted`; the worker deletes the object.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::ErrorCode;
use crate::catalog::{Translations, check_translations};
use crate::db::{TenantTx, begin_tenant_tx, product_child, stale_or_missing};
use crate::error::{Constraint, DomainError, Violations};
use crate::outbox::{self, Event};
use crate::tenant::Tenant;

/// The content types an upload may have, with the file extension its key gets.
pub const CONTENT_TYPES: [(&str, &str); 4] =
    [("image/jpeg", "jpg"), ("image/png", "png"), ("image/webp", "webp"), ("image/avif", "avif")];
/// The largest upload: 10 MiB.
pub const MAX_BYTES: i64 = 10 * 1024 * 1024;
/// How long a presigned upload URL works.
pub const UPLOAD_TTL: Duration = Duration::minutes(15);
/// The most images a product has.
pub const MAX_MEDIA: usize = 100;
/// The longest external URL.
pub const MAX_URL: usize = 2_000;

/// The prefix of every object key of a shop.
pub fn prefix(tenant: &Tenant) -> String {
    format!("tenants/{}/", tenant.id)
}

/// What a client wants to upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    /// `image/jpeg`, `image/png`, `image/webp` or `image/avif`: the upload must send exactly
    /// this `Content-Type`.
    #[schema(schema_with = crate::schemas::image_content_type)]
    pub content_type: String,
    /// The file's size in bytes (1 to 10 MiB): the upload must send exactly this
    /// `Content-Length`.
    #[schema(minimum = 1, maximum = 10_485_760)]
    pub size: i64,
}

/// An upload Kassa issued: the object may be stored under `key` until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Upload {
    pub key: String,
    pub content_type: String,
    pub max_bytes: i64,
    pub expires_at: DateTime<Utc>,
}

/// Checks an upload request and records the upload it allows (a fresh key under the shop's
/// prefix, valid for [`UPLOAD_TTL`]).
pub async fn issue_upload(
    pool: &PgPool,
    tenant: &Tenant,
    request: &UploadRequest,
) -> Result<Upload, DomainError> {
    let mut v = Violations::default();
    let extension = CONTENT_TYPES.iter().find(|(t, _)| *t == request.content_type).map(|(_, e)| *e);
    if extension.is_none() {
        v.push(
            "/content_type",
            "unsupported_content_type",
            "one of image/jpeg, image/png, image/webp, image/avif",
        );
    }
    if !(1..=MAX_BYTES).contains(&request.size) {
        v.push("/size", "invalid_size", format!("1 to {MAX_BYTES} bytes (10 MiB)"));
    }
    let Some(extension) = extension.filter(|_| v.is_empty()) else {
        return Err(DomainError::Validation(v));
    };
    let key = format!("{}uploads/{}.{extension}", prefix(tenant), Uuid::now_v7());
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let upload = sqlx::query_as(
        "insert into media_uploads (tenant_id, key, content_type, max_bytes, expires_at)
         values ($1, $2, $3, $4, $5) returning key, content_type, max_bytes, expires_at",
    )
    .bind(tenant.id)
    .bind(&key)
    .bind(&request.content_type)
    .bind(request.size)
    .bind(Utc::now() + UPLOAD_TTL)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(upload)
}

/// An image of a product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ProductMedia {
    pub id: Uuid,
    pub product_id: Uuid,
    /// The variant the image shows, if only one.
    pub variant_id: Option<Uuid>,
    pub position: i32,
    /// The uploaded object's key in the media bucket (or null for an external image).
    pub key: Option<String>,
    /// The external `https://` URL (or null for an upload).
    pub url: Option<String>,
    pub content_type: Option<String>,
    pub size_bytes: Option<i64>,
    #[sqlx(json)]
    pub alt: Translations,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, product_id, variant_id, position, key, url, content_type, size_bytes, alt, version, \
                       created_at, updated_at";

const CONSTRAINTS: &[Constraint] = &[
    Constraint::Unique(
        "product_media_key_key",
        ErrorCode::InUse,
        "this upload is already attached to a product",
    ),
    Constraint::Reference("product_media_variant_fkey", "/variant_id", "no variant with this id exists"),
];

/// An image to attach: exactly one of `key` (an upload of this shop) and `url`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaDraft {
    /// The key `POST /management/uploads` handed out, once the file is uploaded.
    #[serde(default)]
    #[schema(
        max_length = 300,
        pattern = r"^tenants/[0-9a-f-]{36}/uploads/[0-9a-f-]{36}\.(jpg|png|webp|avif)$"
    )]
    pub key: Option<String>,
    /// An external image: `https://`, at most 2,000 characters, no spaces.
    #[serde(default)]
    #[schema(max_length = 2000, pattern = r"^https://[!-~]+$")]
    pub url: Option<String>,
    /// A variant of the product the image shows.
    #[serde(default)]
    pub variant_id: Option<Uuid>,
    /// Locale → alt text (at most 500 characters).
    #[serde(default)]
    #[schema(schema_with = crate::schemas::alt)]
    pub alt: Translations,
}

/// What the bucket says of an object (`HEAD`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub content_type: Option<String>,
    pub size: i64,
    pub last_modified: Option<DateTime<Utc>>,
}

fn check_url(v: &mut Violations, url: &str) {
    let ok = url.len() <= MAX_URL
        && url.strip_prefix("https://").is_some_and(|rest| !rest.is_empty())
        && url.bytes().all(|b| b.is_ascii_graphic());
    if !ok {
        v.push("/url", "invalid_url", "an https:// URL of at most 2,000 visible ASCII characters");
    }
}

/// Attaches an image to a product, last in order. For a key, `head` asks the bucket about
/// the object (outside any transaction).
pub async fn attach<F, Fut>(
    pool: &PgPool,
    tenant: &Tenant,
    product: Uuid,
    draft: &MediaDraft,
    head: F,
) -> Result<ProductMedia, DomainError>
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = Result<Option<StoredObject>, DomainError>> + Send,
{
    let mut v = Violations::default();
    check_translations(&mut v, "/alt", &draft.alt, tenant, false, 500);
    match (&draft.key, &draft.url) {
        (Some(_), Some(_)) | (None, None) => v.push("", "key_or_url", "give either key or url"),
        (None, Some(url)) => check_url(&mut v, url),
        (Some(key), None) if !key.starts_with(&prefix(tenant)) => {
            v.push("/key", "foreign_key", "the key is not one of this shop's uploads");
        }
        (Some(_), None) => {}
    }
    if !v.is_empty() {
        return Err(DomainError::Validation(v));
    }
    // The product must exist before the bucket is asked anything.
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    product_exists(&mut tx, tenant, product).await?;
    let upload: Option<Upload> = match &draft.key {
        Some(key) => sqlx::query_as(
            "select key, content_type, max_bytes, expires_at from media_uploads where tenant_id = $1 and key = $2",
        )
        .bind(tenant.id)
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?
        .or_else(|| {
            v.push("/key", "unknown_upload", "Kassa issued no upload with this key to this shop");
            None
        }),
        None => None,
    };
    tx.commit().await?;
    if !v.is_empty() {
        return Err(DomainError::Validation(v));
    }
    let object = match &upload {
        Some(upload) => {
            let Some(object) = head(upload.key.clone()).await? else {
                v.push("/key", "not_uploaded", "nothing was uploaded under this key");
                return Err(DomainError::Validation(v));
            };
            check_object(&mut v, upload, &object);
            if !v.is_empty() {
                return Err(DomainError::Validation(v));
            }
            Some(object)
        }
        None => None,
    };
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let count: i64 =
        sqlx::query_scalar("select count(*) from product_media where tenant_id = $1 and product_id = $2")
            .bind(tenant.id)
            .bind(product)
            .fetch_one(&mut *tx)
            .await?;
    if count >= MAX_MEDIA as i64 {
        v.push("", "too_many", format!("a product has at most {MAX_MEDIA} images"));
        return Err(DomainError::Validation(v));
    }
    check_variant(&mut tx, tenant, product, draft.variant_id).await?;
    let media: ProductMedia = sqlx::query_as(&format!(
        "insert into product_media (id, tenant_id, product_id, variant_id, position, key, url, content_type,
                                    size_bytes, alt)
         values ($1, $2, $3, $4,
                 (select coalesce(max(position) + 1, 0) from product_media where tenant_id = $2 and product_id = $3),
                 $5, $6, $7, $8, $9)
         returning {COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(tenant.id)
    .bind(product)
    .bind(draft.variant_id)
    .bind(&draft.key)
    .bind(&draft.url)
    .bind(object.as_ref().and_then(|o| o.content_type.clone()))
    .bind(object.as_ref().map(|o| o.size))
    .bind(sqlx::types::Json(&draft.alt))
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| DomainError::from_constraint(e, CONSTRAINTS))?;
    outbox::append(&mut tx, tenant.id, event("product_media.created", &media)).await?;
    tx.commit().await?;
    Ok(media)
}

/// The object must be what the upload allowed: its content type, at most its size, stored
/// before the URL expired.
fn check_object(v: &mut Violations, upload: &Upload, object: &StoredObject) {
    let content_type = object.content_type.as_deref().unwrap_or_default();
    let allowed = CONTENT_TYPES.iter().any(|(t, _)| *t == content_type);
    if !allowed || content_type != upload.content_type {
        v.push(
            "/key",
            "wrong_content_type",
            format!("the object is '{content_type}', the upload allowed '{}'", upload.content_type),
        );
    }
    if object.size > upload.max_bytes || object.size > MAX_BYTES || object.size < 1 {
        v.push(
            "/key",
            "too_large",
            format!("the object has {} bytes, the upload allowed 1 to {}", object.size, upload.max_bytes),
        );
    }
    // S3 keeps whole seconds: an object stored in the URL's last second still counts.
    if object.last_modified.is_some_and(|at| at > upload.expires_at + Duration::seconds(1)) {
        v.push("/key", "upload_expired", "the object was stored after the upload URL expired");
    }
}

async fn product_exists(tx: &mut TenantTx, tenant: &Tenant, product: Uuid) -> Result<(), DomainError> {
    let found: Option<i32> = sqlx::query_scalar("select 1 from products where tenant_id = $1 and id = $2")
        .bind(tenant.id)
        .bind(product)
        .fetch_optional(&mut **tx)
        .await?;
    found.map(drop).ok_or(DomainError::NotFound { resource: "product" })
}

async fn check_variant(
    tx: &mut TenantTx,
    tenant: &Tenant,
    product: Uuid,
    variant: Option<Uuid>,
) -> Result<(), DomainError> {
    let Some(variant) = variant else { return Ok(()) };
    let found: Option<i32> = sqlx::query_scalar(
        "select 1 from product_variants where tenant_id = $1 and product_id = $2 and id = $3",
    )
    .bind(tenant.id)
    .bind(product)
    .bind(variant)
    .fetch_optional(&mut **tx)
    .await?;
    match found {
        Some(_) => Ok(()),
        None => {
            let mut v = Violations::default();
            v.push("/variant_id", "unknown_reference", "the product has no variant with this id");
            Err(DomainError::Validation(v))
        }
    }
}

fn event<'a>(event_type: &'a str, media: &'a ProductMedia) -> Event<'a, ProductMedia> {
    Event { event_type, aggregate_type: "product_media", aggregate_id: media.id, data: media }
}

/// A product's images, in order.
pub async fn list(pool: &PgPool, tenant: &Tenant, product: Uuid) -> Result<Vec<ProductMedia>, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    product_exists(&mut tx, tenant, product).await?;
    let rows = images_of(&mut tx, tenant, product).await?;
    tx.commit().await?;
    Ok(rows)
}

async fn images_of(
    tx: &mut TenantTx,
    tenant: &Tenant,
    product: Uuid,
) -> Result<Vec<ProductMedia>, DomainError> {
    let rows = sqlx::query_as(&format!(
        "select {COLUMNS} from product_media where tenant_id = $1 and product_id = $2 order by position, id"
    ))
    .bind(tenant.id)
    .bind(product)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows)
}

pub async fn get(
    pool: &PgPool,
    tenant: &Tenant,
    product: Uuid,
    id: Uuid,
) -> Result<ProductMedia, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let sql =
        format!("select {COLUMNS} from product_media where tenant_id = $1 and product_id = $2 and id = $3");
    let row = product_child(&mut tx, &sql, (product, id), "image").await?;
    tx.commit().await?;
    Ok(row)
}

/// What an image's `PATCH` changes: its alt text and variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaUpdate {
    #[serde(default)]
    #[schema(schema_with = crate::schemas::alt)]
    pub alt: Translations,
    #[serde(default)]
    pub variant_id: Option<Uuid>,
}

impl From<&ProductMedia> for MediaUpdate {
    fn from(m: &ProductMedia) -> Self {
        MediaUpdate { alt: m.alt.clone(), variant_id: m.variant_id }
    }
}

/// Replaces an image's alt text and variant, if it is still at `expected_version`.
pub async fn update(
    pool: &PgPool,
    tenant: &Tenant,
    product: Uuid,
    id: Uuid,
    expected_version: i64,
    draft: &MediaUpdate,
) -> Result<ProductMedia, DomainError> {
    let mut v = Violations::default();
    check_translations(&mut v, "/alt", &draft.alt, tenant, false, 500);
    if !v.is_empty() {
        return Err(DomainError::Validation(v));
    }
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    check_variant(&mut tx, tenant, product, draft.variant_id).await?;
    let row: Option<ProductMedia> = sqlx::query_as(&format!(
        "update product_media set alt = $4, variant_id = $5, version = version + 1
         where tenant_id = $1 and product_id = $2 and id = $3 and version = $6 returning {COLUMNS}"
    ))
    .bind(tenant.id)
    .bind(product)
    .bind(id)
    .bind(sqlx::types::Json(&draft.alt))
    .bind(draft.variant_id)
    .bind(expected_version)
    .fetch_optional(&mut *tx)
    .await
    .map_err(|e| DomainError::from_constraint(e, CONSTRAINTS))?;
    let Some(row) = row else {
        return Err(stale_or_missing(&mut tx, "product_media", "image", id).await);
    };
    outbox::append(&mut tx, tenant.id, event("product_media.updated", &row)).await?;
    tx.commit().await?;
    Ok(row)
}

/// A product's images in their new order: every image of the product, once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaOrder {
    #[schema(max_items = 100)]
    pub media_ids: Vec<Uuid>,
}

/// Puts a product's images in the order given (each moved one appends
/// `product_media.updated`).
pub async fn reorder(
    pool: &PgPool,
    tenant: &Tenant,
    product: Uuid,
    order: &MediaOrder,
) -> Result<Vec<ProductMedia>, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    product_exists(&mut tx, tenant, product).await?;
    let current: Vec<Uuid> = sqlx::query_scalar(
        "select id from product_media where tenant_id = $1 and product_id = $2 order by position, id for update",
    )
    .bind(tenant.id)
    .bind(product)
    .fetch_all(&mut *tx)
    .await?;
    let mut v = Violations::default();
    for (i, id) in order.media_ids.iter().enumerate() {
        if !current.contains(id) {
            v.push(format!("/media_ids/{i}"), "unknown_reference", "the product has no image with this id");
        } else if order.media_ids[..i].contains(id) {
            v.push(format!("/media_ids/{i}"), "duplicate", "listed twice");
        }
    }
    if v.is_empty() && order.media_ids.len() != current.len() {
        v.push("/media_ids", "incomplete", "list every image of the product once");
    }
    if !v.is_empty() {
        return Err(DomainError::Validation(v));
    }
    let moved: Vec<ProductMedia> = sqlx::query_as(&format!(
        "update product_media m set position = o.n::integer - 1, version = version + 1
         from unnest($3::uuid[]) with ordinality as o(id, n)
         where m.tenant_id = $1 and m.product_id = $2 and m.id = o.id and m.position <> o.n::integer - 1
         returning {}",
        COLUMNS.split(", ").map(|c| format!("m.{c}")).collect::<Vec<_>>().join(", ")
    ))
    .bind(tenant.id)
    .bind(product)
    .bind(&order.media_ids)
    .fetch_all(&mut *tx)
    .await?;
    for media in &moved {
        outbox::append(&mut tx, tenant.id, event("product_media.updated", media)).await?;
    }
    tx.commit().await?;
    list(pool, tenant, product).await
}

/// Removes an image; the worker deletes its object on `product_media.deleted`.
pub async fn delete(pool: &PgPool, tenant: &Tenant, product: Uuid, id: Uuid) -> Result<(), DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let sql = format!(
        "delete from product_media where tenant_id = $1 and product_id = $2 and id = $3 returning {COLUMNS}"
    );
    let row: ProductMedia = product_child(&mut tx, &sql, (product, id), "image").await?;
    outbox::append(&mut tx, tenant.id, event("product_media.deleted", &row)).await?;
    tx.commit().await?;
    Ok(())
}

/// Appends `product_media.deleted` for each image of a product about to be deleted (its rows
/// go with it by cascade), so the worker deletes the objects.
pub(crate) async fn release_all(
    tx: &mut TenantTx,
    tenant: &Tenant,
    product: Uuid,
) -> Result<(), DomainError> {
    for row in &images_of(tx, tenant, product).await? {
        outbox::append(tx, tenant.id, event("product_media.deleted", row)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload() -> Upload {
        Upload {
            key: "tenants/x/uploads/y.png".into(),
            content_type: "image/png".into(),
            max_bytes: 1_000,
            expires_at: Utc::now(),
        }
    }

    fn codes(object: StoredObject) -> Vec<&'static str> {
        let mut v = Violations::default();
        check_object(&mut v, &upload(), &object);
        v.as_slice().iter().map(|x| x.code).collect()
    }

    #[test]
    fn an_object_must_be_what_its_upload_allowed() {
        let ok = StoredObject {
            content_type: Some("image/png".into()),
            size: 1_000,
            last_modified: Some(Utc::now()),
        };
        assert!(codes(ok.clone()).is_empty());
        assert_eq!(
            codes(StoredObject { content_type: Some("image/jpeg".into()), ..ok.clone() }),
            ["wrong_content_type"]
        );
        assert_eq!(
            codes(StoredObject { content_type: Some("text/html".into()), ..ok.clone() }),
            ["wrong_content_type"]
        );
        assert_eq!(codes(StoredObject { size: 1_001, ..ok.clone() }), ["too_large"]);
        let late = Some(Utc::now() + Duration::minutes(1));
        assert_eq!(codes(StoredObject { last_modified: late, ..ok }), ["upload_expired"]);
    }
}
