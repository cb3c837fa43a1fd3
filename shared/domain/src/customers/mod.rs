//! Shoppers: customer accounts of one shop. A customer of shop A is nobody in shop B (every
//! query runs in a tenant transaction under forced row-level security). This module holds
//! the account record, its customer groups and the staff's view; [`accounts`] the sign-up,
//! codes and sessions; [`addresses`] the address book. Password hashing and token signing
//! happen at the edge (the customers function): the domain stores PHC strings and SHA-256
//! digests, never a password or a token.

pub mod accounts;
pub mod addresses;
pub mod passwords;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use uuid::Uuid;

use crate::db::{TenantTx, begin_tenant_tx, stale_or_missing};
use crate::error::{DomainError, Violations};
use crate::outbox::{self, Event};
use crate::pagination::{Cursor, Page};
use crate::tenant::Tenant;

pub use accounts::{Credentials, RefreshOutcome, Session, SignUp};
pub use addresses::{Address, PostalAddress};

/// A customer as staff and the customer see it (never the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow, utoipa::ToSchema)]
pub struct Customer {
    pub id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    pub email_verified: bool,
    pub blocked: bool,
    /// The customer groups whose prices and products this customer sees.
    pub customer_group_ids: Vec<Uuid>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const SELECT: &str = "select c.id, c.email, c.first_name, c.last_name, c.phone,
        c.email_verified_at is not null as email_verified, c.blocked_at is not null as blocked,
        coalesce((select array_agg(m.customer_group_id order by m.customer_group_id)
                  from customer_group_members m
                  where m.tenant_id = c.tenant_id and m.customer_id = c.id), '{}') as customer_group_ids,
        c.version, c.created_at, c.updated_at
   from customers c";

/// What a customer may change of themself (`PATCH /storefront/customers/me`).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    #[schema(schema_with = crate::schemas::person_name)]
    pub first_name: Option<String>,
    #[schema(schema_with = crate::schemas::person_name)]
    pub last_name: Option<String>,
    /// `null` removes it.
    #[serde(default, deserialize_with = "crate::present")]
    #[schema(schema_with = crate::schemas::phone, nullable)]
    pub phone: Option<Option<String>>,
}

/// What staff may change (`PATCH /management/customers/{id}`): the profile and the groups.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    #[schema(schema_with = crate::schemas::person_name)]
    pub first_name: Option<String>,
    #[schema(schema_with = crate::schemas::person_name)]
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "crate::present")]
    #[schema(schema_with = crate::schemas::phone, nullable)]
    pub phone: Option<Option<String>>,
    /// The complete set of the customer's groups (replaces the current one).
    #[schema(max_items = 20)]
    pub customer_group_ids: Option<Vec<Uuid>>,
}

impl CustomerPatch {
    fn profile(&self) -> ProfilePatch {
        ProfilePatch {
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            phone: self.phone.clone(),
        }
    }
}

impl ProfilePatch {
    fn check(&self, v: &mut Violations) {
        let text = |v: &mut Violations, pointer: &str, value: Option<&str>, max: usize| {
            if value.is_some_and(|s| s.chars().count() > max || s.chars().any(char::is_control)) {
                v.push(pointer, "invalid_text", format!("at most {max} characters, no control characters"));
            }
        };
        text(v, "/first_name", self.first_name.as_deref(), 100);
        text(v, "/last_name", self.last_name.as_deref(), 100);
        text(v, "/phone", self.phone.as_ref().and_then(|p| p.as_deref()), 40);
    }
}

/// The list filter of `GET /management/customers`: text in the email or name.
#[derive(Debug, Clone, Default)]
pub struct CustomerQuery {
    pub q: Option<String>,
    pub limit: i64,
    pub cursor: Option<Cursor>,
}

/// The ordering a customer-list cursor is bound to.
pub const LIST_ORDERING: &str = "customers:created_at";

pub async fn get(pool: &sqlx::PgPool, tenant: &Tenant, id: Uuid) -> Result<Customer, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let customer = fetch(&mut tx, id).await?;
    tx.commit().await?;
    Ok(customer)
}

pub(crate) async fn fetch(tx: &mut TenantTx, id: Uuid) -> Result<Customer, DomainError> {
    sqlx::query_as::<_, Customer>(&format!("{SELECT} where c.id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(DomainError::NotFound { resource: "customer" })
}

/// A page of the shop's customers, oldest first, optionally those whose email or name
/// contains `q`.
pub async fn list(
    pool: &sqlx::PgPool,
    tenant: &Tenant,
    query: &CustomerQuery,
) -> Result<Page<Customer>, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let pattern = query
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(|q| format!("%{}%", q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));
    let after = query.cursor.as_ref().map(|c| (c.key.clone().unwrap_or_default(), c.id));
    let rows = sqlx::query_as::<_, Customer>(&format!(
        "{SELECT} where c.tenant_id = $1
           and ($2::text is null or c.email ilike $2 or (c.first_name || ' ' || c.last_name) ilike $2)
           and ($3::timestamptz is null or (c.created_at, c.id) > ($3, $4))
         order by c.created_at, c.id limit $5"
    ))
    .bind(tenant.id)
    .bind(pattern)
    .bind(after.as_ref().and_then(|(key, _)| key.parse::<DateTime<Utc>>().ok()))
    .bind(after.as_ref().map(|(_, id)| *id))
    .bind(query.limit + 1)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Page::from_rows(rows, query.limit, |c| {
        Cursor::new(LIST_ORDERING, tenant.id, Some(c.created_at.to_rfc3339()), c.id)
    }))
}

/// The customer changes their own profile; with `expected_version`, only if it is still at
/// that version (else 412).
pub async fn update_profile(
    pool: &sqlx::PgPool,
    tenant: &Tenant,
    id: Uuid,
    expected_version: Option<i64>,
    patch: &ProfilePatch,
) -> Result<Customer, DomainError> {
    let mut v = Violations::default();
    patch.check(&mut v);
    if !v.is_empty() {
        return Err(DomainError::Validation(v));
    }
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    apply_profile(&mut tx, id, expected_version, patch).await?;
    finish_update(tx, tenant, id).await
}

/// Staff change a customer: profile and group membership; with `expected_version`, only if
/// the customer is still at that version (else 412).
pub async fn update(
    pool: &sqlx::PgPool,
    tenant: &Tenant,
    id: Uuid,
    expected_version: Option<i64>,
    patch: &CustomerPatch,
) -> Result<Customer, DomainError> {
    let mut v = Violations::default();
    patch.profile().check(&mut v);
    if patch.customer_group_ids.as_ref().is_some_and(|ids| ids.len() > 20) {
        v.push("/customer_group_ids", "too_many_groups", "at most 20 customer groups");
    }
    if !v.is_empty() {
        return Err(DomainError::Validation(v));
    }
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    apply_profile(&mut tx, id, expected_version, &patch.profile()).await?;
    if let Some(ids) = &patch.customer_group_ids {
        let mut ids = ids.clone();
        ids.sort_unstable();
        ids.dedup();
        let known: Vec<Uuid> = sqlx::query_scalar("select id from customer_groups where id = any($1)")
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?;
        for (i, id) in patch.customer_group_ids.iter().flatten().enumerate() {
            if !known.contains(id) {
                v.push(
                    format!("/customer_group_ids/{i}"),
                    "unknown_customer_group",
                    "no such customer group",
                );
            }
        }
        if !v.is_empty() {
            return Err(DomainError::Validation(v));
        }
        sqlx::query(
            "delete from customer_group_members where customer_id = $1 and customer_group_id <> all($2)",
        )
        .bind(id)
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
        add_to_groups(&mut tx, tenant, id, &ids).await?;
    }
    finish_update(tx, tenant, id).await
}

/// Blocks or unblocks a customer. Blocking revokes every session; the ids of the revoked
/// sessions are returned so the caller can end their access tokens at once.
pub async fn set_blocked(
    pool: &sqlx::PgPool,
    tenant: &Tenant,
    id: Uuid,
    blocked: bool,
) -> Result<(Customer, Vec<Uuid>), DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let changed = sqlx::query(
        "update customers set blocked_at = case when $2 then coalesce(blocked_at, now()) end,
                version = version + 1
          where id = $1",
    )
    .bind(id)
    .bind(blocked)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(DomainError::NotFound { resource: "customer" });
    }
    let revoked = if blocked { accounts::revoke_all(&mut tx, id, "blocked").await? } else { Vec::new() };
    let customer = finish_update(tx, tenant, id).await?;
    Ok((customer, revoked))
}

/// Makes customer `id` a member of `groups` (those it is in already stay as they are).
pub(crate) async fn add_to_groups(
    tx: &mut TenantTx,
    tenant: &Tenant,
    id: Uuid,
    groups: &[Uuid],
) -> Result<(), DomainError> {
    sqlx::query(
        "insert into customer_group_members (tenant_id, customer_id, customer_group_id)
         select $1, $2, unnest($3::uuid[]) on conflict do nothing",
    )
    .bind(tenant.id)
    .bind(id)
    .bind(groups)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Applies the profile's changes and counts a new version, if the customer is at
/// `expected_version` (any version when `None`).
async fn apply_profile(
    tx: &mut TenantTx,
    id: Uuid,
    expected_version: Option<i64>,
    patch: &ProfilePatch,
) -> Result<(), DomainError> {
    let changed = sqlx::query(
        "update customers set first_name = coalesce($2, first_name), last_name = coalesce($3, last_name),
                phone = case when $4 then $5 else phone end, version = version + 1
          where id = $1 and ($6::bigint is null or version = $6)",
    )
    .bind(id)
    .bind(patch.first_name.as_deref().map(str::trim))
    .bind(patch.last_name.as_deref().map(str::trim))
    .bind(patch.phone.is_some())
    .bind(patch.phone.clone().flatten())
    .bind(expected_version)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(stale_or_missing(tx, "customers", "customer", id).await);
    }
    Ok(())
}

/// Reads the changed customer, appends `customer.updated` and commits.
async fn finish_update(mut tx: TenantTx, tenant: &Tenant, id: Uuid) -> Result<Customer, DomainError> {
    let customer = fetch(&mut tx, id).await?;
    outbox::append(
        &mut tx,
        tenant.id,
        Event {
            event_type: "customer.updated",
            aggregate_type: "customer",
            aggregate_id: id,
            data: &customer,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(customer)
}
