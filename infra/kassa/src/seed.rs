//! Demo data for `make dev`: two shops whose staff sign in at the Zitadel stand-in
//! (`infra/zitadel-standin/seed.json` holds the same organisation ids). `make dev` runs it
//! on every start, after staff may have edited the demo shops through the API: it only adds
//! what is missing, never changes or removes what staff did, and never fails over it. What
//! it adds back and what it skips (and why) is in the [`SeedReport`]; `kassa seed-demo`
//! prints it. Running it again on a shop that lacks nothing writes nothing, not even an
//! event.
//!
//! Tax rates are keyed by country and tax class: a deleted one comes back, a changed rate
//! stays. The default workflow is keyed by what it does, its trigger `order.placed`: if the
//! shop has no workflow on that trigger (staff deleted "On order placed"), it comes back; a
//! renamed or disabled one is the shop's and no second one is added (two would deduct stock
//! twice). The catalog's keys are in [`crate::catalog_seed`], the collections' and images' in
//! [`crate::media_seed`] (images only through `kassa seed-demo`, which knows the bucket).

use kassa_domain::DomainError;
use kassa_domain::db::{TenantTx, begin_tenant_tx};
use kassa_domain::tenant::{self, Hostname, NewTenant, Tenant, TenantDraft, TenantKey, ZitadelOrgId};
use kassa_domain::workflows::{add_default_workflows, on_order_placed};
use sqlx::PgPool;

/// What a seed run added back and what it left out.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SeedReport {
    /// `<shop>: <what>`, e.g. `demo: product natural-apron`.
    pub added: Vec<String>,
    /// `<shop>: <what> (<why>)`.
    pub skipped: Vec<String>,
}

impl SeedReport {
    pub fn add(&mut self, tenant: &Tenant, what: String) {
        self.added.push(format!("{}: {what}", tenant.handle));
    }

    pub fn skip(&mut self, tenant: &Tenant, what: String, why: String) {
        self.skipped.push(format!("{}: {what} ({why})", tenant.handle));
    }
}

/// The demo shops and what seeding them did.
#[derive(Debug)]
pub struct DemoSeed {
    pub tenants: Vec<Tenant>,
    pub report: SeedReport,
}

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
    Ok(seed_demo_reporting(pool).await?.tenants)
}

/// [`seed_demo`], also saying what it added back and what it skipped.
pub async fn seed_demo_reporting(pool: &PgPool) -> Result<DemoSeed, DomainError> {
    let mut report = SeedReport::default();
    let mut tenants = Vec::with_capacity(DEMO_SHOPS.len());
    for shop in &DEMO_SHOPS {
        let tenant = ensure_shop(pool, shop).await?;
        ensure_taxes_and_workflows(pool, &tenant, &mut report).await?;
        ensure_shipping(pool, &tenant, &mut report).await?;
        tenants.push(tenant);
    }
    if let Some(demo) = tenants.first() {
        crate::catalog_seed::seed_catalog(pool, demo, &mut report).await?;
        crate::media_seed::seed_collections(pool, demo, &mut report).await?;
        seed_shoppers(pool, demo, &mut report).await?;
        seed_pages(pool, demo, &mut report).await?;
    }
    Ok(DemoSeed { tenants, report })
}

/// The demo shoppers' password (printed by `make dev`, like the staff users').
pub const SHOPPER_PASSWORD: &str = "demo-shopper-pass";

/// The demo shop's shoppers: one in no group, one in `wholesale`, one in `vip` (verified, with
/// [`SHOPPER_PASSWORD`]). An existing account with the address is left as it is.
pub const DEMO_SHOPPERS: [(&str, Option<&str>); 3] =
    [("shopper@demo.shop", None), ("wholesale@demo.shop", Some("wholesale")), ("vip@demo.shop", Some("vip"))];

async fn seed_shoppers(pool: &PgPool, tenant: &Tenant, report: &mut SeedReport) -> Result<(), DomainError> {
    use kassa_domain::customers::{accounts, passwords};
    for (address, group) in DEMO_SHOPPERS {
        let email =
            kassa_domain::types::Email::parse(address).map_err(|v| DomainError::Unexpected(v.message))?;
        if accounts::credentials(pool, tenant, &email).await?.is_some() {
            continue;
        }
        let groups = match group {
            None => Vec::new(),
            Some(handle) => {
                match kassa_domain::resource::find::<kassa_domain::pricing::CustomerGroup>(
                    pool, tenant, "handle", handle,
                )
                .await?
                {
                    Some(found) => vec![found.id],
                    None => {
                        report.skip(
                            tenant,
                            format!("shopper {address}"),
                            format!("it has no customer group {handle}"),
                        );
                        continue;
                    }
                }
            }
        };
        let hash = passwords::hash(SHOPPER_PASSWORD).map_err(DomainError::Unexpected)?;
        accounts::create_verified(pool, tenant, &email, &hash, ("Demo", "Shopper"), &groups).await?;
        report.add(tenant, format!("shopper {address}"));
    }
    Ok(())
}

/// The demo shops' shipping: one zone, [`DEMO_SHIPPING_COUNTRIES`], with a standard rate
/// (€ 4.95, free from € 50) and an express one (€ 9.95). Added only while the shop has no
/// shipping zone at all: a zone staff made or changed is theirs.
pub const DEMO_SHIPPING_COUNTRIES: [&str; 4] = ["NL", "BE", "DE", "FR"];

async fn ensure_shipping(pool: &PgPool, tenant: &Tenant, report: &mut SeedReport) -> Result<(), DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let zones: i64 = sqlx::query_scalar("select count(*) from shipping_zones where tenant_id = $1")
        .bind(tenant.id)
        .fetch_one(&mut *tx)
        .await?;
    if zones > 0 {
        tx.commit().await?;
        return Ok(());
    }
    let zone = uuid::Uuid::now_v7();
    sqlx::query("insert into shipping_zones (id, tenant_id, name, countries) values ($1, $2, 'Europe', $3)")
        .bind(zone)
        .bind(tenant.id)
        .bind(DEMO_SHIPPING_COUNTRIES.map(str::to_owned).to_vec())
        .execute(&mut *tx)
        .await?;
    for (position, name, amount, free_above) in
        [(0, "Standard", 495_i64, Some(5_000_i64)), (1, "Express", 995, None)]
    {
        sqlx::query(
            "insert into shipping_rates (id, tenant_id, zone_id, name, currency, amount, free_above, position)
             values ($1, $2, $3, $4, 'EUR', $5, $6, $7)",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(tenant.id)
        .bind(zone)
        .bind(name)
        .bind(amount)
        .bind(free_above)
        .bind(position)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    report.add(tenant, format!("shipping zone Europe ({})", DEMO_SHIPPING_COUNTRIES.join(", ")));
    Ok(())
}

/// The demo shop's pages (the bench shop's too): `home` (a hero and two product grids) and
/// `about` (text and a call to action), published, with texts in the shop's locales (Dutch
/// where it has `nl`, English otherwise). A page whose handle exists is the shop's: left as
/// it is.
pub async fn seed_pages(pool: &PgPool, tenant: &Tenant, report: &mut SeedReport) -> Result<(), DomainError> {
    use kassa_domain::pages::{self, Page, PageDraft};
    use kassa_domain::resource::{Editable, find};
    use serde_json::{Value, json};
    // Text in each of the shop's locales.
    let t = |en: &str, nl: &str| -> Value {
        tenant
            .locales
            .iter()
            .map(|l| (l.clone(), Value::String(if l == "nl" { nl } else { en }.to_owned())))
            .collect()
    };
    let home = json!({"layout": "landing", "sections": [
        {"id": "hero", "type": "hero", "settings": {
            "heading": t("Things for slow mornings", "Spullen voor trage ochtenden"),
            "subheading": t("Mugs, linen and paper, made to last.", "Mokken, linnen en papier, gemaakt om te blijven."),
            "cta_label": t("Shop the new arrivals", "Bekijk het nieuwe"),
            "cta_url": "/products"}},
        {"id": "new-arrivals", "type": "product-grid", "settings": {
            "heading": t("New arrivals", "Nieuw binnen"), "sort": "newest", "count": 8}},
        {"id": "best-value", "type": "product-grid", "settings": {
            "heading": t("Small treats", "Kleine cadeautjes"), "sort": "price_asc", "count": 4}}
    ]});
    let about = json!({"layout": "default", "sections": [
        {"id": "story", "type": "rich-text", "settings": {"body": t(
            "<h2>About us</h2><p>We are a small demo shop run by <strong>Kassa</strong>.</p>",
            "<h2>Over ons</h2><p>Wij zijn een kleine demowinkel van <strong>Kassa</strong>.</p>")}},
        {"id": "contact", "type": "call-to-action", "settings": {
            "heading": t("Questions?", "Vragen?"),
            "label": t("Write to us", "Schrijf ons"),
            "url": "mailto:hello@demo.shop"}}
    ]});
    for (handle, title, document) in
        [("home", t("Home", "Thuis"), home), ("about", t("About us", "Over ons"), about)]
    {
        if find::<Page>(pool, tenant, "handle", handle).await?.is_some() {
            continue;
        }
        let draft = PageDraft {
            handle: handle.to_owned(),
            title: serde_json::from_value(title).map_err(|e| DomainError::Unexpected(e.to_string()))?,
            seo_title: Default::default(),
            seo_description: Default::default(),
        };
        let page = Page::create(pool, tenant, &draft).await?;
        pages::save_draft(pool, tenant, page.id, page.version, &document).await?;
        pages::publish(pool, tenant, page.id).await?;
        report.add(tenant, format!("page {handle}"));
    }
    Ok(())
}

/// Shop set-up like a new tenant's own: no events.
async fn ensure_taxes_and_workflows(
    pool: &PgPool,
    tenant: &Tenant,
    report: &mut SeedReport,
) -> Result<(), DomainError> {
    const ORDER_PLACED: &str = "order.placed";
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    for (country, tax_class, rate_bp) in DEMO_TAX_RATES {
        let inserted = sqlx::query(
            "insert into tax_rates (id, tenant_id, country, tax_class, rate_bp) values ($1, $2, $3, $4, $5)
             on conflict (tenant_id, country, tax_class) do nothing",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(tenant.id)
        .bind(country)
        .bind(tax_class)
        .bind(rate_bp)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted > 0 {
            report.add(tenant, format!("tax rate {country} {tax_class}"));
        }
    }
    let handlers: Vec<String> =
        sqlx::query_scalar("select name from workflows where tenant_id = $1 and trigger = $2 order by name")
            .bind(tenant.id)
            .bind(ORDER_PLACED)
            .fetch_all(&mut *tx)
            .await?;
    let default = on_order_placed().name;
    if handlers.is_empty() {
        let before = workflow_count(&mut tx, tenant).await?;
        add_default_workflows(&mut tx, tenant.id).await?;
        if workflow_count(&mut tx, tenant).await? > before {
            report.add(tenant, format!("workflow {default}"));
        } else {
            let why = format!("the shop's workflow of that name no longer triggers on {ORDER_PLACED}");
            report.skip(tenant, format!("workflow {default}"), why);
        }
    } else if !handlers.contains(&default) {
        let why = format!("the shop's workflow {} handles {ORDER_PLACED}", handlers.join(", "));
        report.skip(tenant, format!("workflow {default}"), why);
    }
    tx.commit().await?;
    Ok(())
}

async fn workflow_count(tx: &mut TenantTx, tenant: &Tenant) -> Result<i64, DomainError> {
    let count = sqlx::query_scalar("select count(*) from workflows where tenant_id = $1")
        .bind(tenant.id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(count)
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
