//! Pages: a handle, translatable title and SEO texts, a **draft** document (always valid
//! when stored: [`document::check`]) and immutable published **revisions**. Publishing turns
//! the draft into revision n + 1 and points the page at it; restoring copies an old
//! revision into the draft (and, on request, publishes it as a new revision — an old
//! revision is never changed or re-pointed). A page can be scheduled (`publish_at`): the
//! workflow sweep publishes the draft as it is then ([`publish_due`]).
//!
//! Events: `page.created|updated|deleted` (the page, without its draft document, as every
//! generic resource), `page.published`. Section and block types: [`schema`] (built-ins) and
//! [`blocks`] (a shop's own).

pub mod blocks;
pub mod document;
pub mod render;
pub mod schema;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::ErrorCode;
use crate::catalog::{Translations, check_handle, check_translations};
use crate::db::{TenantTx, begin_tenant_tx};
use crate::error::{Constraint, DomainError, Violations};
use crate::resource::{self, Editable, Resource, WriteQuery};
use crate::tenant::{Tenant, TenantId};

pub use schema::TypeSpec;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Page {
    pub id: Uuid,
    #[schema(example = "about")]
    pub handle: String,
    #[sqlx(json)]
    #[schema(value_type = Object, example = json!({"en": "About us"}))]
    pub title: Translations,
    #[sqlx(json)]
    #[schema(value_type = Object)]
    pub seo_title: Translations,
    #[sqlx(json)]
    #[schema(value_type = Object)]
    pub seo_description: Translations,
    /// The revision the storefront shows; `null` until published.
    pub published_revision: Option<i32>,
    pub published_at: Option<DateTime<Utc>>,
    /// When the draft will be published by itself, if scheduled.
    pub publish_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A page's own fields (its document is saved with `PUT /management/pages/{id}/draft`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageDraft {
    #[schema(schema_with = crate::schemas::handle)]
    pub handle: String,
    /// Locale → title; the shop's default locale is required.
    #[schema(value_type = Object, example = json!({"en": "About us"}))]
    pub title: Translations,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub seo_title: Translations,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub seo_description: Translations,
}

impl From<&Page> for PageDraft {
    fn from(p: &Page) -> Self {
        PageDraft {
            handle: p.handle.clone(),
            title: p.title.clone(),
            seo_title: p.seo_title.clone(),
            seo_description: p.seo_description.clone(),
        }
    }
}

impl Resource for Page {
    const NAME: &'static str = "page";
    const PLURAL: &'static str = "pages";
    const AGGREGATE: &'static str = "page";
    const TABLE: &'static str = "pages";
    const COLUMNS: &'static str = "id, handle, title, seo_title, seo_description, published_revision, \
                                   published_at, publish_at, version, created_at, updated_at";
    const CONSTRAINTS: &'static [Constraint] = &[Constraint::Unique(
        "pages_handle_key",
        ErrorCode::HandleTaken,
        "another page of this shop has this handle",
    )];

    fn id(&self) -> Uuid {
        self.id
    }

    fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
}

/// Every violation of the draft's fields for `tenant`.
fn check_page(draft: &PageDraft, tenant: &Tenant) -> Result<(), DomainError> {
    let mut v = Violations::default();
    v.check("/handle", check_handle(&draft.handle, 100));
    check_translations(&mut v, "/title", &draft.title, tenant, true, 200);
    check_translations(&mut v, "/seo_title", &draft.seo_title, tenant, false, 200);
    check_translations(&mut v, "/seo_description", &draft.seo_description, tenant, false, 500);
    if v.is_empty() { Ok(()) } else { Err(DomainError::Validation(v)) }
}

impl Editable for Page {
    type Draft = PageDraft;

    const WRITES: &'static [&'static str] = &["handle", "title", "seo_title", "seo_description"];
    /// Pages are what the storefront shows.
    const SHOWN_IN_STOREFRONT: bool = true;

    fn bind_draft<'q>(
        draft: &'q PageDraft,
        query: WriteQuery<'q, Self>,
    ) -> Result<WriteQuery<'q, Self>, DomainError> {
        Ok(query
            .bind(&draft.handle)
            .bind(sqlx::types::Json(&draft.title))
            .bind(sqlx::types::Json(&draft.seo_title))
            .bind(sqlx::types::Json(&draft.seo_description)))
    }

    async fn create(pool: &PgPool, tenant: &Tenant, draft: &PageDraft) -> Result<Self, DomainError> {
        Self::check_in(draft, tenant)?;
        let sql = format!(
            "insert into pages (id, tenant_id, handle, title, seo_title, seo_description, draft)
             values ($1, $2, $3, $4, $5, $6, '{}') returning {}",
            document::empty(),
            Page::COLUMNS
        );
        let query = Self::bind_draft(draft, sqlx::query_as(&sql).bind(Uuid::now_v7()).bind(tenant.id))?;
        resource::insert(pool, tenant, query).await
    }

    fn check_in(draft: &PageDraft, tenant: &Tenant) -> Result<(), DomainError> {
        check_page(draft, tenant)
    }

    fn version(&self) -> i64 {
        self.version
    }
}

/// The section and block types of `tenant`: the built-ins, then its own.
pub async fn types(pool: &PgPool, tenant: &Tenant) -> Result<Vec<TypeSpec>, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let types = types_in(&mut tx, tenant.id).await?;
    tx.commit().await?;
    Ok(types)
}

pub(crate) async fn types_in(tx: &mut TenantTx, tenant: TenantId) -> Result<Vec<TypeSpec>, DomainError> {
    Ok(with_builtins(blocks::custom_in(tx, tenant).await?))
}

/// Every type of a shop: the built-ins, then `custom`, the shop's own.
pub(crate) fn with_builtins(custom: Vec<blocks::CustomBlockType>) -> Vec<TypeSpec> {
    let mut types = schema::builtins();
    types.extend(custom.into_iter().map(|b| b.spec()));
    types
}

/// Page `id`'s draft document, locked for the transaction.
async fn locked(tx: &mut TenantTx, tenant: TenantId, id: Uuid) -> Result<Value, DomainError> {
    sqlx::query_scalar("select draft from pages where tenant_id = $1 and id = $2 for update")
        .bind(tenant)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(DomainError::NotFound { resource: "page" })
}

/// A page's draft and the page's version (its ETag).
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub document: Value,
    pub version: i64,
}

/// Page `id`'s draft document.
pub async fn draft(pool: &PgPool, tenant: &Tenant, id: Uuid) -> Result<Draft, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let row: Option<(Value, i64)> =
        sqlx::query_as("select draft, version from pages where tenant_id = $1 and id = $2")
            .bind(tenant.id)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    tx.commit().await?;
    let (document, version) = row.ok_or(DomainError::NotFound { resource: "page" })?;
    Ok(Draft { document, version })
}

/// Saves `document` as page `id`'s draft if the page is at `expected_version` (412 when it
/// moved on); every violation is a 422 with a pointer into the document, and nothing changes.
/// Returns the draft as stored (rich text made safe).
pub async fn save_draft(
    pool: &PgPool,
    tenant: &Tenant,
    id: Uuid,
    expected_version: i64,
    document: &Value,
) -> Result<Draft, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let types = types_in(&mut tx, tenant.id).await?;
    let safe = document::check(tenant, &types, document)?;
    let page: Option<Page> = sqlx::query_as(&format!(
        "update pages set draft = $4, version = version + 1
         where tenant_id = $1 and id = $2 and version = $3 returning {}",
        Page::COLUMNS
    ))
    .bind(tenant.id)
    .bind(id)
    .bind(expected_version)
    .bind(&safe)
    .fetch_optional(&mut *tx)
    .await?;
    let page = resource::updated(tx, tenant, id, page).await?;
    Ok(Draft { document: safe, version: page.version })
}

/// Publishes page `id`'s draft as a new revision (checked again against today's types) and
/// points the page at it, in `tx`; appends `page.published`.
async fn publish_in(
    tx: &mut TenantTx,
    tenant: &Tenant,
    id: Uuid,
    restored_from: Option<i32>,
) -> Result<Page, DomainError> {
    let draft = locked(tx, tenant.id, id).await?;
    let types = types_in(tx, tenant.id).await?;
    let document = document::check(tenant, &types, &draft)?;
    let number: i32 = sqlx::query_scalar(
        "insert into page_revisions (tenant_id, page_id, number, document, restored_from)
         select $1, $2, coalesce(max(number), 0) + 1, $3, $4 from page_revisions where tenant_id = $1 and page_id = $2
         returning number",
    )
    .bind(tenant.id)
    .bind(id)
    .bind(&document)
    .bind(restored_from)
    .fetch_one(&mut **tx)
    .await?;
    let page: Page = sqlx::query_as(&format!(
        "update pages set published_revision = $3, published_at = now(), publish_at = null, version = version + 1
         where tenant_id = $1 and id = $2 returning {}",
        Page::COLUMNS
    ))
    .bind(tenant.id)
    .bind(id)
    .bind(number)
    .fetch_one(&mut **tx)
    .await?;
    resource::recorded(tx, tenant, "published", &page).await?;
    Ok(page)
}

/// Publishes page `id`'s draft now as a new revision.
pub async fn publish(pool: &PgPool, tenant: &Tenant, id: Uuid) -> Result<Page, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let page = publish_in(&mut tx, tenant, id, None).await?;
    tx.commit().await?;
    Ok(page)
}

/// Schedules page `id`'s draft to be published at `at` (`None`: unschedules), checking the
/// draft now so a schedule never waits to fail.
pub async fn schedule(
    pool: &PgPool,
    tenant: &Tenant,
    id: Uuid,
    at: Option<DateTime<Utc>>,
) -> Result<Page, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let draft = locked(&mut tx, tenant.id, id).await?;
    if at.is_some() {
        let types = types_in(&mut tx, tenant.id).await?;
        document::check(tenant, &types, &draft)?;
    }
    let page: Option<Page> = sqlx::query_as(&format!(
        "update pages set publish_at = $3, version = version + 1 where tenant_id = $1 and id = $2 returning {}",
        Page::COLUMNS
    ))
    .bind(tenant.id)
    .bind(id)
    .bind(at)
    .fetch_optional(&mut *tx)
    .await?;
    resource::updated(tx, tenant, id, page).await
}

/// A published revision.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Revision {
    pub number: i32,
    #[schema(value_type = Object)]
    pub document: Value,
    pub restored_from: Option<i32>,
    pub created_at: DateTime<Utc>,
}

/// A revision in a list (without its document).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct RevisionSummary {
    pub number: i32,
    pub restored_from: Option<i32>,
    pub created_at: DateTime<Utc>,
    /// Whether the storefront shows this one.
    pub published: bool,
}

/// Page `id`'s revisions, newest first.
pub async fn revisions(
    pool: &PgPool,
    tenant: &Tenant,
    id: Uuid,
) -> Result<Vec<RevisionSummary>, DomainError> {
    let page: Page = resource::get(pool, tenant, id).await?;
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let list = sqlx::query_as(
        "select number, restored_from, created_at, number = $3 as published from page_revisions
         where tenant_id = $1 and page_id = $2 order by number desc",
    )
    .bind(tenant.id)
    .bind(id)
    .bind(page.published_revision)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(list)
}

/// Revision `number` of page `id`.
pub async fn revision(
    pool: &PgPool,
    tenant: &Tenant,
    id: Uuid,
    number: i32,
) -> Result<Revision, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let revision = revision_in(&mut tx, tenant.id, id, number).await?;
    tx.commit().await?;
    Ok(revision)
}

async fn revision_in(
    tx: &mut TenantTx,
    tenant: TenantId,
    id: Uuid,
    number: i32,
) -> Result<Revision, DomainError> {
    sqlx::query_as(
        "select number, document, restored_from, created_at from page_revisions
         where tenant_id = $1 and page_id = $2 and number = $3",
    )
    .bind(tenant)
    .bind(id)
    .bind(number)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(DomainError::NotFound { resource: "revision" })
}

/// Copies revision `number` of page `id` into its draft (checked against today's types: a
/// type changed since makes it a 422) and, with `publish`, publishes it as a new revision
/// that records where it came from. Old revisions stay as they are.
pub async fn restore(
    pool: &PgPool,
    tenant: &Tenant,
    id: Uuid,
    number: i32,
    publish: bool,
) -> Result<Page, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    locked(&mut tx, tenant.id, id).await?;
    let revision = revision_in(&mut tx, tenant.id, id, number).await?;
    let types = types_in(&mut tx, tenant.id).await?;
    let document = document::check(tenant, &types, &revision.document)?;
    let page: Page = sqlx::query_as(&format!(
        "update pages set draft = $3, version = version + 1 where tenant_id = $1 and id = $2 returning {}",
        Page::COLUMNS
    ))
    .bind(tenant.id)
    .bind(id)
    .bind(&document)
    .fetch_one(&mut *tx)
    .await?;
    resource::recorded(&mut tx, tenant, "updated", &page).await?;
    let page = if publish { publish_in(&mut tx, tenant, id, Some(number)).await? } else { page };
    tx.commit().await?;
    Ok(page)
}

/// Pages due to be published, across shops (the sweeper's role reads only their ids).
async fn due(pool: &PgPool, limit: i64) -> Result<Vec<(TenantId, Uuid)>, DomainError> {
    let mut tx = crate::db::begin_relay_tx(pool).await?;
    let due = sqlx::query_as(
        "select tenant_id, id from pages where publish_at <= now() order by publish_at limit $1",
    )
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(due)
}

/// The sweeper's pass: publishes up to `limit` pages whose `publish_at` has come, and
/// returns the shops whose storefront changed. A page whose draft no longer validates (a
/// block type changed after it was scheduled) is unscheduled and logged, not retried forever.
pub async fn publish_due(pool: &PgPool, limit: i64) -> Result<Vec<TenantId>, DomainError> {
    let mut changed = Vec::new();
    for (tenant_id, id) in due(pool, limit).await? {
        let Some(tenant) = crate::tenant::resolve(pool, &crate::tenant::TenantKey::Id(tenant_id)).await?
        else {
            continue;
        };
        let mut tx = begin_tenant_tx(pool, tenant.id).await?;
        let still_due: Option<bool> = sqlx::query_scalar(
            "select publish_at <= now() from pages where tenant_id = $1 and id = $2 for update",
        )
        .bind(tenant.id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .flatten();
        if still_due != Some(true) {
            continue;
        }
        match publish_in(&mut tx, &tenant, id, None).await {
            Ok(_) => {
                tx.commit().await?;
                changed.push(tenant.id);
            }
            Err(DomainError::Validation(v)) => {
                drop(tx);
                tracing::warn!(page = %id, problems = ?v, "a scheduled page no longer validates; unscheduled");
                schedule(pool, &tenant, id, None).await?;
            }
            Err(err) => return Err(err),
        }
    }
    Ok(changed)
}
