//! The demo shop's catalog: 50 products in English and Dutch with three variants each,
//! two customer groups and a wholesale price list with tier prices.
//!
//! Seeding only adds what is missing and never fails over what staff did to the demo data
//! (`make dev` runs it on every start). Each seeded row is keyed by what staff see and the
//! database keeps unique: a product by its handle, a variant by its SKU, a customer group by
//! its handle, the price list by its name.
//! - A product whose handle exists is the seeded one and is left exactly as staff left it
//!   (renamed SKUs, deleted or added variants, archived): seeding adds variants only to a
//!   product that has none (a run interrupted between the product and its variants).
//! - A product whose handle is gone is added again with its variants, unless one of its
//!   SKUs is in use (staff renamed the product, or gave the SKU to another variant): then it
//!   is skipped, and the report says why. A deleted product thus comes back; an archived one
//!   (deleting an active product archives it) stays archived.
//! - A missing customer group is added again (a renamed one is the shop's own now); the
//!   wholesale price list only if the wholesale group has no price list at all (a renamed
//!   list is still the group's, and a second would compete with it). Existing ones are not
//!   touched.
//! - A refusal of one row (a handle or SKU taken in the meantime, a rule staff changed) skips
//!   that row; only database failures fail the seed. A shop that lacks nothing gets no write
//!   and no event.

use std::collections::HashMap;

use kassa_domain::db::begin_tenant_tx;
use kassa_domain::pricing::{
    self, CustomerGroup, CustomerGroupDraft, ListPriceRow, PriceList, PriceListDraft, PriceListStatus,
    PriceUpsert,
};
use kassa_domain::products::{self, Product, ProductDraft, ProductStatus};
use kassa_domain::resource::{self, Editable};
use kassa_domain::tenant::Tenant;
use kassa_domain::variants::{self, VariantDraft};
use kassa_domain::{DomainError, catalog::Money};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::seed::SeedReport;

/// A kind of product: names in both locales, material, base price in cents, and the axis
/// its three variants differ along.
struct Kind {
    en: &'static str,
    nl: &'static str,
    material: &'static str,
    cents: i64,
    axis: &'static str,
    options: [&'static str; 3],
}

const KINDS: [Kind; 10] = [
    Kind {
        en: "Apron",
        nl: "Schort",
        material: "linen",
        cents: 3495,
        axis: "size",
        options: ["S", "M", "L"],
    },
    Kind {
        en: "Mug",
        nl: "Mok",
        material: "stoneware",
        cents: 1695,
        axis: "capacity_ml",
        options: ["250", "350", "450"],
    },
    Kind {
        en: "Tea towel",
        nl: "Theedoek",
        material: "cotton",
        cents: 1295,
        axis: "pack",
        options: ["1", "2", "4"],
    },
    Kind {
        en: "Tote bag",
        nl: "Draagtas",
        material: "canvas",
        cents: 2495,
        axis: "size",
        options: ["S", "M", "L"],
    },
    Kind {
        en: "Candle",
        nl: "Kaars",
        material: "soy wax",
        cents: 1895,
        axis: "burn_hours",
        options: ["20", "40", "60"],
    },
    Kind {
        en: "Notebook",
        nl: "Notitieboek",
        material: "recycled paper",
        cents: 1495,
        axis: "format",
        options: ["A6", "A5", "A4"],
    },
    Kind {
        en: "Cushion cover",
        nl: "Kussenhoes",
        material: "wool",
        cents: 3995,
        axis: "size",
        options: ["40x40", "50x50", "60x60"],
    },
    Kind {
        en: "Cutting board",
        nl: "Snijplank",
        material: "oak",
        cents: 4495,
        axis: "size",
        options: ["S", "M", "L"],
    },
    Kind {
        en: "Plant pot",
        nl: "Bloempot",
        material: "terracotta",
        cents: 2195,
        axis: "diameter_cm",
        options: ["12", "18", "24"],
    },
    Kind {
        en: "Throw blanket",
        nl: "Plaid",
        material: "merino",
        cents: 8995,
        axis: "size",
        options: ["130x170", "150x200", "180x220"],
    },
];

/// Five colourways of every kind: English and Dutch name, and the `color` attribute.
const COLOURS: [(&str, &str, &str); 5] = [
    ("Natural", "Naturel", "natural"),
    ("Indigo", "Indigo", "blue"),
    ("Charcoal", "Antraciet", "grey"),
    ("Sage", "Salie", "green"),
    ("Terracotta", "Terracotta", "red"),
];

fn slug(text: &str) -> String {
    text.to_lowercase().replace(' ', "-")
}

/// One product of the demo catalog with its three variants.
pub struct DemoProduct {
    pub draft: ProductDraft,
    pub variants: Vec<VariantDraft>,
}

/// The demo catalog: 10 kinds × 5 colourways, each with three variants.
pub fn demo_catalog() -> Vec<DemoProduct> {
    let mut catalog = Vec::with_capacity(KINDS.len() * COLOURS.len());
    for (k, kind) in KINDS.iter().enumerate() {
        for (c, (colour_en, colour_nl, color)) in COLOURS.iter().enumerate() {
            let draft = ProductDraft {
                handle: format!("{}-{}", slug(colour_en), slug(kind.en)),
                title: [
                    ("en".to_owned(), format!("{colour_en} {}", kind.en.to_lowercase())),
                    ("nl".to_owned(), format!("{colour_nl} {}", kind.nl.to_lowercase())),
                ]
                .into(),
                description: [
                    (
                        "en".to_owned(),
                        format!(
                            "A {} {} in {colour_en}, made to last.",
                            kind.material,
                            kind.en.to_lowercase()
                        ),
                    ),
                    (
                        "nl".to_owned(),
                        format!("Een {} van {}, in {colour_nl}.", kind.nl.to_lowercase(), kind.material),
                    ),
                ]
                .into(),
                // One colourway of every kind is still being prepared.
                status: if c == 4 && k % 2 == 0 { ProductStatus::Draft } else { ProductStatus::Active },
                b2b_settings: if k % 3 == 0 {
                    serde_json::from_value(json!({"min_order_quantity": 2, "quantity_step": 2}))
                        .unwrap_or_default()
                } else {
                    Default::default()
                },
                subscription_plan_id: None,
                tax_class: "standard".to_owned(),
                // The first colourway of every kind sells best.
                tags: [slug(kind.material), (*color).to_owned()]
                    .into_iter()
                    .chain((c == 0).then(|| "bestseller".to_owned()))
                    .collect(),
            };
            let variants = kind
                .options
                .iter()
                .enumerate()
                .map(|(o, option)| VariantDraft {
                    sku: format!(
                        "{}-{}-{}",
                        &slug(kind.en).to_uppercase(),
                        color.to_uppercase(),
                        option.to_uppercase()
                    ),
                    price: Money { amount: kind.cents + 500 * o as i64, currency: "EUR".to_owned() },
                    // Some sold out, one colourway not tracked (made to order).
                    stock: if c == 3 { None } else { Some(((k * 7 + c * 3 + o * 5) % 40) as i64) },
                    attributes: json!({"color": color, kind.axis: option, "material": kind.material})
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
                    position: Some(o as i32),
                })
                .collect();
            catalog.push(DemoProduct { draft, variants });
        }
    }
    catalog
}

/// A variant that holds one of the demo SKUs, wherever staff put it.
struct SkuOwner {
    variant_id: Uuid,
    product_handle: String,
}

/// Which of `skus` are in use in the shop, and by which variant of which product.
async fn sku_owners(
    pool: &PgPool,
    tenant: &Tenant,
    skus: &[String],
) -> Result<HashMap<String, SkuOwner>, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let rows: Vec<(String, Uuid, String)> = sqlx::query_as(
        "select v.sku, v.id, p.handle from product_variants v
           join products p on p.tenant_id = v.tenant_id and p.id = v.product_id
         where v.tenant_id = $1 and v.sku = any($2)",
    )
    .bind(tenant.id)
    .bind(skus)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|(sku, variant_id, product_handle)| (sku, SkuOwner { variant_id, product_handle }))
        .collect())
}

/// Whether a refusal concerns this one row (skip it) rather than the database (fail).
fn refused(error: &DomainError) -> bool {
    matches!(error, DomainError::Conflict { .. } | DomainError::Validation(_) | DomainError::NotFound { .. })
}

/// Seeds the catalog of `tenant` (see the module documentation for what it adds and skips);
/// returns how many products it created.
pub async fn seed_catalog(
    pool: &PgPool,
    tenant: &Tenant,
    report: &mut SeedReport,
) -> Result<usize, DomainError> {
    let catalog = demo_catalog();
    let skus: Vec<String> = catalog.iter().flat_map(|p| p.variants.iter().map(|v| v.sku.clone())).collect();
    let owners = sku_owners(pool, tenant, &skus).await?;
    let mut created = 0;
    for demo in &catalog {
        let handle = &demo.draft.handle;
        if let Some(product) = products::find_by_handle(pool, tenant, handle).await? {
            if variants::list(pool, tenant, product.id).await?.is_empty() {
                add_variants(pool, tenant, &product, demo, &owners, report).await?;
            }
            continue;
        }
        if let Some((sku, owner)) = demo.variants.iter().find_map(|v| owners.get(&v.sku).map(|o| (&v.sku, o)))
        {
            let why = format!("its SKU {sku} is used by product {}", owner.product_handle);
            report.skip(tenant, format!("product {handle}"), why);
            continue;
        }
        match products::create(pool, tenant, &demo.draft).await {
            Ok(product) => {
                created += 1;
                report.add(tenant, format!("product {handle}"));
                add_variants(pool, tenant, &product, demo, &owners, report).await?;
            }
            Err(error) if refused(&error) => {
                report.skip(tenant, format!("product {handle}"), error.to_string())
            }
            Err(error) => return Err(error),
        }
    }
    seed_pricing(pool, tenant, &catalog, &skus, report).await?;
    Ok(created)
}

/// The demo variants of `product` whose SKUs nobody uses.
async fn add_variants(
    pool: &PgPool,
    tenant: &Tenant,
    product: &Product,
    demo: &DemoProduct,
    owners: &HashMap<String, SkuOwner>,
    report: &mut SeedReport,
) -> Result<(), DomainError> {
    for draft in &demo.variants {
        let what = format!("variant {} of product {}", draft.sku, product.handle);
        if let Some(owner) = owners.get(&draft.sku) {
            report.skip(tenant, what, format!("the SKU is used by product {}", owner.product_handle));
            continue;
        }
        match variants::create(pool, tenant, product.id, draft).await {
            Ok(_) => {}
            Err(error) if refused(&error) => report.skip(tenant, what, error.to_string()),
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

async fn group(
    pool: &PgPool,
    tenant: &Tenant,
    handle: &str,
    name: &str,
    report: &mut SeedReport,
) -> Result<Option<CustomerGroup>, DomainError> {
    if let Some(group) = resource::find::<CustomerGroup>(pool, tenant, "handle", handle).await? {
        return Ok(Some(group));
    }
    let draft = CustomerGroupDraft { handle: handle.to_owned(), name: name.to_owned() };
    match CustomerGroup::create(pool, tenant, &draft).await {
        Ok(group) => {
            report.add(tenant, format!("customer group {handle}"));
            Ok(Some(group))
        }
        Err(error) if refused(&error) => {
            report.skip(tenant, format!("customer group {handle}"), error.to_string());
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

/// Customer groups `wholesale` and `vip`; the wholesale list: 20 % off from 1 unit, 30 % off
/// from 10 units, for every demo SKU the shop still has (wherever staff moved it).
async fn seed_pricing(
    pool: &PgPool,
    tenant: &Tenant,
    catalog: &[DemoProduct],
    skus: &[String],
    report: &mut SeedReport,
) -> Result<(), DomainError> {
    let wholesale = group(pool, tenant, "wholesale", "Wholesale", report).await?;
    group(pool, tenant, "vip", "VIP customers", report).await?;
    const LIST: &str = "Wholesale (B2B)";
    if resource::find::<PriceList>(pool, tenant, "name", LIST).await?.is_some() {
        return Ok(());
    }
    let what = format!("price list {LIST}");
    let Some(wholesale) = wholesale else {
        report.skip(tenant, what, "it has no customer group wholesale".to_owned());
        return Ok(());
    };
    // Renamed, the list is still the wholesale group's: a second one would compete with it.
    if let Some(name) = price_list_of(pool, tenant, wholesale.id).await? {
        report.skip(tenant, what, format!("the shop's price list {name} is the wholesale group's"));
        return Ok(());
    }
    let draft = PriceListDraft {
        name: LIST.to_owned(),
        customer_group_id: wholesale.id,
        currency: "EUR".to_owned(),
        starts_at: None,
        ends_at: None,
        priority: 10,
        status: PriceListStatus::Active,
    };
    let list = match PriceList::create(pool, tenant, &draft).await {
        Ok(list) => list,
        Err(error) if refused(&error) => {
            report.skip(tenant, what, error.to_string());
            return Ok(());
        }
        Err(error) => return Err(error),
    };
    report.add(tenant, what.clone());
    let owners = sku_owners(pool, tenant, skus).await?;
    let prices: Vec<ListPriceRow> = catalog
        .iter()
        .flat_map(|p| &p.variants)
        .filter_map(|v| owners.get(&v.sku).map(|owner| (owner.variant_id, v.price.amount)))
        .flat_map(|(variant_id, cents)| {
            [
                ListPriceRow { variant_id, amount: cents * 80 / 100, min_quantity: 1 },
                ListPriceRow { variant_id, amount: cents * 70 / 100, min_quantity: 10 },
            ]
        })
        .collect();
    if prices.is_empty() {
        return Ok(());
    }
    if let Err(error) = pricing::upsert_prices(pool, tenant, list.id, &PriceUpsert { prices }).await {
        if !refused(&error) {
            return Err(error);
        }
        report.skip(tenant, format!("the prices of {what}"), error.to_string());
    }
    Ok(())
}

/// The name of a price list of the customer group, if it has one.
async fn price_list_of(pool: &PgPool, tenant: &Tenant, group: Uuid) -> Result<Option<String>, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let name = sqlx::query_scalar(
        "select name from price_lists where tenant_id = $1 and customer_group_id = $2 order by name limit 1",
    )
    .bind(tenant.id)
    .bind(group)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(name)
}
