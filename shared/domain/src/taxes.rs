//! Tax rates per shop (country × tax class → basis points) and the tax arithmetic.
//!
//! Rounding rules, in integers only (minor units, rates in basis points, 1 bp = 0.01 %):
//! - Tax is computed **per line** on the line amount (unit price × quantity) and rounded to
//!   the minor unit **half away from zero** (amounts are never negative, so: half up). The
//!   order's tax is the sum of its lines' taxes, so the lines always add up to the total.
//! - Prices **including** tax (the EU consumer default): the tax contained in a gross amount
//!   G at rate r is G × r / (10000 + r); the net is G − tax; the total stays G.
//! - Prices **excluding** tax: the tax on a net amount N is N × r / 10000; the total is N + tax.
//! - Intermediate products use i128, so no amount below `MAX_AMOUNT` × 10,000 can overflow.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ErrorCode;
use crate::error::{Constraint, DomainError, Violations};
use crate::resource::{Editable, Resource, WriteQuery};
use crate::tenant::Tenant;
use crate::types::Country;

/// `numerator / denominator` rounded half up (both non-negative, denominator positive).
fn div_round_half_up(numerator: i128, denominator: i128) -> i128 {
    (2 * numerator + denominator) / (2 * denominator)
}

/// The tax in `amount` minor units at `rate_bp` (see the module's rounding rules).
pub fn line_tax(amount: i64, rate_bp: i32, prices_include_tax: bool) -> i64 {
    let (amount, rate) = (i128::from(amount.max(0)), i128::from(rate_bp.max(0)));
    let tax = if prices_include_tax {
        div_round_half_up(amount * rate, 10_000 + rate)
    } else {
        div_round_half_up(amount * rate, 10_000)
    };
    i64::try_from(tax).unwrap_or(i64::MAX)
}

/// Whether a shop's prices include tax: `settings.taxes.prices_include_tax`, true unless
/// the shop says otherwise.
pub fn prices_include_tax(tenant: &Tenant) -> bool {
    tenant.settings.pointer("/taxes/prices_include_tax").and_then(serde_json::Value::as_bool).unwrap_or(true)
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct TaxRate {
    pub id: Uuid,
    #[schema(example = "NL")]
    pub country: String,
    #[schema(example = "standard")]
    pub tax_class: String,
    /// Basis points: 2100 is 21 %.
    #[schema(example = 2100)]
    pub rate_bp: i32,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxRateDraft {
    /// ISO 3166-1 alpha-2 country code.
    #[schema(schema_with = crate::schemas::country)]
    pub country: String,
    /// A product's tax class, e.g. `standard` or `reduced`.
    #[schema(schema_with = crate::schemas::tax_class)]
    pub tax_class: String,
    #[schema(example = 2100, minimum = 0, maximum = 10000)]
    pub rate_bp: i32,
}

impl From<&TaxRate> for TaxRateDraft {
    fn from(r: &TaxRate) -> Self {
        TaxRateDraft { country: r.country.clone(), tax_class: r.tax_class.clone(), rate_bp: r.rate_bp }
    }
}

impl Resource for TaxRate {
    const NAME: &'static str = "tax rate";
    const PLURAL: &'static str = "tax rates";
    const AGGREGATE: &'static str = "tax_rate";
    const TABLE: &'static str = "tax_rates";
    const COLUMNS: &'static str = "id, country::text, tax_class, rate_bp, version, created_at, updated_at";
    const CONSTRAINTS: &'static [Constraint] = &[Constraint::Unique(
        "tax_rates_country_class_key",
        ErrorCode::TaxRateExists,
        "this country and tax class already have a rate",
    )];

    fn id(&self) -> Uuid {
        self.id
    }

    fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
}

/// Checks an ISO 3166-1 alpha-2 shape (the rule is [`Country::parse`]'s).
pub fn check_country(v: &mut Violations, pointer: &str, raw: &str) -> Option<Country> {
    v.check(pointer, Country::parse(raw))
}

/// The draft's country, once every field is valid.
pub(crate) fn check_rate(draft: &TaxRateDraft) -> Result<Country, DomainError> {
    let mut v = Violations::default();
    let country = check_country(&mut v, "/country", &draft.country);
    let class_ok = (1..=50).contains(&draft.tax_class.len())
        && draft
            .tax_class
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !class_ok {
        v.push("/tax_class", "invalid_tax_class", "a tax class is 1–50 of a-z, 0-9, _ and -");
    }
    if !(0..=10_000).contains(&draft.rate_bp) {
        v.push("/rate_bp", "invalid_rate", "a rate is 0–10000 basis points");
    }
    match country {
        Some(country) if v.is_empty() => Ok(country),
        _ => Err(DomainError::Validation(v)),
    }
}

impl Editable for TaxRate {
    type Draft = TaxRateDraft;

    const WRITES: &'static [&'static str] = &["country", "tax_class", "rate_bp"];

    fn bind_draft<'q>(
        draft: &'q TaxRateDraft,
        query: WriteQuery<'q, Self>,
    ) -> Result<WriteQuery<'q, Self>, DomainError> {
        let country = check_rate(draft)?;
        Ok(query.bind(country).bind(&draft.tax_class).bind(draft.rate_bp))
    }

    fn version(&self) -> i64 {
        self.version
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn tax_included_in_a_gross_price_is_rounded_half_up_to_the_cent() {
        // €121.00 at 21 %: exactly €21.00 of it is tax.
        assert_eq!(line_tax(12_100, 2100, true), 2_100);
        // €10.00 at 21 %: 173.553… cents → 174.
        assert_eq!(line_tax(1_000, 2100, true), 174);
        // €9.99 at 9 %: 82.486… → 82.
        assert_eq!(line_tax(999, 900, true), 82);
    }

    #[test]
    fn tax_on_a_net_price_is_rounded_half_up_to_the_cent() {
        assert_eq!(line_tax(10_000, 2100, false), 2_100);
        // 250 cents at 19 %: 47.5 → 48 (half up).
        assert_eq!(line_tax(250, 1900, false), 48);
        // 249 at 19 %: 47.31 → 47.
        assert_eq!(line_tax(249, 1900, false), 47);
        assert_eq!(line_tax(0, 2100, false), 0);
        assert_eq!(line_tax(12_345, 0, true), 0);
    }

    proptest! {
        #[test]
        fn included_tax_never_exceeds_the_gross_and_the_net_plus_tax_is_the_gross(
            amount in 0i64..1_000_000_000_000, rate in 0i32..=10_000
        ) {
            let tax = line_tax(amount, rate, true);
            prop_assert!(tax >= 0 && tax <= amount);
            // The exact tax differs from the rounded one by at most half a minor unit.
            let exact_times_2 = 2 * i128::from(amount) * i128::from(rate);
            let denominator = 10_000 + i128::from(rate);
            prop_assert!((2 * i128::from(tax) * denominator - exact_times_2).abs() <= denominator);
        }

        #[test]
        fn excluded_tax_is_within_half_a_minor_unit_of_the_exact_tax(
            amount in 0i64..1_000_000_000_000, rate in 0i32..=10_000
        ) {
            let tax = line_tax(amount, rate, false);
            let exact_times_2 = 2 * i128::from(amount) * i128::from(rate);
            prop_assert!((2 * i128::from(tax) * 10_000 - exact_times_2).abs() <= 10_000);
        }
    }
}
