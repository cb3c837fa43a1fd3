//! Shipping per shop: zones (sets of countries; a country is in at most one zone of a shop)
//! and their rates, and [`methods_for`], the methods a cart can choose and what each costs.
//!
//! Rules of a rate, as [`methods_for`] applies them:
//! - it applies to carts shipping to a country of its zone, in its currency;
//! - a weight band is `min_weight_grams` **inclusive** to `max_weight_grams` **exclusive**
//!   (`min ≤ weight < max`); either end may be open (null);
//! - `amount` is charged unless `free_above` is set and the cart's subtotal is **at least**
//!   `free_above`: then the method costs 0 (free exactly at the threshold);
//! - methods come in the rates' `position` order (then by amount, then by id).
//!
//! Zones and rates are plain resources (generic CRUD, `shipping_zone.*` and
//! `shipping_rate.*` events). Checkout loads a shop's rates for a country with
//! [`load_for_country`] and prices them with [`methods_for`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::ErrorCode;
use crate::catalog::{check_amount, check_currency};
use crate::currency::Currency;
use crate::db::{Plans, ReadQuery, TenantRead, begin_read};
use crate::error::{Constraint, DomainError, Violations};
use crate::resource::{Editable, Resource, WriteQuery};
use crate::tenant::Tenant;
use crate::types::Country;

/// The heaviest band end a rate takes: 1,000 tonnes in grams.
pub const MAX_WEIGHT_GRAMS: i64 = 1_000_000_000;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ShippingZone {
    pub id: Uuid,
    #[schema(example = "Benelux")]
    pub name: String,
    /// ISO 3166-1 alpha-2 codes; each in no other zone of the shop.
    #[schema(example = json!(["NL", "BE", "LU"]))]
    pub countries: Vec<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingZoneDraft {
    #[schema(schema_with = crate::schemas::name)]
    pub name: String,
    /// ISO 3166-1 alpha-2 codes, upper case, each once; at most 250. A country another zone
    /// of the shop has is refused (409 `shipping_country_taken`).
    #[schema(example = json!(["NL", "BE", "LU"]), max_items = 250)]
    pub countries: Vec<String>,
}

impl From<&ShippingZone> for ShippingZoneDraft {
    fn from(z: &ShippingZone) -> Self {
        ShippingZoneDraft { name: z.name.clone(), countries: z.countries.clone() }
    }
}

impl Resource for ShippingZone {
    const NAME: &'static str = "shipping zone";
    const PLURAL: &'static str = "shipping zones";
    const AGGREGATE: &'static str = "shipping_zone";
    const TABLE: &'static str = "shipping_zones";
    const COLUMNS: &'static str = "id, name, countries, version, created_at, updated_at";
    const CONSTRAINTS: &'static [Constraint] = &[
        Constraint::Unique(
            "shipping_zone_countries_country_key",
            ErrorCode::ShippingCountryTaken,
            "another shipping zone of this shop has one of these countries; a country is in one zone at most",
        ),
        Constraint::InUse(
            "shipping_rates_zone_fkey",
            ErrorCode::InUse,
            "shipping rates still belong to this zone; delete them first",
        ),
    ];

    fn id(&self) -> Uuid {
        self.id
    }

    fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
}

fn check_name(v: &mut Violations, name: &str) {
    if name.trim().is_empty() || name.chars().count() > 200 {
        v.push("/name", "invalid_name", "a name is 1–200 characters");
    }
}

/// The draft's countries, once every field is valid (each a country, none twice).
pub(crate) fn check_zone(draft: &ShippingZoneDraft) -> Result<Vec<String>, DomainError> {
    let mut v = Violations::default();
    check_name(&mut v, &draft.name);
    if draft.countries.len() > 250 {
        v.push("/countries", "too_many_countries", "a zone has at most 250 countries");
    }
    let mut countries: Vec<String> = Vec::with_capacity(draft.countries.len());
    for (i, raw) in draft.countries.iter().enumerate() {
        let pointer = format!("/countries/{i}");
        if let Some(country) = v.check(&pointer, Country::parse(raw)) {
            if countries.iter().any(|c| c == country.as_str()) {
                v.push(&pointer, "duplicate_country", format!("{country} is listed twice"));
            } else {
                countries.push(country.as_str().to_owned());
            }
        }
    }
    if v.is_empty() { Ok(countries) } else { Err(DomainError::Validation(v)) }
}

impl Editable for ShippingZone {
    type Draft = ShippingZoneDraft;

    const WRITES: &'static [&'static str] = &["name", "countries"];

    fn bind_draft<'q>(
        draft: &'q ShippingZoneDraft,
        query: WriteQuery<'q, Self>,
    ) -> Result<WriteQuery<'q, Self>, DomainError> {
        let countries = check_zone(draft)?;
        Ok(query.bind(draft.name.trim()).bind(countries))
    }

    fn version(&self) -> i64 {
        self.version
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ShippingRate {
    pub id: Uuid,
    pub zone_id: Uuid,
    #[schema(example = "Standard (PostNL)")]
    pub name: String,
    #[schema(example = "EUR")]
    pub currency: String,
    /// Minor units.
    #[schema(example = 495)]
    pub amount: i64,
    /// The method is free for a cart subtotal of at least this (minor units).
    #[schema(example = 5000)]
    pub free_above: Option<i64>,
    /// Inclusive lower end of the weight band.
    pub min_weight_grams: Option<i32>,
    /// Exclusive upper end of the weight band.
    pub max_weight_grams: Option<i32>,
    #[schema(example = "standard")]
    pub tax_class: String,
    pub position: i32,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn standard() -> String {
    "standard".to_owned()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingRateDraft {
    /// The zone (of this shop) the rate serves.
    pub zone_id: Uuid,
    #[schema(schema_with = crate::schemas::name)]
    pub name: String,
    #[schema(schema_with = crate::schemas::currency)]
    pub currency: String,
    #[schema(schema_with = crate::schemas::amount)]
    pub amount: i64,
    /// Free for a cart subtotal of at least this many minor units; null: never free.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub free_above: Option<i64>,
    /// Inclusive lower end of the weight band in grams; null: no lower end.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub min_weight_grams: Option<i64>,
    /// Exclusive upper end of the weight band in grams, above `min_weight_grams`; null: no
    /// upper end.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub max_weight_grams: Option<i64>,
    /// The tax class the shipping charge is taxed under (default `standard`).
    #[serde(default = "standard")]
    #[schema(schema_with = crate::schemas::tax_class)]
    pub tax_class: String,
    /// Order among the zone's methods, lowest first.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10_000)]
    pub position: i64,
}

impl From<&ShippingRate> for ShippingRateDraft {
    fn from(r: &ShippingRate) -> Self {
        ShippingRateDraft {
            zone_id: r.zone_id,
            name: r.name.clone(),
            currency: r.currency.clone(),
            amount: r.amount,
            free_above: r.free_above,
            min_weight_grams: r.min_weight_grams.map(i64::from),
            max_weight_grams: r.max_weight_grams.map(i64::from),
            tax_class: r.tax_class.clone(),
            position: r.position.into(),
        }
    }
}

impl Resource for ShippingRate {
    const NAME: &'static str = "shipping rate";
    const PLURAL: &'static str = "shipping rates";
    const AGGREGATE: &'static str = "shipping_rate";
    const TABLE: &'static str = "shipping_rates";
    const COLUMNS: &'static str = "id, zone_id, name, currency, amount, free_above, min_weight_grams, \
                                   max_weight_grams, tax_class, position, version, created_at, updated_at";
    const CONSTRAINTS: &'static [Constraint] =
        &[Constraint::Reference("shipping_rates_zone_fkey", "/zone_id", "no shipping zone with this id")];

    fn id(&self) -> Uuid {
        self.id
    }

    fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
}

/// A rate's values once valid: currency, weight band, position.
pub(crate) struct CheckedRate {
    currency: Currency,
    min_weight: Option<i32>,
    max_weight: Option<i32>,
    position: i32,
}

fn check_weight(v: &mut Violations, pointer: &str, grams: Option<i64>, least: i64) -> Option<i32> {
    let grams = grams?;
    match i32::try_from(grams) {
        Ok(g) if (least..=MAX_WEIGHT_GRAMS).contains(&grams) => Some(g),
        _ => {
            v.push(pointer, "invalid_weight", format!("a weight is {least}–{MAX_WEIGHT_GRAMS} grams"));
            None
        }
    }
}

pub(crate) fn check_rate(draft: &ShippingRateDraft) -> Result<CheckedRate, DomainError> {
    let mut v = Violations::default();
    check_name(&mut v, &draft.name);
    let currency = check_currency(&mut v, "/currency", &draft.currency);
    check_amount(&mut v, "/amount", draft.amount);
    if let Some(free_above) = draft.free_above {
        check_amount(&mut v, "/free_above", free_above);
    }
    let min_weight = check_weight(&mut v, "/min_weight_grams", draft.min_weight_grams, 0);
    let max_weight = check_weight(&mut v, "/max_weight_grams", draft.max_weight_grams, 1);
    if let (Some(min), Some(max)) = (min_weight, max_weight)
        && min >= max
    {
        v.push("/max_weight_grams", "invalid_weight_band", "max_weight_grams must be above min_weight_grams");
    }
    let class_ok = (1..=50).contains(&draft.tax_class.len())
        && draft
            .tax_class
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !class_ok {
        v.push("/tax_class", "invalid_tax_class", "a tax class is 1–50 of a-z, 0-9, _ and -");
    }
    let position = i32::try_from(draft.position).ok().filter(|p| (0..=10_000).contains(p));
    if position.is_none() {
        v.push("/position", "out_of_range", "position is 0–10000");
    }
    match (currency, position) {
        (Some(currency), Some(position)) if v.is_empty() => {
            Ok(CheckedRate { currency, min_weight, max_weight, position })
        }
        _ => Err(DomainError::Validation(v)),
    }
}

impl Editable for ShippingRate {
    type Draft = ShippingRateDraft;

    const WRITES: &'static [&'static str] = &[
        "zone_id",
        "name",
        "currency",
        "amount",
        "free_above",
        "min_weight_grams",
        "max_weight_grams",
        "tax_class",
        "position",
    ];

    fn bind_draft<'q>(
        draft: &'q ShippingRateDraft,
        query: WriteQuery<'q, Self>,
    ) -> Result<WriteQuery<'q, Self>, DomainError> {
        let rate = check_rate(draft)?;
        Ok(query
            .bind(draft.zone_id)
            .bind(draft.name.trim())
            .bind(rate.currency.code())
            .bind(draft.amount)
            .bind(draft.free_above)
            .bind(rate.min_weight)
            .bind(rate.max_weight)
            .bind(&draft.tax_class)
            .bind(rate.position))
    }

    fn version(&self) -> i64 {
        self.version
    }
}

/// A way to ship a cart and what it costs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ShippingMethod {
    pub rate_id: Uuid,
    pub name: String,
    /// Minor units; 0 when the cart reached the rate's `free_above`.
    pub amount: i64,
    pub currency: String,
    /// What the charge is taxed under (the shop's rate for the country and this class).
    pub tax_class: String,
}

/// Whether `weight_grams` is in the rate's band (`min` inclusive, `max` exclusive).
pub fn in_weight_band(rate: &ShippingRate, weight_grams: i64) -> bool {
    rate.min_weight_grams.is_none_or(|min| weight_grams >= i64::from(min))
        && rate.max_weight_grams.is_none_or(|max| weight_grams < i64::from(max))
}

/// The methods available to a cart shipping to `country` in `currency` with this subtotal
/// (minor units) and weight: the rates of the zone holding `country` that match the
/// currency and weight band, each priced (see the module's rules). A country in no zone has
/// none.
pub fn methods_for(
    zones: &[ShippingZone],
    rates: &[ShippingRate],
    country: &Country,
    currency: &Currency,
    subtotal: i64,
    weight_grams: i64,
) -> Vec<ShippingMethod> {
    let Some(zone) = zones.iter().find(|z| z.countries.iter().any(|c| c == country.as_str())) else {
        return Vec::new();
    };
    let mut matching: Vec<&ShippingRate> = rates
        .iter()
        .filter(|r| r.zone_id == zone.id && r.currency == currency.code() && in_weight_band(r, weight_grams))
        .collect();
    matching.sort_by_key(|r| (r.position, r.amount, r.id));
    matching
        .into_iter()
        .map(|r| ShippingMethod {
            rate_id: r.id,
            name: r.name.clone(),
            amount: if r.free_above.is_some_and(|free| subtotal >= free) { 0 } else { r.amount },
            currency: r.currency.clone(),
            tax_class: r.tax_class.clone(),
        })
        .collect()
}

/// The zone of `tenant` that holds `country` (if any) and its rates, for [`methods_for`].
pub async fn load_for_country(
    pool: &PgPool,
    tenant: &Tenant,
    country: &Country,
) -> Result<(Vec<ShippingZone>, Vec<ShippingRate>), DomainError> {
    let mut read = begin_read(pool, tenant.id, Plans::Generic).await?;
    load_for_country_in(&mut read, tenant, country).await
}

/// [`load_for_country`] in a read of the caller's: the zones and their rates in one round trip.
pub async fn load_for_country_in(
    read: &mut TenantRead,
    tenant: &Tenant,
    country: &Country,
) -> Result<(Vec<ShippingZone>, Vec<ShippingRate>), DomainError> {
    // The zones holding the country (`$1` the shop, `$2` the country).
    const ZONES: &str = "select z.id from shipping_zones z where z.tenant_id = $1 and exists (
           select 1 from shipping_zone_countries c
            where c.tenant_id = z.tenant_id and c.zone_id = z.id and c.country = $2)";
    let zones =
        ReadQuery::new(format!("select {} from shipping_zones where id in ({ZONES})", ShippingZone::COLUMNS))
            .bind(tenant.id)
            .bind(country.as_str());
    let rates = ReadQuery::new(format!(
        "select {} from shipping_rates where tenant_id = $1 and zone_id in ({ZONES}) order by position, id",
        ShippingRate::COLUMNS
    ))
    .bind(tenant.id)
    .bind(country.as_str());
    Ok(read.fetch_pair(&zones, &rates).await?)
}

/// [`load_for_country`] then [`methods_for`]: what a cart of `tenant` can choose.
pub async fn available_methods(
    pool: &PgPool,
    tenant: &Tenant,
    country: &Country,
    currency: &Currency,
    subtotal: i64,
    weight_grams: i64,
) -> Result<Vec<ShippingMethod>, DomainError> {
    let (zones, rates) = load_for_country(pool, tenant, country).await?;
    Ok(methods_for(&zones, &rates, country, currency, subtotal, weight_grams))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use proptest::prelude::*;

    use super::*;

    fn zone(countries: &[&str]) -> ShippingZone {
        ShippingZone {
            id: Uuid::now_v7(),
            name: "Zone".into(),
            countries: countries.iter().map(|c| (*c).to_owned()).collect(),
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn rate(zone: &ShippingZone, amount: i64) -> ShippingRate {
        ShippingRate {
            id: Uuid::now_v7(),
            zone_id: zone.id,
            name: "Standard".into(),
            currency: "EUR".into(),
            amount,
            free_above: None,
            min_weight_grams: None,
            max_weight_grams: None,
            tax_class: "standard".into(),
            position: 0,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn nl() -> Country {
        Country::parse("NL").unwrap()
    }

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    #[test]
    fn a_rate_is_free_exactly_at_its_threshold_and_charged_one_cent_below() {
        let z = zone(&["NL", "BE"]);
        let r = ShippingRate { free_above: Some(5_000), ..rate(&z, 495) };
        let (zones, rates) = (vec![z], vec![r.clone()]);
        let at = methods_for(&zones, &rates, &nl(), &eur(), 5_000, 100);
        assert_eq!(at.len(), 1);
        assert_eq!((at[0].rate_id, at[0].amount, at[0].currency.as_str()), (r.id, 0, "EUR"));
        assert_eq!(methods_for(&zones, &rates, &nl(), &eur(), 4_999, 100)[0].amount, 495);
        assert_eq!(methods_for(&zones, &rates, &nl(), &eur(), 5_001, 100)[0].amount, 0);
    }

    #[test]
    fn weight_bands_include_their_minimum_and_exclude_their_maximum() {
        let z = zone(&["NL"]);
        let light = ShippingRate { max_weight_grams: Some(2_000), name: "Light".into(), ..rate(&z, 495) };
        let heavy = ShippingRate {
            min_weight_grams: Some(2_000),
            max_weight_grams: Some(30_000),
            name: "Heavy".into(),
            ..rate(&z, 1_295)
        };
        let (zones, rates) = (vec![z], vec![light, heavy]);
        let names = |grams| -> Vec<String> {
            methods_for(&zones, &rates, &nl(), &eur(), 0, grams).into_iter().map(|m| m.name).collect()
        };
        assert_eq!(names(0), ["Light"]);
        assert_eq!(names(1_999), ["Light"]);
        assert_eq!(names(2_000), ["Heavy"]);
        assert_eq!(names(29_999), ["Heavy"]);
        assert!(names(30_000).is_empty());
    }

    #[test]
    fn a_country_in_no_zone_or_another_currency_has_no_methods() {
        let z = zone(&["NL"]);
        let (zones, rates) = (vec![z.clone()], vec![rate(&z, 495)]);
        let us = Country::parse("US").unwrap();
        assert!(methods_for(&zones, &rates, &us, &eur(), 0, 0).is_empty());
        assert!(methods_for(&zones, &rates, &nl(), &Currency::parse("USD").unwrap(), 0, 0).is_empty());
        assert!(methods_for(&[], &[], &nl(), &eur(), 0, 0).is_empty());
    }

    #[test]
    fn methods_come_in_position_order_and_only_from_the_countrys_zone() {
        let (benelux, dach) = (zone(&["NL", "BE"]), zone(&["DE"]));
        let express = ShippingRate { position: 2, name: "Express".into(), ..rate(&benelux, 995) };
        let standard = ShippingRate { position: 1, name: "Standard".into(), ..rate(&benelux, 495) };
        let germany = ShippingRate { name: "DHL".into(), ..rate(&dach, 695) };
        let rates = vec![express, germany, standard];
        let zones = vec![benelux, dach];
        let names: Vec<String> =
            methods_for(&zones, &rates, &nl(), &eur(), 0, 0).into_iter().map(|m| m.name).collect();
        assert_eq!(names, ["Standard", "Express"]);
    }

    #[test]
    fn a_zone_draft_with_a_bad_or_repeated_country_is_refused_at_its_index() {
        let draft =
            ShippingZoneDraft { name: "EU".into(), countries: vec!["NL".into(), "nl".into(), "NL".into()] };
        let Err(DomainError::Validation(v)) = check_zone(&draft) else { panic!("accepted") };
        let pointers: Vec<&str> = v.as_slice().iter().map(|x| x.pointer.as_str()).collect();
        assert_eq!(pointers, ["/countries/1", "/countries/2"]);
        let ok = ShippingZoneDraft { name: "EU".into(), countries: vec!["NL".into(), "BE".into()] };
        assert_eq!(check_zone(&ok).unwrap(), ["NL", "BE"]);
    }

    #[test]
    fn a_rate_draft_with_an_inverted_band_a_negative_amount_or_an_unknown_currency_is_refused() {
        let draft = ShippingRateDraft {
            zone_id: Uuid::now_v7(),
            name: "Standard".into(),
            currency: "XXZ".into(),
            amount: -1,
            free_above: Some(-5),
            min_weight_grams: Some(500),
            max_weight_grams: Some(500),
            tax_class: "standard".into(),
            position: 0,
        };
        let Err(DomainError::Validation(v)) = check_rate(&draft) else { panic!("accepted") };
        let pointers: Vec<&str> = v.as_slice().iter().map(|x| x.pointer.as_str()).collect();
        assert_eq!(pointers, ["/currency", "/amount", "/free_above", "/max_weight_grams"]);
    }

    proptest! {
        #[test]
        fn a_method_costs_its_amount_below_the_threshold_and_nothing_from_it(
            amount in 0i64..1_000_000, free_above in 0i64..1_000_000, subtotal in 0i64..2_000_000,
            weight in 0i64..100_000, min in proptest::option::of(0i32..50_000), span in proptest::option::of(1i32..50_000),
        ) {
            let z = zone(&["NL"]);
            let max = match (min, span) { (_, None) => None, (m, Some(s)) => Some(m.unwrap_or(0) + s) };
            let r = ShippingRate { free_above: Some(free_above), min_weight_grams: min, max_weight_grams: max, ..rate(&z, amount) };
            let methods = methods_for(&[z], std::slice::from_ref(&r), &nl(), &eur(), subtotal, weight);
            let in_band = min.is_none_or(|m| weight >= i64::from(m)) && max.is_none_or(|m| weight < i64::from(m));
            prop_assert_eq!(methods.len(), usize::from(in_band));
            if let Some(m) = methods.first() {
                prop_assert_eq!(m.amount, if subtotal >= free_above { 0 } else { amount });
                prop_assert!(m.amount >= 0 && m.amount <= amount);
            }
        }
    }
}
