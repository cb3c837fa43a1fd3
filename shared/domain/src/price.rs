//! Price resolution: which price a customer pays for a variant, as one pure function.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A price-list price that may apply, with what decides whether and how it applies.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ListPrice {
    pub price_list_id: Uuid,
    pub customer_group_id: Uuid,
    pub currency: String,
    pub active: bool,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub priority: i32,
    pub min_quantity: i64,
    pub amount: i64,
}

/// Where a resolved price came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PriceSource {
    /// The variant's own price.
    Base,
    /// A price list's price.
    PriceList { price_list_id: Uuid },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolvedPrice {
    /// Minor units per unit.
    pub amount: i64,
    pub currency: String,
    pub source: PriceSource,
}

/// What is being priced.
#[derive(Debug, Clone, Copy)]
pub struct PriceRequest<'a> {
    /// The customer's groups (none for an anonymous shopper): only their lists apply.
    pub customer_group_ids: &'a [Uuid],
    pub quantity: i64,
    pub at: DateTime<Utc>,
    /// The currency to pay in.
    pub currency: &'a str,
}

impl ListPrice {
    /// Whether this list price applies to the request.
    pub fn applies(&self, request: &PriceRequest<'_>) -> bool {
        self.active
            && request.customer_group_ids.contains(&self.customer_group_id)
            && self.currency == request.currency
            && self.starts_at.is_none_or(|starts| starts <= request.at)
            && self.ends_at.is_none_or(|ends| request.at < ends)
            && self.min_quantity <= request.quantity
    }
}

/// The price for `request`: among the applicable list prices, the highest tier
/// (`min_quantity`) the quantity reaches, then the highest list priority, then the lowest
/// amount (ties broken by list id so the answer is stable); otherwise the base price when it
/// is in the requested currency; otherwise none (not sold in that currency).
pub fn resolve_price(
    base_amount: i64,
    base_currency: &str,
    candidates: &[ListPrice],
    request: &PriceRequest<'_>,
) -> Option<ResolvedPrice> {
    let best = candidates.iter().filter(|c| c.applies(request)).min_by(|a, b| {
        b.min_quantity
            .cmp(&a.min_quantity)
            .then(b.priority.cmp(&a.priority))
            .then(a.amount.cmp(&b.amount))
            .then(a.price_list_id.cmp(&b.price_list_id))
    });
    match best {
        Some(list) => Some(ResolvedPrice {
            amount: list.amount,
            currency: list.currency.clone(),
            source: PriceSource::PriceList { price_list_id: list.price_list_id },
        }),
        None if base_currency == request.currency => Some(ResolvedPrice {
            amount: base_amount,
            currency: base_currency.to_owned(),
            source: PriceSource::Base,
        }),
        None => None,
    }
}
