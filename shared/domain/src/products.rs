//! Products: create, read, list (keyset pages with sorts and filters), update with
//! optimistic concurrency, delete (archive once it may have been ordered). Every write
//! appends its event to the outbox in the same transaction.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::ErrorCode;
use crate::catalog::{B2bSettings, Translations, check_translations};
use crate::db::{TenantTx, begin_tenant_tx, stale_or_missing};
use crate::error::{Constraint, DomainError, Violations, invalid};
use crate::outbox::{self, Event};
use crate::pagination::{Cursor, KeyKind, Page, time_key};
use crate::resource::WriteQuery;
use crate::tenant::Tenant;
use crate::types::Handle;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ProductStatus {
    Draft,
    Active,
    Archived,
}

impl ProductStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            ProductStatus::Draft => "draft",
            ProductStatus::Active => "active",
            ProductStatus::Archived => "archived",
        }
    }
}

/// A stored product.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Product {
    pub id: Uuid,
    pub handle: String,
    #[sqlx(json)]
    pub title: Translations,
    #[sqlx(json)]
    pub description: Translations,
    pub status: ProductStatus,
    #[sqlx(json)]
    pub b2b_settings: B2bSettings,
    pub subscription_plan_id: Option<Uuid>,
    pub tax_class: String,
    /// Short labels (merchandising, automatic collections), in the order given.
    pub tags: Vec<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn draft_status() -> ProductStatus {
    ProductStatus::Draft
}

fn standard_tax_class() -> String {
    "standard".to_owned()
}

/// A product as a client writes it: every writable field, nothing else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductDraft {
    /// URL slug, unique per shop: lowercase letters, digits and hyphens, ≤ 100.
    #[schema(schema_with = crate::schemas::handle)]
    pub handle: String,
    /// Locale → title; the shop's default locale is required.
    #[schema(schema_with = crate::schemas::title)]
    pub title: Translations,
    /// Locale → description.
    #[serde(default)]
    #[schema(schema_with = crate::schemas::description)]
    pub description: Translations,
    #[serde(default = "draft_status")]
    pub status: ProductStatus,
    #[serde(default)]
    pub b2b_settings: B2bSettings,
    /// The subscription plan the product is sold on, if any.
    #[serde(default)]
    #[schema(schema_with = crate::schemas::subscription_plan_id)]
    pub subscription_plan_id: Option<Uuid>,
    #[serde(default = "standard_tax_class")]
    #[schema(schema_with = crate::schemas::tax_class)]
    pub tax_class: String,
    /// Short labels: at most 50, each 1–50 lowercase letters, digits and single inner
    /// hyphens, no repeats.
    #[serde(default)]
    #[schema(schema_with = crate::schemas::tags)]
    pub tags: Vec<String>,
}

impl From<&Product> for ProductDraft {
    fn from(p: &Product) -> Self {
        ProductDraft {
            handle: p.handle.clone(),
            title: p.title.clone(),
            description: p.description.clone(),
            status: p.status,
            b2b_settings: p.b2b_settings.clone(),
            subscription_plan_id: p.subscription_plan_id,
            tax_class: p.tax_class.clone(),
            tags: p.tags.clone(),
        }
    }
}

const CONSTRAINTS: &[Constraint] = &[
    Constraint::Unique(
        "products_handle_key",
        ErrorCode::HandleTaken,
        "another product already uses this handle",
    ),
    Constraint::Reference(
        "products_subscription_plan_fkey",
        "/subscription_plan_id",
        "no subscription plan with this id exists",
    ),
];

/// Checks a draft against the shop, and its references against the database, reporting
/// every problem at once.
async fn check(tx: &mut TenantTx, tenant: &Tenant, draft: &ProductDraft) -> Result<Handle, DomainError> {
    let mut v = Violations::default();
    let handle = v.check("/handle", Handle::parse(&draft.handle, 100));
    check_translations(&mut v, "/title", &draft.title, tenant, true, 500);
    check_translations(&mut v, "/description", &draft.description, tenant, false, 20_000);
    draft.b2b_settings.check(&mut v, "/b2b_settings");
    let tax_ok = (1..=50).contains(&draft.tax_class.len())
        && draft
            .tax_class
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !tax_ok {
        v.push(
            "/tax_class",
            "invalid_tax_class",
            "a tax class is 1–50 lowercase letters, digits, '_' or '-'",
        );
    }
    check_tags(&mut v, "/tags", &draft.tags);
    if let Some(groups) = &draft.b2b_settings.visible_to_customer_groups {
        let known: Vec<String> =
            sqlx::query_scalar("select handle from customer_groups where handle = any($1)")
                .bind(groups)
                .fetch_all(&mut **tx)
                .await?;
        for (i, handle) in groups.iter().enumerate() {
            if !known.contains(handle) {
                v.push(
                    format!("/b2b_settings/visible_to_customer_groups/{i}"),
                    "unknown_reference",
                    format!("no customer group '{handle}' exists"),
                );
            }
        }
    }
    match handle {
        Some(handle) if v.is_empty() => Ok(handle),
        _ => Err(DomainError::Validation(v)),
    }
}

/// The most tags a product (or a collection rule) has, and the longest tag.
pub const MAX_TAGS: usize = 50;
pub const MAX_TAG_CHARS: usize = 50;

/// Tags: at most [`MAX_TAGS`], each a handle of at most [`MAX_TAG_CHARS`], no repeats.
pub fn check_tags(v: &mut Violations, pointer: &str, tags: &[String]) {
    if tags.len() > MAX_TAGS {
        v.push(pointer, "too_many", format!("at most {MAX_TAGS} tags"));
    }
    for (i, tag) in tags.iter().enumerate() {
        let at = format!("{pointer}/{i}");
        if v.check(&at, Handle::parse(tag, MAX_TAG_CHARS)).is_some() && tags[..i].contains(tag) {
            v.push(at, "duplicate", format!("'{tag}' is listed twice"));
        }
    }
}

const COLUMNS: &str = "id, handle, title, description, status, b2b_settings, subscription_plan_id, tax_class, \
                       tags, version, created_at, updated_at";

pub async fn create(pool: &PgPool, tenant: &Tenant, draft: &ProductDraft) -> Result<Product, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let handle = check(&mut tx, tenant, draft).await?;
    let sql = format!(
        "insert into products (id, tenant_id, handle, title, description, status, b2b_settings,
                               subscription_plan_id, tax_class, tags, first_activated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, case when $6 = 'active' then now() end)
         returning {COLUMNS}"
    );
    let product = bind_fields(&sql, (Uuid::now_v7(), tenant), &handle, draft)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| DomainError::from_constraint(e, CONSTRAINTS))?;
    outbox::append(&mut tx, tenant.id, event("product.created", &product)).await?;
    tx.commit().await?;
    Ok(product)
}

/// `sql` with the product's key bound as `$1`–`$2` (its id and tenant) and the columns a draft
/// writes as `$3`–`$10`, the same in `create`'s insert and `update`'s update.
fn bind_fields<'q>(
    sql: &'q str,
    (id, tenant): (Uuid, &Tenant),
    handle: &'q Handle,
    draft: &'q ProductDraft,
) -> WriteQuery<'q, Product> {
    sqlx::query_as(sql)
        .bind(id)
        .bind(tenant.id)
        .bind(handle)
        .bind(sqlx::types::Json(&draft.title))
        .bind(sqlx::types::Json(&draft.description))
        .bind(draft.status)
        .bind(sqlx::types::Json(&draft.b2b_settings))
        .bind(draft.subscription_plan_id)
        .bind(&draft.tax_class)
        .bind(&draft.tags)
}

fn event<'a>(event_type: &'a str, product: &'a Product) -> Event<'a, Product> {
    Event { event_type, aggregate_type: "product", aggregate_id: product.id, data: product }
}

pub async fn get(pool: &PgPool, tenant: &Tenant, id: Uuid) -> Result<Product, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let product = sqlx::query_as(&format!("select {COLUMNS} from products where tenant_id = $1 and id = $2"))
        .bind(tenant.id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(DomainError::NotFound { resource: "product" })?;
    tx.commit().await?;
    Ok(product)
}

/// The product with this handle, if the shop has one.
pub async fn find_by_handle(
    pool: &PgPool,
    tenant: &Tenant,
    handle: &str,
) -> Result<Option<Product>, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let product =
        sqlx::query_as(&format!("select {COLUMNS} from products where tenant_id = $1 and handle = $2"))
            .bind(tenant.id)
            .bind(handle)
            .fetch_optional(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(product)
}

/// Replaces the product's writable fields, if it is still at `expected_version`.
pub async fn update(
    pool: &PgPool,
    tenant: &Tenant,
    id: Uuid,
    expected_version: i64,
    draft: &ProductDraft,
) -> Result<Product, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let handle = check(&mut tx, tenant, draft).await?;
    let sql = format!(
        "update products set handle = $3, title = $4, description = $5, status = $6, b2b_settings = $7,
                subscription_plan_id = $8, tax_class = $9, tags = $10, version = version + 1,
                first_activated_at = coalesce(first_activated_at, case when $6 = 'active' then now() end)
         where id = $1 and tenant_id = $2 and version = $11
         returning {COLUMNS}"
    );
    let updated: Option<Product> = bind_fields(&sql, (id, tenant), &handle, draft)
        .bind(expected_version)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| DomainError::from_constraint(e, CONSTRAINTS))?;
    let Some(product) = updated else {
        return Err(stale_or_missing(&mut tx, "products", "product", id).await);
    };
    outbox::append(&mut tx, tenant.id, event("product.updated", &product)).await?;
    tx.commit().await?;
    Ok(product)
}

/// What deleting a product did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeleteOutcome {
    /// Gone, with its variants and prices: it was never active, so no order can refer to it.
    Deleted,
    /// Kept as `archived`: it was active once, so orders may refer to it.
    Archived,
}

pub async fn delete(pool: &PgPool, tenant: &Tenant, id: Uuid) -> Result<DeleteOutcome, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let activated: Option<Option<DateTime<Utc>>> = sqlx::query_scalar(
        "select first_activated_at from products where tenant_id = $1 and id = $2 for update",
    )
    .bind(tenant.id)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let outcome = match activated.ok_or(DomainError::NotFound { resource: "product" })? {
        None => {
            // Its images go with it; the worker deletes their objects.
            crate::media::release_all(&mut tx, tenant, id).await?;
            let product: Product = sqlx::query_as(&format!(
                "delete from products where tenant_id = $1 and id = $2 returning {COLUMNS}"
            ))
            .bind(tenant.id)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            outbox::append(&mut tx, tenant.id, event("product.deleted", &product)).await?;
            DeleteOutcome::Deleted
        }
        Some(_) => {
            let product: Product = sqlx::query_as(&format!(
                "update products set status = 'archived', version = version + 1
                 where tenant_id = $1 and id = $2 returning {COLUMNS}"
            ))
            .bind(tenant.id)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            outbox::append(&mut tx, tenant.id, event("product.updated", &product)).await?;
            DeleteOutcome::Archived
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

/// What a product list is sorted by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProductSort {
    CreatedAt,
    UpdatedAt,
    Handle,
    /// The title in this locale (falling back to the default locale's).
    Title(String),
}

/// A product list request, already validated.
#[derive(Debug, Clone)]
pub struct ProductQuery {
    pub limit: i64,
    pub sort: ProductSort,
    pub descending: bool,
    pub cursor: Option<Cursor>,
    pub status: Option<ProductStatus>,
    /// Words matched against titles, the handle and SKUs.
    pub q: Option<String>,
    /// Attribute filters: some variant must match each attribute with one of its values.
    pub attributes: Vec<(String, Vec<String>)>,
}

impl ProductQuery {
    /// The ordering a cursor is bound to, e.g. `title:nl:desc`.
    pub fn ordering(&self) -> String {
        let sort = match &self.sort {
            ProductSort::CreatedAt => "created_at".to_owned(),
            ProductSort::UpdatedAt => "updated_at".to_owned(),
            ProductSort::Handle => "handle".to_owned(),
            ProductSort::Title(locale) => format!("title:{locale}"),
        };
        format!("products:{sort}:{}", if self.descending { "desc" } else { "asc" })
    }

    /// What a cursor's key must be for this sort.
    pub fn key_kind(&self) -> KeyKind {
        match self.sort {
            ProductSort::CreatedAt | ProductSort::UpdatedAt => KeyKind::Time,
            ProductSort::Handle | ProductSort::Title(_) => KeyKind::Text,
        }
    }

    fn key_sql(&self, b: &mut QueryBuilder<'_, Postgres>, tenant: &Tenant) {
        match &self.sort {
            ProductSort::CreatedAt => b.push("p.created_at"),
            ProductSort::UpdatedAt => b.push("p.updated_at"),
            ProductSort::Handle => b.push("p.handle"),
            ProductSort::Title(locale) => b
                .push("coalesce(p.title ->> ")
                .push_bind(locale.clone())
                .push(", p.title ->> ")
                .push_bind(tenant.default_locale.clone())
                .push(", '')"),
        };
    }

    fn key_of(&self, product: &Product, tenant: &Tenant) -> String {
        match &self.sort {
            ProductSort::CreatedAt => time_key(&product.created_at),
            ProductSort::UpdatedAt => time_key(&product.updated_at),
            ProductSort::Handle => product.handle.clone(),
            ProductSort::Title(locale) => product
                .title
                .get(locale)
                .or_else(|| product.title.get(&tenant.default_locale))
                .cloned()
                .unwrap_or_default(),
        }
    }
}

/// Attribute filter values as JSON: `"42"` also matches the number 42, `"true"` the boolean.
pub(crate) fn attribute_candidates(key: &str, values: &[String]) -> Vec<Value> {
    let mut candidates = Vec::new();
    for value in values {
        candidates.push(serde_json::json!({ key: value }));
        if let Ok(scalar @ (Value::Number(_) | Value::Bool(_))) = serde_json::from_str::<Value>(value) {
            candidates.push(serde_json::json!({ key: scalar }));
        }
    }
    candidates
}

/// One page of products, in one query.
pub async fn list(
    pool: &PgPool,
    tenant: &Tenant,
    query: &ProductQuery,
) -> Result<Page<Product>, DomainError> {
    let mut b =
        QueryBuilder::<Postgres>::new(format!("select {COLUMNS} from products p where p.tenant_id = "));
    b.push_bind(tenant.id);
    if let Some(status) = query.status {
        b.push(" and p.status = ").push_bind(status.as_str());
    }
    if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = format!("%{}%", q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        b.push(" and (p.handle ilike ")
            .push_bind(pattern.clone())
            .push(" or exists (select 1 from jsonb_each_text(p.title) t where t.value ilike ")
            .push_bind(pattern.clone())
            .push(") or exists (select 1 from product_variants v where v.product_id = p.id and v.sku ilike ")
            .push_bind(pattern)
            .push("))");
    }
    // One variant must match every attribute (a red one in size M, not a red one and an M one).
    if !query.attributes.is_empty() {
        b.push(" and exists (select 1 from product_variants v where v.tenant_id = p.tenant_id and v.product_id = p.id");
        for (key, values) in &query.attributes {
            b.push(" and v.attributes @> any(")
                .push_bind(attribute_candidates(key, values))
                .push("::jsonb[])");
        }
        b.push(")");
    }
    let (op, dir) = if query.descending { ("<", "desc") } else { (">", "asc") };
    if let Some(cursor) = &query.cursor {
        b.push(" and (");
        query.key_sql(&mut b, tenant);
        b.push(", p.id) ").push(op).push(" (");
        match query.sort {
            ProductSort::CreatedAt | ProductSort::UpdatedAt => {
                b.push_bind(cursor.key.clone()).push("::timestamptz");
            }
            _ => {
                b.push_bind(cursor.key.clone());
            }
        }
        b.push(", ").push_bind(cursor.id).push(")");
    }
    b.push(" order by ");
    query.key_sql(&mut b, tenant);
    b.push(format!(" {dir}, p.id {dir} limit ")).push_bind(query.limit + 1);

    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let rows: Vec<Product> = b.build_query_as().fetch_all(&mut *tx).await?;
    tx.commit().await?;
    let ordering = query.ordering();
    Ok(Page::from_rows(rows, query.limit, |p| {
        Cursor::new(ordering.clone(), tenant.id, Some(query.key_of(p, tenant)), p.id)
    }))
}

/// What a product list can be sorted by, as a client names it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductSortKey {
    #[default]
    CreatedAt,
    UpdatedAt,
    Handle,
    /// The title in `locale` (falling back to the default locale's).
    Title,
}

/// The sort `key` means for a shop (titles in `locale`, which must be one of its locales).
pub fn sort_by(
    key: ProductSortKey,
    locale: Option<&str>,
    tenant: &Tenant,
) -> Result<ProductSort, crate::error::Violation> {
    match key {
        ProductSortKey::CreatedAt => Ok(ProductSort::CreatedAt),
        ProductSortKey::UpdatedAt => Ok(ProductSort::UpdatedAt),
        ProductSortKey::Handle => Ok(ProductSort::Handle),
        ProductSortKey::Title => {
            let locale = locale.unwrap_or(&tenant.default_locale);
            if tenant.locales.iter().any(|l| l == locale) {
                Ok(ProductSort::Title(locale.to_owned()))
            } else {
                Err(invalid("unsupported_locale", format!("'{locale}' is not one of the shop's locales")))
            }
        }
    }
}
