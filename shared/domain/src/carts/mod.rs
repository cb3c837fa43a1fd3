//! Carts: what a shopper is about to buy, kept in a key-value store (Valkey or DynamoDB,
//! `kassa-store`), never in Postgres. This module holds the cart as stored, the rules a
//! change must pass (line cap, stock, B2B settings) and pricing ([`pricing`]): a cart holds
//! variants and quantities only, its prices and taxes are computed from the catalog on every
//! answer, so nothing a caller sends sets a price.
//!
//! Every rule here is a pure function of the cart and the catalog rows it names
//! ([`pricing::CatalogVariant`], loaded by [`pricing::load_catalog`]), so a store can re-run a
//! change when another request changed the cart first (optimistic concurrency).

pub mod pricing;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{DomainError, Violations};
use crate::types::{Country, Email, Quantity};

pub use pricing::{
    Buyer, CartView, CatalogVariant, LineView, PricingContext, ShippingLine, buyer, load_catalog, price,
    tax_rates, view, view_with,
};

/// A cart holds at most this many lines.
pub const MAX_LINES: usize = 100;

/// A cart expires this long after its last use (sliding).
pub fn lifetime() -> Duration {
    Duration::days(7)
}

/// Who may open a cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Owner {
    /// Whoever presents the cart token whose SHA-256 (hex) this is.
    Anonymous { token_sha256: String },
    /// A signed-in customer of the shop.
    Customer { customer_id: Uuid },
}

/// One line: a variant and how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub id: Uuid,
    pub variant_id: Uuid,
    pub quantity: i32,
}

/// A cart's shipping and billing address: the same postal address a customer's address
/// book holds.
pub use crate::customers::PostalAddress;

/// A cart as stored. `version` counts its changes: a store writes a change only over the
/// version it read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    pub id: Uuid,
    pub version: u64,
    pub owner: Owner,
    pub currency: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub shipping_country: Option<String>,
    #[serde(default)]
    pub shipping_address: Option<PostalAddress>,
    #[serde(default)]
    pub billing_address: Option<PostalAddress>,
    /// The shipping rate the shopper chose (one of the methods the cart lists).
    #[serde(default)]
    pub shipping_rate_id: Option<Uuid>,
    pub lines: Vec<Line>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl Cart {
    /// A new, empty cart in `currency`, version 0 (not stored yet).
    pub fn new(owner: Owner, currency: &str, now: DateTime<Utc>) -> Self {
        Cart {
            id: Uuid::now_v7(),
            version: 0,
            owner,
            currency: currency.to_owned(),
            email: None,
            shipping_country: None,
            shipping_address: None,
            billing_address: None,
            shipping_rate_id: None,
            lines: Vec::new(),
            created_at: now,
            updated_at: now,
            expires_at: now + lifetime(),
        }
    }

    /// Marks a change (or a use) at `now`: the cart lives another [`lifetime`].
    pub fn touch(&mut self, now: DateTime<Utc>) {
        self.updated_at = now;
        self.expires_at = now + lifetime();
    }

    /// Whether a read at `now` should extend the cart's life: at most once an hour, so reads
    /// do not write on every call.
    pub fn wants_touch(&self, now: DateTime<Utc>) -> bool {
        self.expires_at - now < lifetime() - Duration::hours(1)
    }

    pub fn customer_id(&self) -> Option<Uuid> {
        match self.owner {
            Owner::Customer { customer_id } => Some(customer_id),
            Owner::Anonymous { .. } => None,
        }
    }

    fn line_index(&self, line_id: Uuid) -> Result<usize, DomainError> {
        self.lines.iter().position(|l| l.id == line_id).ok_or(DomainError::NotFound { resource: "cart line" })
    }

    /// Adds `quantity` of `variant` (summed into its line when the cart has one), checked
    /// against the variant's stock and B2B rules; the line's id.
    pub fn add(
        &mut self,
        variant: Option<&CatalogVariant>,
        variant_id: Uuid,
        quantity: i64,
        buyer: &Buyer,
    ) -> Result<Uuid, DomainError> {
        let existing = self.lines.iter().position(|l| l.variant_id == variant_id);
        let index = existing.unwrap_or(self.lines.len());
        if existing.is_none() && self.lines.len() >= MAX_LINES {
            let mut v = Violations::default();
            v.push("/lines", "too_many_lines", format!("a cart holds at most {MAX_LINES} lines"));
            return Err(DomainError::Validation(v));
        }
        let before = existing.map_or(0, |i| i64::from(self.lines[i].quantity));
        let total = before.saturating_add(quantity);
        let quantity = check_line(variant, total, buyer, &self.currency, index)?;
        match existing {
            Some(i) => {
                self.lines[i].quantity = quantity.get();
                Ok(self.lines[i].id)
            }
            None => {
                let id = Uuid::now_v7();
                self.lines.push(Line { id, variant_id, quantity: quantity.get() });
                Ok(id)
            }
        }
    }

    /// Sets a line's quantity, checked like [`Cart::add`].
    pub fn set_quantity(
        &mut self,
        line_id: Uuid,
        variant: Option<&CatalogVariant>,
        quantity: i64,
        buyer: &Buyer,
    ) -> Result<(), DomainError> {
        let index = self.line_index(line_id)?;
        let quantity = check_line(variant, quantity, buyer, &self.currency, index)?;
        self.lines[index].quantity = quantity.get();
        Ok(())
    }

    pub fn remove(&mut self, line_id: Uuid) -> Result<(), DomainError> {
        let index = self.line_index(line_id)?;
        self.lines.remove(index);
        Ok(())
    }

    pub fn line(&self, line_id: Uuid) -> Result<&Line, DomainError> {
        self.line_index(line_id).map(|i| &self.lines[i])
    }

    /// Applies a checked change of the cart's details.
    pub fn apply(&mut self, details: &Details) {
        if let Some(email) = &details.email {
            self.email = email.clone();
        }
        if let Some(country) = &details.shipping_country {
            self.shipping_country = country.clone();
        }
        if let Some(address) = &details.shipping_address {
            self.shipping_address = address.clone();
        }
        if let Some(address) = &details.billing_address {
            self.billing_address = address.clone();
        }
        if let Some(rate) = details.shipping_rate_id {
            self.shipping_rate_id = rate;
        }
    }
}

/// A change of a cart's details (`PATCH /storefront/carts/{id}`), as a JSON merge patch: an
/// absent field stays, `null` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DetailsPatch {
    #[serde(default, deserialize_with = "crate::present")]
    #[schema(schema_with = crate::schemas::email, nullable)]
    pub email: Option<Option<String>>,
    /// Decides the tax rates.
    #[serde(default, deserialize_with = "crate::present")]
    #[schema(schema_with = crate::schemas::country, nullable)]
    pub shipping_country: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::present")]
    #[schema(value_type = Option<PostalAddress>, nullable)]
    pub shipping_address: Option<Option<PostalAddress>>,
    #[serde(default, deserialize_with = "crate::present")]
    #[schema(value_type = Option<PostalAddress>, nullable)]
    pub billing_address: Option<Option<PostalAddress>>,
    /// The shipping method: the `rate_id` of one of the cart's `shipping_methods`. A method
    /// the cart's country and currency do not offer is kept but not charged (`shipping` is
    /// `null`) and checkout asks for another.
    #[serde(default, deserialize_with = "crate::present")]
    #[schema(nullable)]
    pub shipping_rate_id: Option<Option<Uuid>>,
}

/// A checked [`DetailsPatch`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Details {
    email: Option<Option<String>>,
    shipping_country: Option<Option<String>>,
    shipping_address: Option<Option<PostalAddress>>,
    billing_address: Option<Option<PostalAddress>>,
    shipping_rate_id: Option<Option<Uuid>>,
}

impl DetailsPatch {
    pub fn check(&self) -> Result<Details, DomainError> {
        let mut v = Violations::default();
        let email = self.email.as_ref().map(|email| {
            email
                .as_deref()
                .and_then(|raw| v.check("/email", Email::parse(raw)))
                .map(|e| e.as_str().to_owned())
        });
        let shipping_country = self.shipping_country.as_ref().map(|country| {
            country
                .as_deref()
                .and_then(|raw| v.check("/shipping_country", Country::parse(raw)))
                .map(|c| c.as_str().to_owned())
        });
        for (pointer, address) in
            [("/shipping_address", &self.shipping_address), ("/billing_address", &self.billing_address)]
        {
            if let Some(Some(address)) = address {
                address.check(pointer, &mut v);
            }
        }
        if !v.is_empty() {
            return Err(DomainError::Validation(v));
        }
        Ok(Details {
            email,
            shipping_country,
            shipping_address: self.shipping_address.clone(),
            billing_address: self.billing_address.clone(),
            shipping_rate_id: self.shipping_rate_id,
        })
    }
}

/// The quantity a line of `variant` may hold, or 422 violations pointing at the line
/// (`/lines/{index}/…`, the line's place in the cart as answered).
pub fn check_line(
    variant: Option<&CatalogVariant>,
    quantity: i64,
    buyer: &Buyer,
    currency: &str,
    index: usize,
) -> Result<Quantity, DomainError> {
    let mut v = Violations::default();
    let at = |field: &str| format!("/lines/{index}/{field}");
    let Some(variant) = variant.filter(|variant| variant.active && buyer.may_see(variant)) else {
        v.push(at("variant_id"), "unknown_variant", "no variant with this id is for sale in this shop");
        return Err(DomainError::Validation(v));
    };
    let quantity = v.check(&at("quantity"), Quantity::parse(quantity));
    if variant.b2b.quote_only {
        v.push(
            at("variant_id"),
            "quote_only",
            "this product is sold on quote only; ask the shop for a quote",
        );
    }
    if variant.unit_price(buyer, currency, 1).is_none() {
        v.push(at("variant_id"), "not_sold_in_currency", format!("the variant has no price in {currency}"));
    }
    if let Some(q) = quantity.map(|q| i64::from(q.get())) {
        if let Some(min) = variant.b2b.min_order_quantity
            && q < min
        {
            v.push(at("quantity"), "below_minimum", format!("this product is sold from {min} units"));
        }
        if let Some(step) = variant.b2b.quantity_step
            && q % step != 0
        {
            v.push(at("quantity"), "quantity_step", format!("this product is sold in multiples of {step}"));
        }
        if let Some(stock) = variant.stock
            && q > stock
        {
            v.push(at("quantity"), "insufficient_stock", format!("only {} available", stock.max(0)));
        }
    }
    match quantity {
        Some(quantity) if v.is_empty() => Ok(quantity),
        _ => Err(DomainError::Validation(v)),
    }
}

/// Merges an anonymous cart into a customer's cart (at sign-in): each of its lines is added
/// to `into` like [`Cart::add`] (quantities of one variant summed), and a line that would
/// break a rule (stock, B2B, the line cap) keeps the most the rules allow, or is left out.
/// Details the customer's cart lacks (email, country, addresses) are taken over. Returns the
/// ids of the variants left out.
pub fn merge(into: &mut Cart, from: &Cart, catalog: &[CatalogVariant], buyer: &Buyer) -> Vec<Uuid> {
    let mut dropped = Vec::new();
    for line in &from.lines {
        let variant = catalog.iter().find(|c| c.variant_id == line.variant_id);
        let held =
            into.lines.iter().find(|l| l.variant_id == line.variant_id).map_or(0, |l| i64::from(l.quantity));
        // The most the rules allow on top of what `into` holds: stock, the quantity cap, steps.
        let mut quantity = i64::from(line.quantity).min(i64::from(Quantity::MAX) - held);
        if let Some(stock) = variant.and_then(|v| v.stock) {
            quantity = quantity.min(stock - held);
        }
        if let Some(step) = variant.and_then(|v| v.b2b.quantity_step).filter(|s| *s > 1) {
            quantity -= (held + quantity).rem_euclid(step);
        }
        // `add` changes nothing when it refuses.
        if quantity < 1 || into.add(variant, line.variant_id, quantity, buyer).is_err() {
            dropped.push(line.variant_id);
        }
    }
    into.email = into.email.take().or_else(|| from.email.clone());
    // The shipping method goes with the country it was chosen for.
    if into.shipping_country.is_none() {
        into.shipping_country = from.shipping_country.clone();
        into.shipping_rate_id = from.shipping_rate_id;
    }
    into.shipping_address = into.shipping_address.take().or_else(|| from.shipping_address.clone());
    into.billing_address = into.billing_address.take().or_else(|| from.billing_address.clone());
    dropped
}

#[cfg(test)]
mod tests;
