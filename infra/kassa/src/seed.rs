//! Demo data for `make dev`. Idempotent: running it again changes nothing.

use kassa_domain::DomainError;
use kassa_domain::tenant::{self, Hostname, NewTenant, Tenant, TenantKey};
use sqlx::PgPool;

pub const DEMO_HANDLE: &str = "demo";
pub const DEMO_DOMAIN: &str = "demo.localhost";

/// The `demo` tenant: locales `en` (default) and `nl`, currency EUR, on `demo.localhost`.
pub async fn seed_demo(pool: &PgPool) -> Result<Tenant, DomainError> {
    let key = TenantKey::Handle(DEMO_HANDLE.to_owned());
    let tenant = match tenant::resolve(pool, &key).await? {
        Some(tenant) => tenant,
        None => {
            let new = NewTenant::parse(DEMO_HANDLE, "Demo Shop", "en", &["nl".to_owned()], "EUR", &[])?;
            tenant::create(pool, &new).await?
        }
    };
    tenant::add_domain(pool, tenant.id, &Hostname::parse(DEMO_DOMAIN)?).await?;
    Ok(tenant)
}
