//! Database access: the embedded migrator and the tenant transaction every repository
//! function runs in.

use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use uuid::Uuid;

use crate::error::DomainError;
use crate::tenant::TenantId;

mod read;
pub use read::{Element, Literal, NulInText, ReadQuery, TenantRead, begin_read};

/// The migrations in `migrations/` at the workspace root, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// A transaction scoped to one tenant: switched to `kassa_app` with `app.tenant_id` set.
/// Only [`begin_tenant_tx`] makes one, so code that needs tenant scoping cannot be handed
/// any other transaction. It derefs to the connection: `&mut *tx` is an executor.
pub struct TenantTx {
    inner: Transaction<'static, Postgres>,
    tenant: TenantId,
}

/// How Postgres plans a [`TenantRead`]'s statements (`plan_cache_mode`, for the statement's
/// message only). Kassa's statements are prepared once per connection and reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plans {
    /// Postgres's default (`auto`): planned again for the values of each execution, for as
    /// long as that looks cheaper. For statements whose best plan depends on the values:
    /// a collection's members, a search, filters, facets.
    ForValues,
    /// One generic plan per statement and connection, reused by every execution
    /// (`force_generic_plan`): no planning per request, which is half of what a storefront
    /// list or product page costs Postgres (planning 0.15–0.3 ms against 0.03–0.35 ms of
    /// execution). Only for statements whose plan is the same whatever the values: a walk
    /// of one of the shop's sort indexes, a lookup by handle or id. Row-level security is
    /// unaffected: the policies read the tenant when the plan runs, not when it is made.
    Generic,
}

impl Plans {
    fn setting(self) -> &'static str {
        match self {
            Plans::ForValues => "auto",
            Plans::Generic => "force_generic_plan",
        }
    }
}

impl TenantTx {
    /// The tenant this transaction sees.
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.inner.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.inner.rollback().await
    }

    /// A savepoint inside this tenant's transaction (same role, same tenant).
    pub async fn savepoint(&mut self) -> Result<Transaction<'_, Postgres>, sqlx::Error> {
        use sqlx::Acquire;
        (&mut *self.inner).begin().await
    }
}

impl std::ops::Deref for TenantTx {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        &self.inner
    }
}

impl std::ops::DerefMut for TenantTx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.inner
    }
}

/// A transaction of the relay's narrow role (`kassa_relay`): it may read the outbox of
/// every tenant and mark events published, and read due workflow-run ids — nothing else.
/// Only [`begin_relay_tx`] makes one.
pub struct RelayTx {
    inner: Transaction<'static, Postgres>,
}

impl RelayTx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.inner.commit().await
    }
}

impl std::ops::Deref for RelayTx {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        &self.inner
    }
}

impl std::ops::DerefMut for RelayTx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.inner
    }
}

/// Starts a transaction as `kassa_relay` (for this transaction only).
/// `begin` and the role in one message, as for tenant transactions.
pub async fn begin_relay_tx(pool: &PgPool) -> Result<RelayTx, sqlx::Error> {
    let inner = pool.begin_with("begin; select set_config('role', 'kassa_relay', true)").await?;
    Ok(RelayTx { inner })
}

/// Starts a transaction that can only see and write `tenant`'s rows.
///
/// It switches to the `kassa_app` role (no BYPASSRLS, subject to the forced row-level
/// security on every tenant table) and sets `app.tenant_id`, both for this transaction
/// only. A query that forgets its tenant filter therefore still sees nothing of other
/// tenants, even when the pool connects as a superuser. Both settings end with the
/// transaction, so the pooled connection comes back clean.
///
/// `begin` and the tenant scope go in one message, so one round trip: `set_config(…, true)` is
/// `set local` (the settings end with the transaction). The tenant id is a UUID formatted
/// here (hex digits and dashes), never caller text. Reads that need no transaction of their
/// own go through [`begin_read`] instead: one round trip per statement.
pub async fn begin_tenant_tx(pool: &PgPool, tenant: TenantId) -> Result<TenantTx, sqlx::Error> {
    let statement = format!(
        "begin; select set_config('role', 'kassa_app', true), set_config('app.tenant_id', '{}', true)",
        tenant.as_uuid().hyphenated()
    );
    let inner = pool.begin_with(statement).await?;
    Ok(TenantTx { inner, tenant })
}

/// The login role the platform serves as (created by the migrations).
pub const SERVICE_ROLE: &str = "kassa_service";

/// Applies [`MIGRATOR`] on `owner` (a pool logged in as the database owner) and, given
/// `service_password`, makes it the password of the [`SERVICE_ROLE`] login, so that the
/// serving DATABASE_URL can log in; returns how many migrations the database now has.
/// `kassa migrate` and the migrations function both migrate through here.
pub async fn migrate(owner: &PgPool, service_password: Option<&str>) -> Result<usize, sqlx::Error> {
    MIGRATOR.run(owner).await?;
    if let Some(password) = service_password {
        // ALTER ROLE takes no parameters; a quoted literal (standard strings) is safe.
        let sql = format!("alter role {SERVICE_ROLE} with password '{}'", password.replace('\'', "''"));
        sqlx::query(&sql).execute(owner).await?;
    }
    let applied: i64 =
        sqlx::query_scalar("select count(*) from _sqlx_migrations where success").fetch_one(owner).await?;
    Ok(usize::try_from(applied).unwrap_or_default())
}

/// Refuses a serving connection that could step around row-level security: a superuser, a
/// role with BYPASSRLS, or one that owns tables (owners are exempt unless RLS is forced,
/// and could turn it off).
pub async fn check_service_login(pool: &PgPool) -> Result<(), DomainError> {
    let (user, superuser, bypass, owned): (String, bool, bool, i64) = sqlx::query_as(
        "select current_user::text, r.rolsuper, r.rolbypassrls,
                (select count(*) from pg_class c where c.relowner = r.oid and c.relkind in ('r', 'p'))
         from pg_roles r where r.rolname = current_user",
    )
    .fetch_one(pool)
    .await?;
    if superuser || bypass || owned > 0 {
        return Err(DomainError::Unexpected(format!(
            "the database login '{user}' is a superuser, bypasses row-level security or owns tables; serve as {SERVICE_ROLE}"
        )));
    }
    Ok(())
}

/// The row of a product's variants or images that `sql` reads or deletes by `tenant_id = $1
/// and product_id = $2 and id = $3`; a 404 naming `resource` when there is none.
pub(crate) async fn product_child<R>(
    tx: &mut TenantTx,
    sql: &str,
    (product, id): (Uuid, Uuid),
    resource: &'static str,
) -> Result<R, DomainError>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    sqlx::query_as(sql)
        .bind(tx.tenant())
        .bind(product)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(DomainError::NotFound { resource })
}

/// After a guarded update matched nothing: the row is gone (404) or at another version (412).
pub async fn stale_or_missing(
    tx: &mut TenantTx,
    table: &str,
    resource: &'static str,
    id: Uuid,
) -> DomainError {
    let current: Result<Option<i64>, sqlx::Error> =
        sqlx::query_scalar(&format!("select version from {table} where id = $1"))
            .bind(id)
            .fetch_optional(&mut **tx)
            .await;
    match current {
        Ok(Some(current)) => DomainError::Stale { resource, current },
        Ok(None) => DomainError::NotFound { resource },
        Err(err) => err.into(),
    }
}
