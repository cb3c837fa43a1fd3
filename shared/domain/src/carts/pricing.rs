//! A cart's prices, taxes and totals, computed on every answer from the catalog: unit prices
//! by [`crate::price::resolve_price`] (the buyer's customer groups, quantity tiers, validity
//! windows), taxes per line by [`crate::taxes::line_tax`] with the shop's rate for the
//! shipping country and its `prices_include_tax` setting; the shipping methods of the
//! country's zone by [`crate::shipping::methods_for`], the chosen one charged and taxed under
//! its rate's tax class.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::{Cart, PostalAddress};
use crate::catalog::B2bSettings;
use crate::currency::Currency;
use crate::db::{Plans, ReadQuery, TenantRead, begin_read};
use crate::error::DomainError;
use crate::price::{ListPrice, PriceRequest, PriceSource, ResolvedPrice, resolve_price};
use crate::shipping::{ShippingMethod, ShippingRate, ShippingZone, methods_for};
use crate::taxes::line_tax;
use crate::tenant::Tenant;
use crate::types::Country;

/// Who is buying: anonymous (no groups) or a customer in these groups (ids and handles).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Buyer {
    pub group_ids: Vec<Uuid>,
    pub group_handles: Vec<String>,
    pub at: DateTime<Utc>,
}

impl Buyer {
    pub fn anonymous(at: DateTime<Utc>) -> Self {
        Buyer { group_ids: Vec::new(), group_handles: Vec::new(), at }
    }

    /// Whether the buyer may see (and so buy) the variant's product: B2B products limited
    /// to some groups are for members of one of them.
    pub fn may_see(&self, variant: &CatalogVariant) -> bool {
        match &variant.b2b.visible_to_customer_groups {
            None => true,
            Some(groups) => groups.iter().any(|g| self.group_handles.contains(g)),
        }
    }

    /// The price request for `quantity` units in `currency`.
    pub fn request<'a>(&'a self, currency: &'a str, quantity: i64) -> PriceRequest<'a> {
        PriceRequest { customer_group_ids: &self.group_ids, quantity, at: self.at, currency }
    }
}

/// What the catalog says about one variant, as far as a cart needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogVariant {
    pub variant_id: Uuid,
    pub product_id: Uuid,
    pub sku: String,
    pub title: String,
    pub tax_class: String,
    /// The product is active.
    pub active: bool,
    pub base_amount: i64,
    pub base_currency: String,
    /// Available units (stock − reserved; nothing reserves yet); `None`: not tracked.
    pub stock: Option<i64>,
    pub b2b: B2bSettings,
    /// The list prices of the buyer's groups for this variant.
    pub candidates: Vec<ListPrice>,
}

impl CatalogVariant {
    /// The unit price for `quantity` units.
    pub fn unit_price(&self, buyer: &Buyer, currency: &str, quantity: i64) -> Option<ResolvedPrice> {
        resolve_price(
            self.base_amount,
            &self.base_currency,
            &self.candidates,
            &buyer.request(currency, quantity),
        )
    }
}

#[derive(Debug, Deserialize, sqlx::FromRow)]
struct CatalogRow {
    variant_id: Uuid,
    product_id: Uuid,
    sku: String,
    title: String,
    tax_class: String,
    active: bool,
    base_amount: i64,
    base_currency: String,
    stock: Option<i64>,
    b2b: sqlx::types::Json<B2bSettings>,
    candidates: sqlx::types::Json<Vec<ListPrice>>,
}

/// The catalog rows of `variant_ids` (those that exist in the shop), with the list prices of
/// the buyer's groups, in one round trip ([`TenantRead`]). Every read of a cart looks rows up by
/// id or key, so each runs on one generic plan ([`Plans::Generic`]), not planned per request.
pub async fn load_catalog(
    pool: &PgPool,
    tenant: &Tenant,
    variant_ids: &[Uuid],
    buyer: &Buyer,
) -> Result<Vec<CatalogVariant>, DomainError> {
    if variant_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut read = begin_read(pool, tenant.id, Plans::Generic).await?;
    catalog_in(&mut read, tenant, variant_ids, buyer).await
}

/// [`load_catalog`] in a read of the caller's.
async fn catalog_in(
    tx: &mut TenantRead,
    tenant: &Tenant,
    variant_ids: &[Uuid],
    buyer: &Buyer,
) -> Result<Vec<CatalogVariant>, DomainError> {
    let q = ReadQuery::new(
        "select v.id as variant_id, p.id as product_id, v.sku,
                coalesce(p.title ->> $3, p.title ->> (select min(k) from jsonb_object_keys(p.title) k), '') as title,
                p.tax_class, p.status = 'active' as active, v.price_amount as base_amount,
                v.currency::text as base_currency, v.stock::bigint as stock, p.b2b_settings as b2b,
                (select coalesce(json_agg(json_build_object(
                    'price_list_id', pl.id, 'customer_group_id', pl.customer_group_id, 'currency', pl.currency,
                    'active', pl.status = 'active', 'starts_at', pl.starts_at, 'ends_at', pl.ends_at,
                    'priority', pl.priority, 'min_quantity', plp.min_quantity, 'amount', plp.amount)), '[]')
                 from price_list_prices plp
                 join price_lists pl on pl.tenant_id = plp.tenant_id and pl.id = plp.price_list_id
                 where plp.tenant_id = v.tenant_id and plp.variant_id = v.id
                   and pl.customer_group_id = any($4)) as candidates
         from product_variants v join products p on p.tenant_id = v.tenant_id and p.id = v.product_id
         where v.tenant_id = $1 and v.id = any($2)",
    )
    .bind(tenant.id)
    .bind(variant_ids.to_vec())
    .bind(tenant.default_locale.as_str())
    .bind(buyer.group_ids.clone());
    let rows: Vec<CatalogRow> = tx.fetch_all(&q).await?;
    Ok(rows
        .into_iter()
        .map(|r| CatalogVariant {
            variant_id: r.variant_id,
            product_id: r.product_id,
            sku: r.sku,
            title: r.title,
            tax_class: r.tax_class,
            active: r.active,
            base_amount: r.base_amount,
            base_currency: r.base_currency,
            stock: r.stock,
            b2b: r.b2b.0,
            candidates: r.candidates.0,
        })
        .collect())
}

/// The shop's tax rates for `country`: tax class → basis points.
pub async fn tax_rates(
    pool: &PgPool,
    tenant: &Tenant,
    country: &str,
) -> Result<Vec<(String, i32)>, DomainError> {
    let mut read = begin_read(pool, tenant.id, Plans::Generic).await?;
    tax_rates_in(&mut read, tenant, country).await
}

async fn tax_rates_in(
    tx: &mut TenantRead,
    tenant: &Tenant,
    country: &str,
) -> Result<Vec<(String, i32)>, DomainError> {
    let q = ReadQuery::new("select tax_class, rate_bp from tax_rates where tenant_id = $1 and country = $2")
        .bind(tenant.id)
        .bind(country);
    Ok(tx.fetch_all(&q).await?)
}

/// What pricing a cart depends on besides the cart and the catalog.
#[derive(Debug, Clone)]
pub struct PricingContext<'a> {
    pub buyer: &'a Buyer,
    pub prices_include_tax: bool,
    /// The shop's rates for the cart's shipping country (`None`: no country chosen yet).
    pub rates: Option<&'a [(String, i32)]>,
    /// The shop's shipping zone holding the cart's country and its rates (empty when none).
    pub shipping: (&'a [ShippingZone], &'a [ShippingRate]),
}

/// The shipping method a cart is charged for, taxed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ShippingLine {
    pub rate_id: Uuid,
    pub name: String,
    /// Minor units (0 once the cart reached the rate's `free_above`).
    pub amount: i64,
    pub tax_class: String,
    /// `null` when the shop has no rate for the tax class in the shipping country.
    pub tax_rate_bp: Option<i32>,
    pub tax_amount: Option<i64>,
}

/// A cart line as answered: what it is, its price and where the price came from, its tax.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LineView {
    pub id: Uuid,
    pub variant_id: Uuid,
    /// `null` when the variant no longer exists.
    pub product_id: Option<Uuid>,
    pub sku: Option<String>,
    pub title: Option<String>,
    pub quantity: i32,
    /// Whether the line can be bought: the variant exists, is for sale to this buyer and is
    /// priced in the cart's currency. Lines that cannot are left out of the totals.
    pub available: bool,
    /// Minor units per unit, for this quantity (tiers apply).
    pub unit_price_amount: i64,
    /// `base` (the variant's own price) or `price_list`.
    pub price_source: &'static str,
    /// The price list that priced the line, if one did.
    pub price_list_id: Option<Uuid>,
    /// unit price × quantity.
    pub line_amount: i64,
    pub tax_class: Option<String>,
    /// `null` until a shipping country with a rate for the tax class is set.
    pub tax_rate_bp: Option<i32>,
    pub tax_amount: Option<i64>,
}

/// A cart as answered, priced now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CartView {
    pub id: Uuid,
    /// The signed-in customer who owns the cart; `null` for an anonymous cart.
    pub customer_id: Option<Uuid>,
    pub currency: String,
    pub email: Option<String>,
    pub shipping_country: Option<String>,
    pub shipping_address: Option<PostalAddress>,
    pub billing_address: Option<PostalAddress>,
    pub lines: Vec<LineView>,
    /// The ways the shop ships this cart to its `shipping_country`, with their prices; empty
    /// while no country is set or when no shipping zone of the shop holds the country.
    pub shipping_methods: Vec<ShippingMethod>,
    /// The chosen method (`shipping_rate_id`) as charged; `null` while none is chosen or the
    /// chosen one is not among `shipping_methods`.
    pub shipping: Option<ShippingLine>,
    pub prices_include_tax: bool,
    /// Sum of the available lines' amounts, in minor units of `currency`.
    pub subtotal_amount: i64,
    /// The chosen shipping method's amount (0 while none is chosen).
    pub shipping_amount: i64,
    /// Sum of the lines' and the shipping's taxes; `null` until each has a rate (set a
    /// shipping country).
    pub tax_amount: Option<i64>,
    /// The subtotal and the shipping, plus the tax when prices exclude it.
    pub total_amount: i64,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The cart is deleted at this moment unless it is used before (7 days after the last use).
    pub expires_at: DateTime<Utc>,
}

/// Prices `cart` for `context.buyer` from `catalog` (the rows of its variants).
pub fn price(cart: &Cart, catalog: &[CatalogVariant], context: &PricingContext<'_>) -> CartView {
    let mut lines = Vec::with_capacity(cart.lines.len());
    let (mut subtotal, mut tax, mut tax_known) = (0i64, 0i64, context.rates.is_some());
    for line in &cart.lines {
        let variant = catalog.iter().find(|c| c.variant_id == line.variant_id);
        let quantity = i64::from(line.quantity);
        let priced = variant
            .filter(|v| v.active && context.buyer.may_see(v) && !v.b2b.quote_only)
            .and_then(|v| v.unit_price(context.buyer, &cart.currency, quantity).map(|p| (v, p)));
        let view = match priced {
            Some((variant, unit)) => {
                let line_amount = unit.amount.saturating_mul(quantity);
                let rate = context
                    .rates
                    .and_then(|rates| rates.iter().find(|(class, _)| *class == variant.tax_class))
                    .map(|(_, bp)| *bp);
                let line_tax = rate.map(|bp| line_tax(line_amount, bp, context.prices_include_tax));
                subtotal = subtotal.saturating_add(line_amount);
                match line_tax {
                    Some(t) => tax = tax.saturating_add(t),
                    None => tax_known = false,
                }
                let price_list_id = match unit.source {
                    PriceSource::Base => None,
                    PriceSource::PriceList { price_list_id } => Some(price_list_id),
                };
                LineView {
                    id: line.id,
                    variant_id: line.variant_id,
                    product_id: Some(variant.product_id),
                    sku: Some(variant.sku.clone()),
                    title: Some(variant.title.clone()),
                    quantity: line.quantity,
                    available: true,
                    unit_price_amount: unit.amount,
                    price_source: if price_list_id.is_some() { "price_list" } else { "base" },
                    price_list_id,
                    line_amount,
                    tax_class: Some(variant.tax_class.clone()),
                    tax_rate_bp: rate,
                    tax_amount: line_tax,
                }
            }
            None => LineView {
                id: line.id,
                variant_id: line.variant_id,
                product_id: variant.map(|v| v.product_id),
                sku: variant.map(|v| v.sku.clone()),
                title: variant.map(|v| v.title.clone()),
                quantity: line.quantity,
                available: false,
                unit_price_amount: 0,
                price_source: "base",
                price_list_id: None,
                line_amount: 0,
                tax_class: variant.map(|v| v.tax_class.clone()),
                tax_rate_bp: None,
                tax_amount: None,
            },
        };
        lines.push(view);
    }
    let shipping_methods = match (&cart.shipping_country, Currency::parse(&cart.currency)) {
        (Some(country), Ok(currency)) => match Country::parse(country) {
            Ok(country) => {
                let (zones, rates) = context.shipping;
                // Variants carry no weight yet: every cart weighs 0 g for the weight bands.
                methods_for(zones, rates, &country, &currency, subtotal, 0)
            }
            Err(_) => Vec::new(),
        },
        _ => Vec::new(),
    };
    let shipping = cart
        .shipping_rate_id
        .and_then(|id| shipping_methods.iter().find(|m| m.rate_id == id))
        .map(|method| {
            let rate = context
                .rates
                .and_then(|rates| rates.iter().find(|(class, _)| *class == method.tax_class))
                .map(|(_, bp)| *bp);
            ShippingLine {
                rate_id: method.rate_id,
                name: method.name.clone(),
                amount: method.amount,
                tax_class: method.tax_class.clone(),
                tax_rate_bp: rate,
                tax_amount: rate.map(|bp| line_tax(method.amount, bp, context.prices_include_tax)),
            }
        });
    let shipping_amount = shipping.as_ref().map_or(0, |s| s.amount);
    if let Some(line) = &shipping {
        match line.tax_amount {
            Some(t) => tax = tax.saturating_add(t),
            None => tax_known = false,
        }
    }
    let tax_amount = tax_known.then_some(tax);
    let before_tax = subtotal.saturating_add(shipping_amount);
    let total_amount = if context.prices_include_tax {
        before_tax
    } else {
        before_tax.saturating_add(tax_amount.unwrap_or(0))
    };
    CartView {
        id: cart.id,
        customer_id: cart.customer_id(),
        currency: cart.currency.clone(),
        email: cart.email.clone(),
        shipping_country: cart.shipping_country.clone(),
        shipping_address: cart.shipping_address.clone(),
        billing_address: cart.billing_address.clone(),
        lines,
        shipping_methods,
        shipping,
        prices_include_tax: context.prices_include_tax,
        subtotal_amount: subtotal,
        shipping_amount,
        tax_amount,
        total_amount,
        version: cart.version,
        created_at: cart.created_at,
        updated_at: cart.updated_at,
        expires_at: cart.expires_at,
    }
}

/// The buyer with `group_ids` (a signed-in customer's groups; none for an anonymous shopper),
/// with their handles (B2B visibility names groups by handle), at this moment.
pub async fn buyer(pool: &PgPool, tenant: &Tenant, group_ids: &[Uuid]) -> Result<Buyer, DomainError> {
    let at = Utc::now();
    if group_ids.is_empty() {
        return Ok(Buyer::anonymous(at));
    }
    let groups: Vec<(Uuid, String)> = crate::storefront::customer_groups(pool, tenant, group_ids).await?;
    let (group_ids, group_handles) = groups.into_iter().unzip();
    Ok(Buyer { group_ids, group_handles, at })
}

/// `cart` priced now for `buyer`: its variants' catalog rows, the shop's tax rates for its
/// shipping country and the shop's `prices_include_tax`.
pub async fn view(
    pool: &PgPool,
    tenant: &Tenant,
    cart: &Cart,
    buyer: &Buyer,
) -> Result<CartView, DomainError> {
    view_with(pool, tenant, cart, buyer, Vec::new()).await
}

/// [`view`], reusing the catalog rows a change already loaded (only the rows of variants it
/// lacks are read). What it reads, it reads through one [`TenantRead`]: the missing rows, the
/// tax rates and the shipping zones in one round trip each, or all in the first once the last
/// view for the same country read them ([`TenantRead::recall`]).
pub async fn view_with(
    pool: &PgPool,
    tenant: &Tenant,
    cart: &Cart,
    buyer: &Buyer,
    mut catalog: Vec<CatalogVariant>,
) -> Result<CartView, DomainError> {
    let missing: Vec<Uuid> = cart
        .lines
        .iter()
        .map(|l| l.variant_id)
        .filter(|id| !catalog.iter().any(|c| c.variant_id == *id))
        .collect();
    let mut rates = None;
    let mut shipping = (Vec::new(), Vec::new());
    if !missing.is_empty() || cart.shipping_country.is_some() {
        let mut tx = begin_read(pool, tenant.id, Plans::Generic).await?;
        // The rates and the shipping zones (after the missing lines' rows, if any) go with the
        // first message when the last view for this country read them too.
        tx.recall(("cart view", missing.is_empty(), cart.shipping_country.as_deref()));
        if !missing.is_empty() {
            catalog.extend(catalog_in(&mut tx, tenant, &missing, buyer).await?);
        }
        if let Some(country) = &cart.shipping_country {
            rates = Some(tax_rates_in(&mut tx, tenant, country).await?);
            if let Ok(country) = Country::parse(country) {
                shipping = crate::shipping::load_for_country_in(&mut tx, tenant, &country).await?;
            }
        }
    }
    let context = PricingContext {
        buyer,
        prices_include_tax: crate::taxes::prices_include_tax(tenant),
        rates: rates.as_deref(),
        shipping: (&shipping.0, &shipping.1),
    };
    Ok(price(cart, &catalog, &context))
}
