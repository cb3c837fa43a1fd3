//! What the plain resources (customer groups, subscription plans, price lists, tax rates,
//! workflows) share: read one, list a keyset page by creation, delete, and record each write
//! in the outbox. Each resource writes its own insert and update, with their SQL, in its
//! [`Editable`] impl; `kassa_http::crud` serves all five routes from these.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use crate::db::{TenantTx, begin_tenant_tx};
use crate::error::{Constraint, DomainError};
use crate::outbox::{self, Event};
use crate::pagination::{Cursor, Page, time_key};
use crate::tenant::Tenant;

pub trait Resource: for<'r> FromRow<'r, PgRow> + Serialize + Send + Sync + Unpin {
    /// For messages and documentation: "customer group".
    const NAME: &'static str;
    /// [`Resource::NAME`] in the plural, for lists: "customer groups".
    const PLURAL: &'static str;
    /// For events: `customer_group` → `customer_group.created`.
    const AGGREGATE: &'static str;
    const TABLE: &'static str;
    /// The select list that builds `Self`.
    const COLUMNS: &'static str;
    /// How the resource's constraints surface (uniqueness, references, rows in use).
    const CONSTRAINTS: &'static [Constraint];

    fn id(&self) -> Uuid;
    fn created_at(&self) -> DateTime<Utc>;

    /// Replaces the secrets in the row's JSON (what clients and events see); most resources
    /// hold none.
    fn redact(_json: &mut serde_json::Value) {}
}

/// The row's JSON as clients and events see it.
pub fn public_json<R: Resource>(row: &R) -> serde_json::Value {
    // Serializing these plain rows cannot fail.
    let mut json = serde_json::to_value(row).unwrap_or_default();
    R::redact(&mut json);
    json
}

/// A resource clients write through a draft of its writable fields. `create` and `update`
/// are the resource's only write functions. By default they run the statements
/// [`insert_sql`] and [`update_sql`] build from the table and [`Editable::WRITES`], with the
/// values [`Editable::bind_draft`] checks and binds, and finish with [`created`] /
/// [`updated`] (event and commit); a resource whose update must read the row first
/// (workflows keep their webhook secrets) writes its own.
pub trait Editable: Resource {
    type Draft: Serialize + serde::de::DeserializeOwned + for<'a> From<&'a Self> + Send + Sync;

    /// The columns a draft writes, in the order [`Editable::bind_draft`] binds their values.
    const WRITES: &'static [&'static str];

    /// Checks the draft (every violation at once) and binds the values of
    /// [`Editable::WRITES`], in that order, after the ones the statement already has.
    fn bind_draft<'q>(
        draft: &'q Self::Draft,
        query: WriteQuery<'q, Self>,
    ) -> Result<WriteQuery<'q, Self>, DomainError>;

    /// What a draft must satisfy in `tenant` beyond its own fields (e.g. texts in the shop's
    /// locales), checked by `create` and `update` before anything is written.
    fn check_in(_draft: &Self::Draft, _tenant: &Tenant) -> Result<(), DomainError> {
        Ok(())
    }

    fn create(
        pool: &PgPool,
        tenant: &Tenant,
        draft: &Self::Draft,
    ) -> impl Future<Output = Result<Self, DomainError>> + Send {
        async move {
            Self::check_in(draft, tenant)?;
            let sql = insert_sql::<Self>();
            let query = Self::bind_draft(draft, sqlx::query_as(&sql).bind(Uuid::now_v7()).bind(tenant.id))?;
            insert(pool, tenant, query).await
        }
    }

    /// Replaces the writable fields if the row is still at `expected_version`.
    fn update(
        pool: &PgPool,
        tenant: &Tenant,
        id: Uuid,
        expected_version: i64,
        draft: &Self::Draft,
    ) -> impl Future<Output = Result<Self, DomainError>> + Send {
        async move {
            Self::check_in(draft, tenant)?;
            let sql = update_sql::<Self>();
            let query = Self::bind_draft(draft, guarded(&sql, tenant, id, expected_version))?;
            update(pool, tenant, id, query).await
        }
    }

    fn version(&self) -> i64;

    /// Whether the storefront shows what this resource holds (prices of a price list, a
    /// customer group's handle): a write must then invalidate the storefront's cache.
    const SHOWN_IN_STOREFRONT: bool = false;
}

/// `insert into <table> (id, tenant_id, <WRITES>) values ($1, $2, …) returning <COLUMNS>`:
/// bind the new id and the tenant, then [`Editable::bind_draft`].
pub fn insert_sql<R: Editable>() -> String {
    let values: Vec<String> = (1..=R::WRITES.len() + 2).map(|n| format!("${n}")).collect();
    format!(
        "insert into {} (id, tenant_id, {}) values ({}) returning {}",
        R::TABLE,
        R::WRITES.join(", "),
        values.join(", "),
        R::COLUMNS
    )
}

/// `update <table> set <WRITES> = $4, …, version = version + 1 where tenant_id = $1 and
/// id = $2 and version = $3 returning <COLUMNS>`: start from [`guarded`], then
/// [`Editable::bind_draft`].
pub fn update_sql<R: Editable>() -> String {
    let set: Vec<String> = R::WRITES.iter().zip(4..).map(|(column, n)| format!("{column} = ${n}")).collect();
    format!(
        "update {} set {}, version = version + 1 where tenant_id = $1 and id = $2 and version = $3 \
         returning {}",
        R::TABLE,
        set.join(", "),
        R::COLUMNS
    )
}

/// [`update_sql`] with its guard bound: the tenant, the row's id and the expected version.
pub fn guarded<'q, R: Editable>(
    sql: &'q str,
    tenant: &Tenant,
    id: Uuid,
    expected_version: i64,
) -> WriteQuery<'q, R> {
    sqlx::query_as(sql).bind(tenant.id).bind(id).bind(expected_version)
}

pub async fn get<R: Resource>(pool: &PgPool, tenant: &Tenant, id: Uuid) -> Result<R, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let row = get_in::<R>(&mut tx, tenant, id).await?;
    tx.commit().await?;
    Ok(row)
}

/// [`get`] inside a transaction (which sees the transaction's own writes).
pub async fn get_in<R: Resource>(tx: &mut TenantTx, tenant: &Tenant, id: Uuid) -> Result<R, DomainError> {
    sqlx::query_as::<_, R>(&format!(
        "select {} from {} where tenant_id = $1 and id = $2",
        R::COLUMNS,
        R::TABLE
    ))
    .bind(tenant.id)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(DomainError::NotFound { resource: R::NAME })
}

/// The row whose `column` (a column of `R`'s table, named in code) equals `value`.
pub async fn find<R: Resource>(
    pool: &PgPool,
    tenant: &Tenant,
    column: &'static str,
    value: &str,
) -> Result<Option<R>, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let row = sqlx::query_as::<_, R>(&format!(
        "select {} from {} where tenant_id = $1 and {column} = $2",
        R::COLUMNS,
        R::TABLE
    ))
    .bind(tenant.id)
    .bind(value)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// A page in creation order (oldest first).
pub async fn list<R: Resource>(
    pool: &PgPool,
    tenant: &Tenant,
    limit: i64,
    cursor: Option<&Cursor>,
) -> Result<Page<R>, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let rows = sqlx::query_as::<_, R>(&format!(
        "select {} from {} where tenant_id = $1
           and ($2::timestamptz is null or (created_at, id) > ($2::timestamptz, $3))
         order by created_at, id limit $4",
        R::COLUMNS,
        R::TABLE
    ))
    .bind(tenant.id)
    .bind(cursor.and_then(|c| c.key.clone()))
    .bind(cursor.map(|c| c.id))
    .bind(limit + 1)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let ordering = list_ordering::<R>();
    Ok(Page::from_rows(rows, limit, |row| {
        Cursor::new(ordering.clone(), tenant.id, Some(time_key(&row.created_at())), row.id())
    }))
}

/// The ordering cursors of [`list`] belong to (one per resource: a cursor of one list is
/// refused by another).
pub fn list_ordering<R: Resource>() -> String {
    format!("{}:created_at:asc", R::TABLE)
}

pub async fn delete<R: Resource>(pool: &PgPool, tenant: &Tenant, id: Uuid) -> Result<(), DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let row = sqlx::query_as::<_, R>(&format!(
        "delete from {} where tenant_id = $1 and id = $2 returning {}",
        R::TABLE,
        R::COLUMNS
    ))
    .bind(tenant.id)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(|e| DomainError::from_constraint(e, R::CONSTRAINTS))?
    .ok_or(DomainError::NotFound { resource: R::NAME })?;
    recorded(&mut tx, tenant, "deleted", &row).await?;
    tx.commit().await?;
    Ok(())
}

/// Appends `<aggregate>.<what>` with the row as its data.
pub async fn recorded<R: Resource>(
    tx: &mut TenantTx,
    tenant: &Tenant,
    what: &str,
    row: &R,
) -> Result<(), DomainError> {
    let event_type = format!("{}.{what}", R::AGGREGATE);
    let data = public_json(row);
    let event =
        Event { event_type: &event_type, aggregate_type: R::AGGREGATE, aggregate_id: row.id(), data: &data };
    outbox::append(tx, tenant.id, event).await
}

/// Finishes a guarded update: records it, or tells why nothing matched (404 or 412).
pub async fn updated<R: Resource>(
    mut tx: TenantTx,
    tenant: &Tenant,
    id: Uuid,
    row: Option<R>,
) -> Result<R, DomainError> {
    let Some(row) = row else {
        return Err(crate::db::stale_or_missing(&mut tx, R::TABLE, R::NAME, id).await);
    };
    recorded(&mut tx, tenant, "updated", &row).await?;
    tx.commit().await?;
    Ok(row)
}

/// A resource's insert or guarded update, with its arguments bound (`… returning COLUMNS`).
pub type WriteQuery<'q, R> = sqlx::query::QueryAs<'q, sqlx::Postgres, R, sqlx::postgres::PgArguments>;

/// Runs a resource's insert in a tenant transaction: its constraints become client errors,
/// the `<aggregate>.created` event is recorded, and it commits.
pub async fn insert<R: Resource>(
    pool: &PgPool,
    tenant: &Tenant,
    query: WriteQuery<'_, R>,
) -> Result<R, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let row = query.fetch_one(&mut *tx).await.map_err(|e| DomainError::from_constraint(e, R::CONSTRAINTS))?;
    created(tx, tenant, row).await
}

/// Runs a resource's guarded update (`… where id = … and version = …`) in a tenant
/// transaction: no row matched is a 404 or 412, otherwise `<aggregate>.updated` and commit.
pub async fn update<R: Resource>(
    pool: &PgPool,
    tenant: &Tenant,
    id: Uuid,
    query: WriteQuery<'_, R>,
) -> Result<R, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let row =
        query.fetch_optional(&mut *tx).await.map_err(|e| DomainError::from_constraint(e, R::CONSTRAINTS))?;
    updated(tx, tenant, id, row).await
}

/// Finishes an insert: records it and commits.
pub async fn created<R: Resource>(mut tx: TenantTx, tenant: &Tenant, row: R) -> Result<R, DomainError> {
    recorded(&mut tx, tenant, "created", &row).await?;
    tx.commit().await?;
    Ok(row)
}
