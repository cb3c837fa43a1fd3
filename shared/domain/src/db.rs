//! Database access: the embedded migrator and the tenant transaction every repository
//! function runs in.

use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use uuid::Uuid;

use crate::error::DomainError;
use crate::tenant::TenantId;

/// The migrations in `migrations/` at the workspace root, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// A transaction scoped to one tenant: switched to `kassa_app` with `app.tenant_id` set.
/// Only [`begin_tenant_tx`] makes one, so code that needs tenant scoping cannot be handed
/// any other transaction. It derefs to the connection: `&mut *tx` is an executor.
pub struct TenantTx {
    inner: Transaction<'static, Postgres>,
    tenant: TenantId,
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

    /// Ends a read ([`begin_tenant_read`]) without a round trip of its own: the rollback is
    /// queued on the connection and sent with the pool's check when the connection goes back
    /// (after the answer has left).
    pub fn end_read(self) {
        drop(self.inner);
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
pub async fn begin_tenant_tx(pool: &PgPool, tenant: TenantId) -> Result<TenantTx, sqlx::Error> {
    begin_scoped(pool, tenant, "begin").await
}

/// [`begin_tenant_tx`] for reads only (`begin read only`); end it with
/// [`TenantTx::end_read`].
pub async fn begin_tenant_read(pool: &PgPool, tenant: TenantId) -> Result<TenantTx, sqlx::Error> {
    begin_scoped(pool, tenant, "begin read only").await
}

/// `begin` and the tenant scope in one message, so one round trip: `set_config(…, true)` is
/// `set local` (both settings end with the transaction). The tenant id is a UUID formatted
/// here (hex digits and dashes), never caller text.
async fn begin_scoped(pool: &PgPool, tenant: TenantId, begin: &str) -> Result<TenantTx, sqlx::Error> {
    let statement = format!(
        "{begin}; select set_config('role', 'kassa_app', true), set_config('app.tenant_id', '{}', true)",
        tenant.as_uuid().hyphenated()
    );
    let inner = pool.begin_with(statement).await?;
    Ok(TenantTx { inner, tenant })
}

/// The login role the platform serves as (created by the migrations).
pub const SERVICE_ROLE: &str = "kassa_service";

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
