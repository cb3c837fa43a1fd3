//! Demo data for `make dev`: two shops whose staff sign in at the Zitadel stand-in
//! (`infra/zitadel-standin/seed.json` holds the same organisation ids). Idempotent: running
//! it again changes nothing.

use kassa_domain::DomainError;
use kassa_domain::db::begin_tenant_tx;
use kassa_domain::tenant::{self, Hostname, NewTenant, Tenant, TenantDraft, TenantKey, ZitadelOrgId};
use kassa_domain::workflows::add_default_workflows;
use sqlx::PgPool;

pub struct DemoShop {
    pub handle: &'static str,
    pub name: &'static str,
    pub domain: &'static str,
    pub zitadel_org_id: &'static str,
}

/// `demo` is the shop to play with; `other` exists to show that staff of one shop cannot
/// reach the other.
pub const DEMO_SHOPS: [DemoShop; 2] = [
    DemoShop {
        handle: "demo",
        name: "Demo Shop",
        domain: "demo.localhost",
        zitadel_org_id: "310000000000000002",
    },
    DemoShop {
        handle: "other",
        name: "Other Shop",
        domain: "other.localhost",
        zitadel_org_id: "310000000000000003",
    },
];

/// EU VAT rates in basis points (2026): standard and reduced, for the countries the demo
/// ships to.
pub const DEMO_TAX_RATES: [(&str, &str, i32); 8] = [
    ("NL", "standard", 2100),
    ("NL", "reduced", 900),
    ("DE", "standard", 1900),
    ("DE", "reduced", 700),
    ("BE", "standard", 2100),
    ("BE", "reduced", 600),
    ("FR", "standard", 2000),
    ("FR", "reduced", 550),
];

/// Creates (or completes) every demo shop: locales `en` (default) and `nl`, currency EUR,
/// the EU tax rates, the default workflows, and the `demo` shop's catalog.
pub async fn seed_demo(pool: &PgPool) -> Result<Vec<Tenant>, DomainError> {
    let mut tenants = Vec::with_capacity(DEMO_SHOPS.len());
    for shop in &DEMO_SHOPS {
        let tenant = ensure_shop(pool, shop).await?;
        ensure_taxes_and_workflows(pool, &tenant).await?;
        tenants.push(tenant);
    }
    if let Some(demo) = tenants.first() {
        crate::catalog_seed::seed_catalog(pool, demo).await?;
    }
    Ok(tenants)
}

/// Shop set-up like a new tenant's own: no events.
async fn ensure_taxes_and_workflows(pool: &PgPool, tenant: &Tenant) -> Result<(), DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    for (country, tax_class, rate_bp) in DEMO_TAX_RATES {
        sqlx::query(
            "insert into tax_rates (id, tenant_id, country, tax_class, rate_bp) values ($1, $2, $3, $4, $5)
             on conflict (tenant_id, country, tax_class) do nothing",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(tenant.id)
        .bind(country)
        .bind(tax_class)
        .bind(rate_bp)
        .execute(&mut *tx)
        .await?;
    }
    add_default_workflows(&mut tx, tenant.id).await?;
    tx.commit().await?;
    Ok(())
}

async fn ensure_shop(pool: &PgPool, shop: &DemoShop) -> Result<Tenant, DomainError> {
    let key = TenantKey::Handle(shop.handle.to_owned());
    let Some(existing) = tenant::resolve(pool, &key).await? else {
        let draft = TenantDraft {
            locales: vec!["nl".to_owned()],
            domains: vec![shop.domain.to_owned()],
            zitadel_org_id: Some(shop.zitadel_org_id.to_owned()),
            ..TenantDraft::new(shop.handle, shop.name)
        };
        return tenant::create(pool, &NewTenant::parse(&draft)?).await;
    };
    tenant::add_domain(pool, existing.id, &Hostname::parse(shop.domain)?).await?;
    if existing.zitadel_org_id.as_deref() != Some(shop.zitadel_org_id) {
        tenant::bind_zitadel_org(pool, existing.id, &ZitadelOrgId::parse(shop.zitadel_org_id)?).await?;
    }
    tenant::resolve(pool, &key).await?.ok_or(DomainError::NotFound { resource: "tenant" })
}
