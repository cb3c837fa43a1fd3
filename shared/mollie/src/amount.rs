//! Money at the edge: Kassa keeps integer minor units plus an ISO 4217 code; Mollie wants a
//! decimal string with exactly the currency's decimals (`"10.00"`, `"1000"` for JPY).

use kassa_domain::currency::Currency;
use serde::{Deserialize, Serialize};

use crate::MollieError;

/// The currencies Mollie takes payments in (docs.mollie.com, "Multicurrency"); each one's
/// decimals are its ISO 4217 exponent (ISK and JPY have none). KWD and other ISO currencies
/// are not among them: an amount in one is refused before any call.
pub const SUPPORTED_CURRENCIES: &[&str] = &[
    "AED", "AUD", "BRL", "CAD", "CHF", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF", "ILS", "ISK", "JPY", "MXN",
    "MYR", "NOK", "NZD", "PHP", "PLN", "RON", "SEK", "SGD", "THB", "TWD", "USD", "ZAR",
];

/// Whether Mollie takes payments in `code` (upper case).
pub fn is_supported(code: &str) -> bool {
    SUPPORTED_CURRENCIES.contains(&code)
}

/// `minor_units` of `currency` as a decimal string with exactly the currency's ISO 4217
/// decimals: EUR 1234 → `"12.34"`, JPY 1234 → `"1234"`, KWD 1234 → `"1.234"`. Does not ask
/// whether Mollie takes the currency ([`Amount::new`] does); an unknown code is an error.
pub fn format_amount(minor_units: i64, currency: &str) -> Result<String, MollieError> {
    let currency = Currency::parse(currency)
        .map_err(|_| MollieError::UnsupportedCurrency { currency: currency.to_owned() })?;
    let exponent = u32::from(currency.exponent());
    let sign = if minor_units < 0 { "-" } else { "" };
    let magnitude = minor_units.unsigned_abs();
    if exponent == 0 {
        return Ok(format!("{sign}{magnitude}"));
    }
    let unit = 10u64.pow(exponent);
    let width = exponent as usize;
    Ok(format!("{sign}{}.{:0width$}", magnitude / unit, magnitude % unit))
}

/// Mollie's decimal string back to minor units of `currency`: `"12.34"` EUR → 1234. The
/// number of decimals must be the currency's exactly, as Mollie writes them.
pub fn parse_amount(value: &str, currency: &str) -> Result<i64, MollieError> {
    let bad = || MollieError::Unexpected(format!("'{value}' is not an amount in {currency}"));
    let exponent = Currency::parse(currency).map_err(|_| bad())?.exponent() as usize;
    let (negative, digits) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (digits, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) || fraction.len() != exponent {
        return Err(bad());
    }
    let unit = 10i64.checked_pow(exponent as u32).ok_or_else(bad)?;
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let fraction: i64 = if fraction.is_empty() { 0 } else { fraction.parse().map_err(|_| bad())? };
    let minor = whole.checked_mul(unit).and_then(|w| w.checked_add(fraction)).ok_or_else(bad)?;
    Ok(if negative { -minor } else { minor })
}

/// Mollie's amount object, `{"currency": "EUR", "value": "10.00"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amount {
    pub currency: String,
    pub value: String,
}

impl Amount {
    /// An amount to send to Mollie: positive, in a currency Mollie takes (else
    /// [`MollieError::UnsupportedCurrency`], before any call), formatted by its exponent.
    pub fn new(minor_units: i64, currency: &str) -> Result<Self, MollieError> {
        let code = currency.to_ascii_uppercase();
        if !is_supported(&code) {
            return Err(MollieError::UnsupportedCurrency { currency: currency.to_owned() });
        }
        if minor_units <= 0 {
            return Err(MollieError::InvalidAmount(format!("{minor_units} is not a positive amount")));
        }
        let value = format_amount(minor_units, &code)?;
        Ok(Self { currency: code, value })
    }

    /// The amount in minor units of its currency.
    pub fn minor_units(&self) -> Result<i64, MollieError> {
        parse_amount(&self.value, &self.currency)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

    use super::*;

    #[test]
    fn amounts_have_exactly_the_currencys_decimals() {
        assert_eq!(format_amount(1234, "EUR").unwrap(), "12.34");
        assert_eq!(format_amount(5, "EUR").unwrap(), "0.05");
        assert_eq!(format_amount(100_000_000, "EUR").unwrap(), "1000000.00", "no thousands separator");
        assert_eq!(format_amount(0, "EUR").unwrap(), "0.00");
        assert_eq!(format_amount(1234, "JPY").unwrap(), "1234");
        assert_eq!(format_amount(990, "isk").unwrap(), "990");
        assert_eq!(format_amount(-5, "EUR").unwrap(), "-0.05");
        assert_eq!(format_amount(i64::MIN, "EUR").unwrap(), "-92233720368547758.08");
    }

    #[test]
    fn a_three_decimal_currency_formats_with_three_decimals_though_mollie_refuses_it() {
        assert_eq!(format_amount(1234, "KWD").unwrap(), "1.234");
        assert_eq!(format_amount(7, "BHD").unwrap(), "0.007");
        assert!(matches!(
            Amount::new(1234, "KWD"),
            Err(MollieError::UnsupportedCurrency { currency }) if currency == "KWD"
        ));
    }

    #[test]
    fn an_unknown_code_is_refused() {
        assert!(matches!(format_amount(1, "XXY"), Err(MollieError::UnsupportedCurrency { .. })));
        assert!(matches!(Amount::new(1, "XXY"), Err(MollieError::UnsupportedCurrency { .. })));
    }

    #[test]
    fn amounts_for_mollie_are_positive_and_in_its_currencies() {
        assert_eq!(
            Amount::new(1000, "jpy").unwrap(),
            Amount { currency: "JPY".into(), value: "1000".into() }
        );
        assert!(matches!(Amount::new(0, "EUR"), Err(MollieError::InvalidAmount(_))));
        assert!(matches!(Amount::new(-1, "EUR"), Err(MollieError::InvalidAmount(_))));
        for code in SUPPORTED_CURRENCIES {
            assert!(Currency::parse(code).is_ok(), "{code} is no ISO 4217 code");
            let amount = Amount::new(123_456, code).unwrap();
            assert_eq!(amount.minor_units().unwrap(), 123_456, "{code}");
        }
        let mut sorted = SUPPORTED_CURRENCIES.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, SUPPORTED_CURRENCIES);
    }

    #[test]
    fn mollie_values_parse_back_to_minor_units() {
        assert_eq!(parse_amount("12.34", "EUR").unwrap(), 1234);
        assert_eq!(parse_amount("1000", "JPY").unwrap(), 1000);
        assert_eq!(parse_amount("1.234", "KWD").unwrap(), 1234);
        assert_eq!(parse_amount("-0.05", "EUR").unwrap(), -5);
        for bad in ["12.3", "12", "1,234.00", "", ".50", "12.345", "1e3", "12.3x"] {
            assert!(parse_amount(bad, "EUR").is_err(), "{bad} accepted");
        }
        assert!(parse_amount("12.00", "JPY").is_err());
        assert!(parse_amount("99999999999999999999.00", "EUR").is_err());
    }
}
