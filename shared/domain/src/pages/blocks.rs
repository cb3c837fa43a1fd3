//! A shop's own section and block types (`/management/block-types/{name}`), beside the
//! built-in ones ([`super::schema::builtins`]), which no shop can change or shadow.
//!
//! A change is refused when it would make a page invalid: every page's draft and the
//! revision the storefront shows are checked against the shop's types as they would be
//! after the change, and a `409 block_type_in_use` names the pages that would break.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use super::schema::{TypeSpec, builtins, check_settings_schema};
use super::{document, types_in};
use crate::ErrorCode;
use crate::db::{ReadQuery, TenantTx, begin_tenant_tx};
use crate::error::{Constraint, DomainError, Violations};
use crate::resource::{self, Resource};
use crate::tenant::{Tenant, TenantId};

/// A section or block type as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BlockType {
    #[schema(example = "testimonial")]
    pub name: String,
    pub label: String,
    /// May stand alone as a section of a page.
    pub section: bool,
    /// The section types that may hold it as one of their blocks.
    pub blocks_in: Vec<String>,
    /// The JSON Schema (2020-12) of its `settings`.
    #[schema(value_type = Object)]
    pub settings_schema: Value,
    /// Kassa's own (read-only) or the shop's.
    pub builtin: bool,
    /// The shop's types only: for If-Match.
    pub version: Option<i64>,
}

/// A shop's own type as stored.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct CustomBlockType {
    pub id: Uuid,
    pub name: String,
    pub label: String,
    pub section: bool,
    pub blocks_in: Vec<String>,
    pub settings_schema: Value,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Resource for CustomBlockType {
    const NAME: &'static str = "block type";
    const PLURAL: &'static str = "block types";
    const AGGREGATE: &'static str = "block_type";
    const TABLE: &'static str = "block_types";
    const COLUMNS: &'static str =
        "id, name, label, section, blocks_in, settings_schema, version, created_at, updated_at";
    const CONSTRAINTS: &'static [Constraint] = &[Constraint::Unique(
        "block_types_name_key",
        ErrorCode::NameTaken,
        "the shop has a block type of this name",
    )];

    fn id(&self) -> Uuid {
        self.id
    }

    fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
}

impl CustomBlockType {
    pub fn spec(&self) -> TypeSpec {
        TypeSpec {
            name: self.name.clone(),
            label: self.label.clone(),
            section: self.section,
            blocks_in: self.blocks_in.clone(),
            settings_schema: self.settings_schema.clone(),
            builtin: false,
        }
    }

    fn view(&self) -> BlockType {
        BlockType { version: Some(self.version), ..view(&self.spec()) }
    }
}

fn view(spec: &TypeSpec) -> BlockType {
    BlockType {
        name: spec.name.clone(),
        label: spec.label.clone(),
        section: spec.section,
        blocks_in: spec.blocks_in.clone(),
        settings_schema: spec.settings_schema.clone(),
        builtin: spec.builtin,
        version: None,
    }
}

/// `PUT /management/block-types/{name}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockTypeDraft {
    #[schema(min_length = 1, max_length = 200)]
    pub label: String,
    /// May stand alone as a section (default true).
    #[serde(default = "yes")]
    pub section: bool,
    /// Section types (built-in or the shop's) that may hold it as a block.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub blocks_in: Vec<String>,
    /// A JSON Schema (2020-12) object schema for its settings, at most 16 KiB; it may
    /// reference `#/$defs/text`, `#/$defs/rich_text`, `#/$defs/image`, `#/$defs/link` and
    /// `#/$defs/handle` and nothing else.
    #[schema(value_type = Object)]
    pub settings_schema: Value,
}

fn yes() -> bool {
    true
}

/// The shop's own types by name (`$1` is the tenant).
pub(crate) fn custom_query(tenant: TenantId) -> ReadQuery {
    let mut q =
        ReadQuery::new(format!("select {} from block_types where tenant_id = ", CustomBlockType::COLUMNS));
    q.push_bind(tenant).push(" order by name");
    q
}

pub(crate) async fn custom_in(
    tx: &mut TenantTx,
    tenant: TenantId,
) -> Result<Vec<CustomBlockType>, DomainError> {
    Ok(sqlx::query_as(custom_query(tenant).sql()).bind(tenant).fetch_all(&mut **tx).await?)
}

/// Every type of the shop: the built-ins, then its own by name.
pub async fn list(pool: &PgPool, tenant: &Tenant) -> Result<Vec<BlockType>, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let custom = custom_in(&mut tx, tenant.id).await?;
    tx.commit().await?;
    Ok(builtins().iter().map(view).chain(custom.iter().map(CustomBlockType::view)).collect())
}

pub async fn get(pool: &PgPool, tenant: &Tenant, name: &str) -> Result<BlockType, DomainError> {
    list(pool, tenant)
        .await?
        .into_iter()
        .find(|t| t.name == name)
        .ok_or(DomainError::NotFound { resource: "block type" })
}

fn is_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=50).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// Every violation of a type named `name` with `draft`, given the shop's other types.
fn check(name: &str, draft: &BlockTypeDraft, others: &[TypeSpec]) -> Result<(), DomainError> {
    let mut v = Violations::default();
    if !is_name(name) {
        v.push("/name", "invalid_name", "a type name is 1–50 of a-z, 0-9 and -, starting with a letter");
    }
    if draft.label.trim().is_empty() || draft.label.chars().count() > 200 {
        v.push("/label", "invalid_label", "a label is 1–200 characters");
    }
    if draft.blocks_in.len() > 50 {
        v.push("/blocks_in", "too_many", "at most 50 section types");
    }
    for (i, section) in draft.blocks_in.iter().enumerate() {
        let known =
            others.iter().any(|t| t.section && t.name == *section) || (section == name && draft.section);
        if !known {
            v.push(
                format!("/blocks_in/{i}"),
                "unknown_section_type",
                format!("the shop has no section type '{section}'"),
            );
        }
    }
    if !draft.section && draft.blocks_in.is_empty() {
        v.push("/blocks_in", "required", "a type that is no section must be a block of some section type");
    }
    for (pointer, message) in check_settings_schema(&draft.settings_schema) {
        v.push(format!("/settings_schema{pointer}"), "invalid_schema", message);
    }
    if v.is_empty() { Ok(()) } else { Err(DomainError::Validation(v)) }
}

/// The handles of the pages whose draft or shown revision `types` would make invalid.
async fn broken_pages(
    tx: &mut TenantTx,
    tenant: &Tenant,
    types: &[TypeSpec],
) -> Result<Vec<String>, DomainError> {
    let documents: Vec<(String, Value, Option<Value>)> = sqlx::query_as(
        "select p.handle, p.draft, r.document from pages p
         left join page_revisions r
           on r.tenant_id = p.tenant_id and r.page_id = p.id and r.number = p.published_revision
         where p.tenant_id = $1 order by p.handle",
    )
    .bind(tenant.id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(documents
        .into_iter()
        .filter(|(_, draft, shown)| {
            std::iter::once(draft).chain(shown).any(|d| document::check(tenant, types, d).is_err())
        })
        .map(|(handle, _, _)| handle)
        .collect())
}

fn in_use(pages: &[String]) -> DomainError {
    DomainError::Conflict {
        code: ErrorCode::BlockTypeInUse,
        message: format!("this change would make these pages invalid: {}", pages.join(", ")),
    }
}

/// Creates the shop's type `name` or replaces it (at `expected_version`, if given), unless
/// that would make a page invalid. Whether it was created.
pub async fn put(
    pool: &PgPool,
    tenant: &Tenant,
    name: &str,
    draft: &BlockTypeDraft,
    expected_version: Option<i64>,
) -> Result<(BlockType, bool), DomainError> {
    if builtins().iter().any(|b| b.name == name) {
        return Err(DomainError::Conflict {
            code: ErrorCode::NameTaken,
            message: format!("'{name}' is a built-in type; choose another name"),
        });
    }
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let current: Option<CustomBlockType> = sqlx::query_as(&format!(
        "select {} from block_types where tenant_id = $1 and name = $2 for update",
        CustomBlockType::COLUMNS
    ))
    .bind(tenant.id)
    .bind(name)
    .fetch_optional(&mut *tx)
    .await?;
    if let (Some(expected), Some(row)) = (expected_version, &current)
        && row.version != expected
    {
        return Err(DomainError::Stale { resource: "block type", current: row.version });
    }
    let mut types: Vec<TypeSpec> =
        types_in(&mut tx, tenant.id).await?.into_iter().filter(|t| t.name != name).collect();
    check(name, draft, &types)?;
    let (sql, id) = match &current {
        Some(row) => (
            format!(
                "update block_types set label = $3, section = $4, blocks_in = $5, settings_schema = $6, name = $7,
                   version = version + 1 where tenant_id = $1 and id = $2 returning {}",
                CustomBlockType::COLUMNS
            ),
            row.id,
        ),
        None => (
            format!(
                "insert into block_types (tenant_id, id, label, section, blocks_in, settings_schema, name)
                 values ($1, $2, $3, $4, $5, $6, $7) returning {}",
                CustomBlockType::COLUMNS
            ),
            Uuid::now_v7(),
        ),
    };
    let row: CustomBlockType = sqlx::query_as(&sql)
        .bind(tenant.id)
        .bind(id)
        .bind(draft.label.trim())
        .bind(draft.section)
        .bind(&draft.blocks_in)
        .bind(&draft.settings_schema)
        .bind(name)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| DomainError::from_constraint(e, CustomBlockType::CONSTRAINTS))?;
    types.push(row.spec());
    let broken = broken_pages(&mut tx, tenant, &types).await?;
    if !broken.is_empty() {
        return Err(in_use(&broken));
    }
    let what = if current.is_some() { "updated" } else { "created" };
    resource::recorded(&mut tx, tenant, what, &row).await?;
    tx.commit().await?;
    Ok((row.view(), current.is_none()))
}

/// Deletes the shop's type `name` unless a page uses it.
pub async fn delete(pool: &PgPool, tenant: &Tenant, name: &str) -> Result<(), DomainError> {
    if builtins().iter().any(|b| b.name == name) {
        return Err(DomainError::InvalidState {
            code: ErrorCode::BlockTypeInUse,
            message: format!("'{name}' is a built-in type and cannot be deleted"),
        });
    }
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let row: CustomBlockType = sqlx::query_as(&format!(
        "delete from block_types where tenant_id = $1 and name = $2 returning {}",
        CustomBlockType::COLUMNS
    ))
    .bind(tenant.id)
    .bind(name)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(DomainError::NotFound { resource: "block type" })?;
    // Types that named it as their section lose it: they are checked as they would be.
    let types: Vec<TypeSpec> = types_in(&mut tx, tenant.id).await?;
    let broken = broken_pages(&mut tx, tenant, &types).await?;
    if !broken.is_empty() {
        return Err(in_use(&broken));
    }
    resource::recorded(&mut tx, tenant, "deleted", &row).await?;
    tx.commit().await?;
    Ok(())
}
