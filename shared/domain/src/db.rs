//! Database access: the embedded migrator and the tenant transaction every repository
//! function runs in.

use sqlx::{PgPool, Postgres, Transaction};

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
