//! Demo data for `make dev`: two shops whose staff sign in at the Zitadel stand-in
//! (`infra/zitadel-standin/seed.json` holds the same organisation ids). Idempotent: running
//! it again changes nothing.

use kassa_domain::DomainError;
use kassa_domain::tenant::{self, Hostname, NewTenant, Tenant, TenantDraft, TenantKey, ZitadelOrgId};
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

/// Creates (or completes) every demo shop: locales `en` (default) and `nl`, currency EUR,
/// and the `demo` shop's catalog.
pub async fn seed_demo(pool: &PgPool) -> Result<Vec<Tenant>, DomainError> {
    let mut tenants = Vec::with_capacity(DEMO_SHOPS.len());
    for shop in &DEMO_SHOPS {
        tenants.push(ensure_shop(pool, shop).await?);
    }
    if let Some(demo) = tenants.first() {
        crate::catalog_seed::seed_catalog(pool, demo).await?;
    }
    Ok(tenants)
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
