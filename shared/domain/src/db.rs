//! Database access: the embedded migrator and the tenant transaction every repository
//! function runs in.

use sqlx::{PgPool, Postgres, Transaction};

use uuid::Uuid;

use crate::error::DomainError;
use crate::tenant::TenantId;

/// The migrations in `migrations/` at the workspace root, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// A transaction scoped to one tenant.
pub type TenantTx = Transaction<'static, Postgres>;

/// Starts a transaction that can only see and write `tenant`'s rows.
///
/// It switches to the `kassa_app` role (no BYPASSRLS, subject to the forced row-level
/// security on every tenant table) and sets `app.tenant_id`, both for this transaction
/// only. A query that forgets its tenant filter therefore still sees nothing of other
/// tenants, even when the pool connects as a superuser. Both settings end with the
/// transaction, so the pooled connection comes back clean.
pub async fn begin_tenant_tx(pool: &PgPool, tenant: TenantId) -> Result<TenantTx, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // `set_config(…, true)` is `set local`: both end with the transaction.
    sqlx::query("select set_config('role', 'kassa_app', true), set_config('app.tenant_id', $1, true)")
        .bind(tenant.as_uuid().to_string())
        .execute(&mut *tx)
        .await?;
    Ok(tx)
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
