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
    let domain = Hostname::parse(DEMO_DOMAIN).map_err(|v| {
        let mut violations = kassa_domain::Violations::default();
        violations.push("/domain", v.code, v.message);
        DomainError::Validation(violations)
    })?;
    tenant::add_domain(pool, tenant.id, &domain).await?;
    Ok(tenant)
}
