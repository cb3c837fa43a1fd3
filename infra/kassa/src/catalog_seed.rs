//! The demo shop's catalog: 50 products in English and Dutch with three variants each,
//! two customer groups and a wholesale price list with tier prices. Idempotent: whatever
//! exists already (by handle, SKU or name) is left as it is.

use kassa_domain::pricing::{
    self, CustomerGroup, CustomerGroupDraft, ListPriceRow, PriceList, PriceListDraft, PriceListStatus,
    PriceUpsert,
};
use kassa_domain::products::{self, ProductDraft, ProductStatus};
use kassa_domain::resource;
use kassa_domain::tenant::Tenant;
use kassa_domain::variants::{self, VariantDraft};
use kassa_domain::{DomainError, catalog::Money};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

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

/// Seeds the catalog of `tenant`; returns how many products it created.
pub async fn seed_catalog(pool: &PgPool, tenant: &Tenant) -> Result<usize, DomainError> {
    let mut created = 0;
    let mut variant_ids: Vec<(Uuid, i64)> = Vec::new();
    for (k, kind) in KINDS.iter().enumerate() {
        for (c, (colour_en, colour_nl, color)) in COLOURS.iter().enumerate() {
            let handle = format!("{}-{}", slug(colour_en), slug(kind.en));
            let product = match products::find_by_handle(pool, tenant, &handle).await? {
                Some(product) => product,
                None => {
                    created += 1;
                    let draft = ProductDraft {
                        handle: handle.clone(),
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
                                format!(
                                    "Een {} van {}, in {colour_nl}.",
                                    kind.nl.to_lowercase(),
                                    kind.material
                                ),
                            ),
                        ]
                        .into(),
                        // One colourway of every kind is still being prepared.
                        status: if c == 4 && k % 2 == 0 {
                            ProductStatus::Draft
                        } else {
                            ProductStatus::Active
                        },
                        b2b_settings: if k % 3 == 0 {
                            serde_json::from_value(json!({"min_order_quantity": 2, "quantity_step": 2}))
                                .unwrap_or_default()
                        } else {
                            Default::default()
                        },
                        subscription_plan_id: None,
                        tax_class: "standard".to_owned(),
                    };
                    products::create(pool, tenant, &draft).await?
                }
            };
            let existing = variants::list(pool, tenant, product.id).await?;
            for (o, option) in kind.options.iter().enumerate() {
                let sku = format!(
                    "{}-{}-{}",
                    &slug(kind.en).to_uppercase(),
                    color.to_uppercase(),
                    option.to_uppercase()
                );
                let cents = kind.cents + 500 * o as i64;
                if let Some(variant) = existing.iter().find(|v| v.sku == sku) {
                    variant_ids.push((variant.id, cents));
                    continue;
                }
                let draft = VariantDraft {
                    sku,
                    price: Money { amount: cents, currency: "EUR".to_owned() },
                    // Some sold out, one colourway not tracked (made to order).
                    stock: if c == 3 { None } else { Some(((k * 7 + c * 3 + o * 5) % 40) as i64) },
                    attributes: json!({"color": color, kind.axis: option, "material": kind.material})
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
                    position: Some(o as i32),
                };
                let variant = variants::create(pool, tenant, product.id, &draft).await?;
                variant_ids.push((variant.id, cents));
            }
        }
    }
    seed_pricing(pool, tenant, &variant_ids).await?;
    Ok(created)
}

async fn group(
    pool: &PgPool,
    tenant: &Tenant,
    handle: &str,
    name: &str,
) -> Result<CustomerGroup, DomainError> {
    if let Some(group) = resource::find::<CustomerGroup>(pool, tenant, "handle", handle).await? {
        return Ok(group);
    }
    let draft = CustomerGroupDraft { handle: handle.to_owned(), name: name.to_owned() };
    pricing::create_customer_group(pool, tenant, &draft).await
}

/// Customer groups `wholesale` and `vip`; the wholesale list: 20 % off from 1 unit, 30 % off
/// from 10 units.
async fn seed_pricing(pool: &PgPool, tenant: &Tenant, variants: &[(Uuid, i64)]) -> Result<(), DomainError> {
    let wholesale = group(pool, tenant, "wholesale", "Wholesale").await?;
    group(pool, tenant, "vip", "VIP customers").await?;
    const LIST: &str = "Wholesale (B2B)";
    if resource::find::<PriceList>(pool, tenant, "name", LIST).await?.is_some() {
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
    let list = pricing::create_price_list(pool, tenant, &draft).await?;
    let prices = variants
        .iter()
        .flat_map(|(variant_id, cents)| {
            [
                ListPriceRow { variant_id: *variant_id, amount: cents * 80 / 100, min_quantity: 1 },
                ListPriceRow { variant_id: *variant_id, amount: cents * 70 / 100, min_quantity: 10 },
            ]
        })
        .collect();
    pricing::upsert_prices(pool, tenant, list.id, &PriceUpsert { prices }).await?;
    Ok(())
}
