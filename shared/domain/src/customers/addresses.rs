//! A customer's address book: at most [`MAX_ADDRESSES`] postal addresses, used to fill a
//! cart's shipping and billing address.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use crate::db::begin_tenant_tx;
use crate::error::{DomainError, Violations};
use crate::tenant::Tenant;
use crate::types::Country;

pub const MAX_ADDRESSES: i64 = 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromRow, utoipa::ToSchema)]
pub struct Address {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub company: Option<String>,
    pub line1: String,
    pub line2: Option<String>,
    pub postal_code: String,
    pub city: String,
    pub region: Option<String>,
    pub country: String,
    pub phone: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A postal address as a shopper sends it: an address-book entry, a cart's shipping and
/// billing address (one type for both, so an address moves between them unchanged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostalAddress {
    #[schema(schema_with = crate::schemas::person_name)]
    pub first_name: String,
    #[schema(schema_with = crate::schemas::person_name)]
    pub last_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = crate::schemas::address_line)]
    pub company: Option<String>,
    #[schema(schema_with = crate::schemas::address_line)]
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = crate::schemas::address_line)]
    pub line2: Option<String>,
    #[schema(schema_with = crate::schemas::postal_code)]
    pub postal_code: String,
    #[schema(schema_with = crate::schemas::person_name)]
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = crate::schemas::person_name)]
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2, upper case.
    #[schema(schema_with = crate::schemas::country)]
    pub country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = crate::schemas::phone)]
    pub phone: Option<String>,
}

impl PostalAddress {
    /// Every violation, with pointers under `prefix` (e.g. `/shipping_address`).
    pub fn check(&self, prefix: &str, v: &mut Violations) {
        let mut text = |field: &str, value: Option<&str>, min: usize, max: usize| {
            let Some(value) = value else { return };
            let n = value.trim().chars().count();
            if n < min || n > max || value.chars().any(char::is_control) {
                let message = format!("{min}–{max} characters, no control characters");
                v.push(format!("{prefix}/{field}"), "invalid_text", message);
            }
        };
        text("first_name", Some(&self.first_name), 1, 100);
        text("last_name", Some(&self.last_name), 1, 100);
        text("company", self.company.as_deref(), 0, 200);
        text("line1", Some(&self.line1), 1, 200);
        text("line2", self.line2.as_deref(), 0, 200);
        text("postal_code", Some(&self.postal_code), 1, 20);
        text("city", Some(&self.city), 1, 100);
        text("region", self.region.as_deref(), 0, 100);
        text("phone", self.phone.as_deref(), 0, 40);
        v.check(&format!("{prefix}/country"), Country::parse(&self.country));
    }

    fn validated(&self) -> Result<(), DomainError> {
        let mut v = Violations::default();
        self.check("", &mut v);
        if v.is_empty() { Ok(()) } else { Err(DomainError::Validation(v)) }
    }
}

const COLUMNS: &str =
    "id, first_name, last_name, company, line1, line2, postal_code, city, region, country, phone,
                       created_at, updated_at";

type AddressQuery<'q> = sqlx::query::QueryAs<'q, sqlx::Postgres, Address, sqlx::postgres::PgArguments>;

/// Binds an address's ten fields, in [`PostalAddress`] order, after what `query` bound.
fn bind_fields<'q>(query: AddressQuery<'q>, draft: &'q PostalAddress) -> AddressQuery<'q> {
    query
        .bind(draft.first_name.trim())
        .bind(draft.last_name.trim())
        .bind(draft.company.as_deref())
        .bind(draft.line1.trim())
        .bind(draft.line2.as_deref())
        .bind(draft.postal_code.trim())
        .bind(draft.city.trim())
        .bind(draft.region.as_deref())
        .bind(&draft.country)
        .bind(draft.phone.as_deref())
}

pub async fn list(pool: &PgPool, tenant: &Tenant, customer_id: Uuid) -> Result<Vec<Address>, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let rows = sqlx::query_as(&format!(
        "select {COLUMNS} from customer_addresses where customer_id = $1 order by created_at, id"
    ))
    .bind(customer_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows)
}

pub async fn add(
    pool: &PgPool,
    tenant: &Tenant,
    customer_id: Uuid,
    draft: &PostalAddress,
) -> Result<Address, DomainError> {
    draft.validated()?;
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    // Serialises concurrent additions of one customer, so the cap holds.
    sqlx::query("select 1 from customers where id = $1 for update")
        .bind(customer_id)
        .execute(&mut *tx)
        .await?;
    let count: i64 = sqlx::query_scalar("select count(*) from customer_addresses where customer_id = $1")
        .bind(customer_id)
        .fetch_one(&mut *tx)
        .await?;
    if count >= MAX_ADDRESSES {
        return Err(DomainError::InvalidState {
            code: crate::ErrorCode::TooManyAddresses,
            message: format!("an address book holds at most {MAX_ADDRESSES} addresses"),
        });
    }
    let sql = format!(
        "insert into customer_addresses (id, tenant_id, customer_id, first_name, last_name, company, line1, line2,
                                         postal_code, city, region, country, phone)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) returning {COLUMNS}"
    );
    let insert = sqlx::query_as(&sql).bind(Uuid::now_v7()).bind(tenant.id).bind(customer_id);
    let address = bind_fields(insert, draft).fetch_one(&mut *tx).await?;
    tx.commit().await?;
    Ok(address)
}

/// Replaces an address of `customer_id` (another customer's id answers 404).
pub async fn replace(
    pool: &PgPool,
    tenant: &Tenant,
    customer_id: Uuid,
    id: Uuid,
    draft: &PostalAddress,
) -> Result<Address, DomainError> {
    draft.validated()?;
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let sql = format!(
        "update customer_addresses set first_name = $3, last_name = $4, company = $5, line1 = $6, line2 = $7,
                postal_code = $8, city = $9, region = $10, country = $11, phone = $12
          where id = $1 and customer_id = $2 returning {COLUMNS}"
    );
    let update = sqlx::query_as(&sql).bind(id).bind(customer_id);
    let address = bind_fields(update, draft)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(DomainError::NotFound { resource: "address" })?;
    tx.commit().await?;
    Ok(address)
}

pub async fn remove(pool: &PgPool, tenant: &Tenant, customer_id: Uuid, id: Uuid) -> Result<(), DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let removed = sqlx::query("delete from customer_addresses where id = $1 and customer_id = $2")
        .bind(id)
        .bind(customer_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if removed == 0 {
        return Err(DomainError::NotFound { resource: "address" });
    }
    tx.commit().await?;
    Ok(())
}
