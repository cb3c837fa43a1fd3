//! A page as the storefront answers it: the published revision (or, for a preview, the
//! draft), its texts resolved for the request's locale (falling back to the shop's default
//! locale), images given their public URL, and its product blocks filled with current
//! product data for the audience — `product-grid` with the first `count` active products
//! (of its `collection`: in the collection's order, or in `sort` when the grid names one;
//! none when the collection is gone) and `featured-product` with its product (`null` when it
//! is not for sale). The answer is
//! cached under the shop's catalog version like product reads, so any catalog write (a
//! product, a price, a collection) and any publish shows on the pages at once.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::PgPool;

use super::blocks::{CustomBlockType, custom_query};
use super::document::{localize, resolve_images};
use super::schema::TypeSpec;
use super::with_builtins;
use crate::catalog::Translations;
use crate::db::{Plans, ReadQuery, TenantRead, begin_read};
use crate::error::DomainError;
use crate::storefront::{self, Audience, ShopProductSummary, ShopQuery, ShopSort};
use crate::tenant::Tenant;

/// Which document to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The revision the page points at (404 while unpublished).
    Published,
    /// The draft (a preview).
    Draft,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ShopPageDocument {
    pub id: uuid::Uuid,
    pub handle: String,
    pub title: String,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
    pub layout: String,
    pub sections: Vec<RenderedSection>,
    /// The revision shown; `null` for a preview of the draft.
    pub revision: Option<i32>,
    pub published_at: Option<DateTime<Utc>>,
}

impl storefront::ShowsProducts for ShopPageDocument {
    /// The products the page's product blocks show (`data.products[].id`, `data.product.id`).
    fn product_ids(&self) -> Vec<uuid::Uuid> {
        let shown = |data: &Option<Value>| -> Vec<uuid::Uuid> {
            let Some(data) = data else { return Vec::new() };
            let single = data.get("product").into_iter();
            let many = data.get("products").and_then(Value::as_array).into_iter().flatten();
            single.chain(many).filter_map(|p| p.get("id")?.as_str()?.parse().ok()).collect()
        };
        self.sections
            .iter()
            .flat_map(|s| shown(&s.data).into_iter().chain(s.blocks.iter().flat_map(|b| shown(&b.data))))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RenderedSection {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The settings with every text in the request's locale.
    #[schema(value_type = Object)]
    pub settings: Value,
    pub blocks: Vec<RenderedBlock>,
    /// Filled in by Kassa for product blocks: `{"products": […]}` or `{"product": …}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RenderedBlock {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(value_type = Object)]
    pub settings: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: uuid::Uuid,
    handle: String,
    #[sqlx(json)]
    title: Translations,
    #[sqlx(json)]
    seo_title: Translations,
    #[sqlx(json)]
    seo_description: Translations,
    published_revision: Option<i32>,
    published_at: Option<DateTime<Utc>>,
    /// The document asked for: the published revision's (none while unpublished) or the draft.
    document: Option<Value>,
}

fn text(texts: &Translations, locale: &str, fallback: &str) -> Option<String> {
    texts.get(locale).or_else(|| texts.get(fallback)).or_else(|| texts.values().next()).cloned()
}

/// Page `handle` of `tenant` for `audience` from `source`, read through one
/// [`TenantRead`] (the page, its block types and every product block's products).
pub async fn render(
    pool: &PgPool,
    tenant: &Tenant,
    audience: &Audience,
    handle: &str,
    source: Source,
) -> Result<ShopPageDocument, DomainError> {
    // The page and its types by handle and tenant: one plan whatever the values. Each
    // product block plans its own statements (`storefront::list_in` and the others).
    let mut tx = begin_read(pool, tenant.id, Plans::Generic).await?;
    // The product blocks' statements depend on the page's document: the ones the last render
    // of this page ran are sent with the page's own, so a page whose blocks are as they were
    // takes one round trip.
    tx.recall(("page", handle, source == Source::Draft, audience.statements_key()));
    // Only the document shown is read (and decoded), not the other one too.
    let mut q = match source {
        Source::Published => ReadQuery::new(
            "select p.id, p.handle, p.title, p.seo_title, p.seo_description, p.published_revision, p.published_at,
                    r.document
             from pages p left join page_revisions r
               on r.tenant_id = p.tenant_id and r.page_id = p.id and r.number = p.published_revision
             where p.tenant_id = ",
        ),
        Source::Draft => ReadQuery::new(
            "select p.id, p.handle, p.title, p.seo_title, p.seo_description, p.published_revision, p.published_at,
                    p.draft as document
             from pages p where p.tenant_id = ",
        ),
    };
    q.push_bind(tenant.id).push(" and p.handle = ").push_bind(handle);
    // The page and the shop's own block types in one round trip.
    let (rows, custom) = tx.fetch_pair::<Row, CustomBlockType>(&q, &custom_query(tenant.id)).await?;
    let types = with_builtins(custom);
    let row = rows.into_iter().next().ok_or(DomainError::NotFound { resource: "page" })?;
    let (document, revision, published_at) = match (source, row.document) {
        (Source::Published, Some(document)) => (document, row.published_revision, row.published_at),
        (Source::Draft, Some(document)) => (document, None, None),
        (_, None) => return Err(DomainError::NotFound { resource: "page" }),
    };
    let (locale, fallback) = (audience.locale.as_str(), tenant.default_locale.as_str());
    let mut sections = Vec::new();
    for section in document.get("sections").and_then(Value::as_array).cloned().unwrap_or_default() {
        let (kind, settings) = resolved(&section, &types, locale, fallback, &audience.media_base_url);
        let mut blocks = Vec::new();
        for block in section.get("blocks").and_then(Value::as_array).cloned().unwrap_or_default() {
            let (block_kind, block_settings) =
                resolved(&block, &types, locale, fallback, &audience.media_base_url);
            let data = expand(&mut tx, tenant, audience, &block_kind, &block_settings).await?;
            blocks.push(RenderedBlock { id: id(&block), kind: block_kind, settings: block_settings, data });
        }
        let data = expand(&mut tx, tenant, audience, &kind, &settings).await?;
        sections.push(RenderedSection { id: id(&section), kind, settings, blocks, data });
    }
    Ok(ShopPageDocument {
        id: row.id,
        handle: row.handle,
        title: text(&row.title, locale, fallback).unwrap_or_default(),
        seo_title: text(&row.seo_title, locale, fallback),
        seo_description: text(&row.seo_description, locale, fallback),
        layout: document.get("layout").and_then(Value::as_str).unwrap_or("default").to_owned(),
        sections,
        revision,
        published_at,
    })
}

fn id(item: &Value) -> String {
    item.get("id").and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// An item's type and its settings in `locale`.
fn resolved(
    item: &Value,
    types: &[TypeSpec],
    locale: &str,
    fallback: &str,
    media_base_url: &str,
) -> (String, Value) {
    let kind = item.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut settings = item.get("settings").cloned().unwrap_or_else(|| json!({}));
    if let Some(spec) = types.iter().find(|t| t.name == kind) {
        localize(&mut settings, &spec.settings_schema, locale, fallback);
        resolve_images(&mut settings, &spec.settings_schema, media_base_url);
    }
    (kind, settings)
}

/// The product data of a product block, for `audience`.
async fn expand(
    tx: &mut TenantRead,
    tenant: &Tenant,
    audience: &Audience,
    kind: &str,
    settings: &Value,
) -> Result<Option<Value>, DomainError> {
    match kind {
        "product-grid" => {
            let named = settings.get("sort").and_then(Value::as_str);
            let sort = match named {
                Some("title") => ShopSort::Title,
                Some("price_asc") => ShopSort::PriceAsc,
                Some("price_desc") => ShopSort::PriceDesc,
                _ => ShopSort::Newest,
            };
            let count = settings.get("count").and_then(Value::as_i64).unwrap_or(8).clamp(1, 24);
            let collection = settings.get("collection").and_then(Value::as_str).map(str::to_owned);
            if let (Some(handle), None) = (&collection, named) {
                let products =
                    match storefront::collection_products_in(tx, tenant, audience, handle, count).await {
                        Ok(products) => products,
                        Err(DomainError::NotFound { .. }) => Vec::new(),
                        Err(err) => return Err(err),
                    };
                return Ok(Some(json!({ "products": products })));
            }
            let query = ShopQuery { collection, ..ShopQuery::first(count, sort) };
            let products = match storefront::list_in(tx, tenant, audience, &query).await {
                Ok(page) => page.items,
                Err(DomainError::NotFound { .. }) => Vec::new(),
                Err(err) => return Err(err),
            };
            Ok(Some(json!({ "products": products })))
        }
        "featured-product" => {
            let handle = settings.get("product").and_then(Value::as_str).unwrap_or_default();
            let product = match storefront::product_in(tx, tenant, audience, handle).await {
                Ok(p) => Some(ShopProductSummary {
                    id: p.id,
                    handle: p.handle,
                    title: p.title,
                    price_from: p.price_from,
                    in_stock: p.in_stock,
                    thumbnail: p.images.first().map(|i| i.url.clone()),
                }),
                Err(DomainError::NotFound { .. }) => None,
                Err(err) => return Err(err),
            };
            Ok(Some(json!({ "product": product })))
        }
        _ => Ok(None),
    }
}
