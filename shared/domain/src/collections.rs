//! Collections: a shop's named product sets for merchandising. A **manual** collection is an
//! ordered list of products (set with [`set_products`]); an **automatic** one holds the
//! products that match its [`CollectionRules`] (tags, variant attributes, a price range,
//! status) at the time of reading. Plain CRUD through [`crate::resource`]; every write appends
//! `collection.created|updated|deleted` and invalidates the storefront's cache.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::ErrorCode;
use crate::catalog::{Translations, check_amount, check_attribute_name, check_translations, escape_pointer};
use crate::db::begin_tenant_tx;
use crate::error::{Constraint, DomainError, Violations};
use crate::products::{ProductStatus, attribute_candidates, check_tags};
use crate::resource::{self, Editable, Resource, WriteQuery};
use crate::tenant::Tenant;
use crate::types::Handle;

/// Manual (an ordered list) or automatic (rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum CollectionKind {
    Manual,
    Automatic,
}

/// The order a collection shows its products in. `manual` (the list's order) is for manual
/// collections only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum CollectionSort {
    Manual,
    Newest,
    Title,
    PriceAsc,
    PriceDesc,
}

/// The most products a manual collection lists, attribute rules and values per attribute.
pub const MAX_PRODUCTS: usize = 1_000;
pub const MAX_ATTRIBUTE_RULES: usize = 5;
pub const MAX_ATTRIBUTE_VALUES: usize = 20;
pub const MAX_TAG_RULES: usize = 20;

/// An automatic collection's rules: a product is in the collection when every given rule
/// holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionRules {
    /// The product has at least one of these tags (at most 20).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(schema_with = crate::schemas::tag_rule)]
    pub tags: Vec<String>,
    /// Some variant has, for every attribute named, one of its values (at most 5 attributes
    /// of at most 20 values, each 1–200 characters).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(schema_with = crate::schemas::attribute_rule)]
    pub attributes: BTreeMap<String, Vec<String>>,
    /// The cheapest variant's base price in `currency` lies within the range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<PriceRule>,
    /// The product's status (the storefront shows active products only anyway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ProductStatus>,
}

impl CollectionRules {
    fn is_empty(&self) -> bool {
        self.tags.is_empty() && self.attributes.is_empty() && self.price.is_none() && self.status.is_none()
    }

    fn check(&self, v: &mut Violations, pointer: &str) {
        if self.tags.len() > MAX_TAG_RULES {
            v.push(format!("{pointer}/tags"), "too_many", format!("at most {MAX_TAG_RULES} tags"));
        }
        check_tags(v, &format!("{pointer}/tags"), &self.tags);
        if self.attributes.len() > MAX_ATTRIBUTE_RULES {
            v.push(
                format!("{pointer}/attributes"),
                "too_many",
                format!("at most {MAX_ATTRIBUTE_RULES} attributes"),
            );
        }
        for (name, values) in &self.attributes {
            let at = format!("{pointer}/attributes/{}", escape_pointer(name));
            check_attribute_name(v, &at, name);
            if values.is_empty() || values.len() > MAX_ATTRIBUTE_VALUES {
                v.push(at.clone(), "invalid_values", format!("1–{MAX_ATTRIBUTE_VALUES} values"));
            }
            for (i, value) in values.iter().enumerate() {
                if !(1..=200).contains(&value.chars().count()) || value.contains('\0') {
                    v.push(format!("{at}/{i}"), "invalid_attribute_value", "a value is 1–200 characters");
                }
            }
        }
        if let Some(price) = &self.price {
            let at = format!("{pointer}/price");
            v.check(&format!("{at}/currency"), crate::currency::Currency::parse(&price.currency));
            if price.min.is_none() && price.max.is_none() {
                v.push(at.clone(), "empty_range", "give min, max or both");
            }
            for (name, value) in [("min", price.min), ("max", price.max)] {
                if let Some(amount) = value {
                    check_amount(v, &format!("{at}/{name}"), amount);
                }
            }
            if let (Some(min), Some(max)) = (price.min, price.max)
                && min > max
            {
                v.push(format!("{at}/max"), "below_min", "max must be at least min");
            }
        }
    }
}

/// A range of the cheapest variant's base price, in minor units of `currency`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceRule {
    #[schema(schema_with = crate::schemas::currency)]
    pub currency: String,
    /// At least this (minor units).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub min: Option<i64>,
    /// At most this (minor units).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub max: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Collection {
    pub id: Uuid,
    pub handle: String,
    #[sqlx(json)]
    pub title: Translations,
    #[sqlx(json)]
    pub description: Translations,
    pub kind: CollectionKind,
    #[sqlx(json)]
    pub rules: CollectionRules,
    pub sort: CollectionSort,
    /// A manual collection's products, in order (empty for an automatic one).
    pub product_ids: Vec<Uuid>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn newest() -> CollectionSort {
    CollectionSort::Newest
}

/// A collection as a client writes it. Its products (manual) are set with
/// `PUT /management/collections/{id}/products`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionDraft {
    #[schema(schema_with = crate::schemas::handle)]
    pub handle: String,
    #[schema(schema_with = crate::schemas::title)]
    pub title: Translations,
    #[serde(default)]
    #[schema(schema_with = crate::schemas::description)]
    pub description: Translations,
    pub kind: CollectionKind,
    /// Automatic collections: at least one rule. Manual ones: none (`{}`).
    #[serde(default)]
    pub rules: CollectionRules,
    /// Default `newest`; `manual` only for manual collections.
    #[serde(default = "newest")]
    pub sort: CollectionSort,
}

impl From<&Collection> for CollectionDraft {
    fn from(c: &Collection) -> Self {
        CollectionDraft {
            handle: c.handle.clone(),
            title: c.title.clone(),
            description: c.description.clone(),
            kind: c.kind,
            rules: c.rules.clone(),
            sort: c.sort,
        }
    }
}

impl Resource for Collection {
    const NAME: &'static str = "collection";
    const PLURAL: &'static str = "collections";
    const AGGREGATE: &'static str = "collection";
    const TABLE: &'static str = "collections";
    const COLUMNS: &'static str = "id, handle, title, description, kind, rules, sort,
        array(select cp.product_id from collection_products cp
              where cp.tenant_id = collections.tenant_id and cp.collection_id = collections.id
              order by cp.position) as product_ids,
        version, created_at, updated_at";
    const CONSTRAINTS: &'static [Constraint] = &[Constraint::Unique(
        "collections_handle_key",
        ErrorCode::HandleTaken,
        "another collection uses this handle",
    )];

    fn id(&self) -> Uuid {
        self.id
    }

    fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
}

/// Every violation of the draft; the shop's locales only when `tenant` is given.
fn check(draft: &CollectionDraft, tenant: Option<&Tenant>) -> Violations {
    let mut v = Violations::default();
    v.check("/handle", Handle::parse(&draft.handle, 100));
    if let Some(tenant) = tenant {
        check_translations(&mut v, "/title", &draft.title, tenant, true, 500);
        check_translations(&mut v, "/description", &draft.description, tenant, false, 20_000);
    }
    match draft.kind {
        CollectionKind::Manual if !draft.rules.is_empty() => {
            v.push("/rules", "rules_not_allowed", "a manual collection has no rules");
        }
        CollectionKind::Automatic if draft.rules.is_empty() => {
            v.push("/rules", "required", "an automatic collection needs at least one rule");
        }
        CollectionKind::Automatic if draft.sort == CollectionSort::Manual => {
            v.push("/sort", "invalid_sort", "only a manual collection can be sorted manually");
        }
        _ => {}
    }
    draft.rules.check(&mut v, "/rules");
    v
}

fn checked(draft: &CollectionDraft, tenant: &Tenant) -> Result<(), DomainError> {
    let v = check(draft, Some(tenant));
    if v.is_empty() { Ok(()) } else { Err(DomainError::Validation(v)) }
}

impl Editable for Collection {
    type Draft = CollectionDraft;

    const SHOWN_IN_STOREFRONT: bool = true;

    const WRITES: &'static [&'static str] = &["handle", "title", "description", "kind", "rules", "sort"];

    fn bind_draft<'q>(
        draft: &'q CollectionDraft,
        query: WriteQuery<'q, Self>,
    ) -> Result<WriteQuery<'q, Self>, DomainError> {
        let v = check(draft, None);
        if !v.is_empty() {
            return Err(DomainError::Validation(v));
        }
        Ok(query
            .bind(&draft.handle)
            .bind(sqlx::types::Json(&draft.title))
            .bind(sqlx::types::Json(&draft.description))
            .bind(draft.kind)
            .bind(sqlx::types::Json(&draft.rules))
            .bind(draft.sort))
    }

    /// Titles are checked against the shop's locales.
    fn check_in(draft: &CollectionDraft, tenant: &Tenant) -> Result<(), DomainError> {
        checked(draft, tenant)
    }

    /// A collection that turns automatic keeps no manual list.
    async fn update(
        pool: &PgPool,
        tenant: &Tenant,
        id: Uuid,
        expected_version: i64,
        draft: &CollectionDraft,
    ) -> Result<Self, DomainError> {
        Self::check_in(draft, tenant)?;
        let sql = resource::update_sql::<Self>();
        let query = Self::bind_draft(draft, resource::guarded(&sql, tenant, id, expected_version))?;
        let mut tx = begin_tenant_tx(pool, tenant.id).await?;
        let row = query
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| DomainError::from_constraint(e, Self::CONSTRAINTS))?;
        if row.as_ref().is_some_and(|c| c.kind == CollectionKind::Automatic && !c.product_ids.is_empty()) {
            sqlx::query("delete from collection_products where tenant_id = $1 and collection_id = $2")
                .bind(tenant.id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let row = resource::get_in::<Self>(&mut tx, tenant, id).await?;
            return resource::updated(tx, tenant, id, Some(row)).await;
        }
        resource::updated(tx, tenant, id, row).await
    }

    fn version(&self) -> i64 {
        self.version
    }
}

/// The products of a manual collection, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionProducts {
    /// Product ids of the shop, in the order the collection shows them (at most 1,000, no
    /// repeats).
    #[schema(max_items = 1000)]
    pub product_ids: Vec<Uuid>,
}

/// Replaces a manual collection's products (in the order given), bumps its version and
/// appends `collection.updated`.
pub async fn set_products(
    pool: &PgPool,
    tenant: &Tenant,
    id: Uuid,
    products: &CollectionProducts,
) -> Result<Collection, DomainError> {
    let mut v = Violations::default();
    if products.product_ids.len() > MAX_PRODUCTS {
        v.push("/product_ids", "too_many", format!("at most {MAX_PRODUCTS} products"));
    }
    for (i, product) in products.product_ids.iter().enumerate() {
        if products.product_ids[..i].contains(product) {
            v.push(format!("/product_ids/{i}"), "duplicate", "listed twice");
        }
    }
    if !v.is_empty() {
        return Err(DomainError::Validation(v));
    }
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let kind: Option<CollectionKind> =
        sqlx::query_scalar("select kind from collections where tenant_id = $1 and id = $2 for update")
            .bind(tenant.id)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    match kind.ok_or(DomainError::NotFound { resource: "collection" })? {
        CollectionKind::Manual => {}
        CollectionKind::Automatic => {
            v.push(
                "/product_ids",
                "automatic_collection",
                "an automatic collection's products follow its rules",
            );
            return Err(DomainError::Validation(v));
        }
    }
    let known: Vec<Uuid> =
        sqlx::query_scalar("select id from products where tenant_id = $1 and id = any($2)")
            .bind(tenant.id)
            .bind(&products.product_ids)
            .fetch_all(&mut *tx)
            .await?;
    for (i, product) in products.product_ids.iter().enumerate() {
        if !known.contains(product) {
            v.push(format!("/product_ids/{i}"), "unknown_reference", "no product with this id exists");
        }
    }
    if !v.is_empty() {
        return Err(DomainError::Validation(v));
    }
    sqlx::query("delete from collection_products where tenant_id = $1 and collection_id = $2")
        .bind(tenant.id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "insert into collection_products (tenant_id, collection_id, product_id, position)
         select $1, $2, p.id, p.n::integer from unnest($3::uuid[]) with ordinality as p(id, n)",
    )
    .bind(tenant.id)
    .bind(id)
    .bind(&products.product_ids)
    .execute(&mut *tx)
    .await?;
    let row: Option<Collection> = sqlx::query_as(&format!(
        "update collections set version = version + 1 where tenant_id = $1 and id = $2 returning {}",
        Collection::COLUMNS
    ))
    .bind(tenant.id)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    resource::updated(tx, tenant, id, row).await
}

/// Narrows a query over `products p` to the collection's products.
pub(crate) fn push_membership(b: &mut crate::db::ReadQuery, collection: &Collection) {
    match collection.kind {
        CollectionKind::Manual => {
            b.push(
                " and exists (select 1 from collection_products cp where cp.tenant_id = p.tenant_id \
                 and cp.product_id = p.id and cp.collection_id = ",
            )
            .push_bind(collection.id)
            .push(")");
        }
        CollectionKind::Automatic => {
            let rules = &collection.rules;
            if !rules.tags.is_empty() {
                b.push(" and p.tags && ").push_bind(rules.tags.clone()).push("::text[]");
            }
            if !rules.attributes.is_empty() {
                b.push(
                    " and exists (select 1 from product_variants v where v.tenant_id = p.tenant_id \
                     and v.product_id = p.id",
                );
                for (key, values) in &rules.attributes {
                    b.push(" and v.attributes @> any(")
                        .push_bind(attribute_candidates(key, values))
                        .push("::jsonb[])");
                }
                b.push(")");
            }
            if let Some(price) = &rules.price {
                let currency = crate::currency::Currency::parse(&price.currency)
                    .map(|c| c.code().to_owned())
                    .unwrap_or_default();
                b.push(
                    " and exists (select 1 from product_prices pp where pp.tenant_id = p.tenant_id \
                     and pp.product_id = p.id and pp.currency = ",
                );
                crate::currency::push_code(b, &currency);
                if let Some(min) = price.min {
                    b.push(" and pp.min_amount >= ").push_bind(min);
                }
                if let Some(max) = price.max {
                    b.push(" and pp.min_amount <= ").push_bind(max);
                }
                b.push(")");
            }
            if let Some(status) = rules.status {
                b.push(" and p.status = ").push_bind(status.as_str());
            }
        }
    }
}

/// The collection with this handle or (when `key` is a UUID) id, without its members' ids
/// (`product_ids` is empty): the storefront, its only reader, joins `collection_products` in
/// its own queries, and a large manual collection's ids cost more than the page of products
/// it shows (3,000 ids: 0.47 ms of Postgres, then as many UUIDs decoded).
pub(crate) async fn find_without_members_in(
    read: &mut crate::db::TenantRead,
    tenant: &Tenant,
    key: &str,
) -> Result<Option<Collection>, DomainError> {
    let mut q = crate::db::ReadQuery::new(
        "select id, handle, title, description, kind, rules, sort, '{}'::uuid[] as product_ids,
                version, created_at, updated_at
         from collections where tenant_id = ",
    );
    q.push_bind(tenant.id).push(" and (handle = ").push_bind(key).push(" or id = ");
    q.push_bind(Uuid::parse_str(key).ok()).push(")");
    Ok(read.fetch_optional(&q).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(json: serde_json::Value) -> CollectionDraft {
        serde_json::from_value(json).unwrap()
    }

    fn pointers(v: &Violations) -> Vec<(&str, &str)> {
        v.as_slice().iter().map(|x| (x.pointer.as_str(), x.code)).collect()
    }

    #[test]
    fn rules_must_fit_the_kind_and_every_bad_rule_is_pointed_at() {
        let manual_with_rules = draft(serde_json::json!({
            "handle": "x", "title": {"en": "X"}, "kind": "manual", "rules": {"tags": ["a"]}
        }));
        assert_eq!(pointers(&check(&manual_with_rules, None)), [("/rules", "rules_not_allowed")]);
        let automatic_without =
            draft(serde_json::json!({"handle": "x", "title": {"en": "X"}, "kind": "automatic"}));
        assert_eq!(pointers(&check(&automatic_without, None)), [("/rules", "required")]);
        let bad = draft(serde_json::json!({
            "handle": "x", "title": {"en": "X"}, "kind": "automatic", "sort": "manual",
            "rules": {"tags": ["ok", "Not Ok", "ok"], "attributes": {"Color": ["red"], "size": []},
                      "price": {"currency": "XXX1", "min": 500, "max": 100}}
        }));
        assert_eq!(
            pointers(&check(&bad, None)),
            [
                ("/sort", "invalid_sort"),
                ("/rules/tags/1", "invalid_handle"),
                ("/rules/tags/2", "duplicate"),
                ("/rules/attributes/Color", "invalid_attribute_name"),
                ("/rules/attributes/size", "invalid_values"),
                ("/rules/price/currency", "unknown_currency"),
                ("/rules/price/max", "below_min"),
            ]
        );
    }
}
