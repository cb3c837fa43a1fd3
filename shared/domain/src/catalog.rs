//! Value types shared by the catalog: handles, translations, attributes, money, B2B settings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::currency::Currency;
use crate::error::{Violation, Violations};
use crate::locale::Locale;
use crate::tenant::Tenant;
use crate::types::Handle;

/// A URL-safe handle: lowercase letters, digits and inner hyphens, at most `max` long (the
/// rule is [`Handle::parse`]'s).
pub fn check_handle(raw: &str, max: usize) -> Result<(), Violation> {
    Handle::parse(raw, max).map(drop)
}

/// Text in several languages, keyed by BCP 47 locale (`{"en": "Mug", "nl": "Mok"}`).
pub type Translations = BTreeMap<String, String>;

/// Checks translations against the tenant's locales: only its locales, each text within
/// `max_chars`, and the default locale present (and non-empty) when `required`.
pub fn check_translations(
    v: &mut Violations,
    pointer: &str,
    texts: &Translations,
    tenant: &Tenant,
    required: bool,
    max_chars: usize,
) {
    if required && texts.get(&tenant.default_locale).is_none_or(|t| t.trim().is_empty()) {
        v.push(
            format!("{pointer}/{}", tenant.default_locale),
            "required",
            format!("a text in the shop's default locale '{}' is required", tenant.default_locale),
        );
    }
    for (locale, text) in texts {
        let at = format!("{pointer}/{}", escape_pointer(locale));
        match Locale::parse(locale) {
            Ok(parsed) if parsed.as_str() == locale && tenant.locales.contains(locale) => {}
            _ => v.push(
                at.clone(),
                "unsupported_locale",
                format!("'{locale}' is not one of the shop's locales ({})", tenant.locales.join(", ")),
            ),
        }
        if text.chars().count() > max_chars {
            v.push(at, "too_long", format!("at most {max_chars} characters"));
        }
    }
}

/// RFC 6901 escaping of one pointer segment.
pub fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// The largest magnitude of a number in free-form JSON a client stores (attributes, workflow
/// condition operands): jsonb keeps any number, but one near `f64::MAX` does not come back as
/// a number serde reads, and the record would fail every read.
pub const MAX_JSON_NUMBER: f64 = 1e15;

/// Whether every number in `value` (nested too) is within ±[`MAX_JSON_NUMBER`].
pub fn numbers_in_range(value: &Value) -> bool {
    number_out_of_range(value).is_none()
}

/// Where in `value` (a JSON pointer relative to it, "" for `value` itself) the first number
/// beyond ±[`MAX_JSON_NUMBER`] is, if one is.
pub fn number_out_of_range(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => (!n.as_f64().is_some_and(|x| x.abs() <= MAX_JSON_NUMBER)).then(String::new),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| number_out_of_range(item).map(|at| format!("/{i}{at}"))),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            number_out_of_range(item).map(|at| format!("/{}{at}", escape_pointer(key)))
        }),
        Value::Null | Value::Bool(_) | Value::String(_) => None,
    }
}

/// An attribute name: 1–50 lowercase letters, digits, `_` or `-`.
fn is_attribute_name(name: &str) -> bool {
    (1..=50).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// An attribute's name (of a variant, of a collection's rule), reported at `at`.
pub fn check_attribute_name(v: &mut Violations, at: &str, name: &str) {
    if !is_attribute_name(name) {
        v.push(at, "invalid_attribute_name", "names are 1–50 lowercase letters, digits, '_' or '-'");
    }
}

/// Variant attributes: a flat object of scalar values (`{"color": "red", "size": "M"}`).
pub fn check_attributes(v: &mut Violations, pointer: &str, attributes: &serde_json::Map<String, Value>) {
    if attributes.len() > 50 {
        v.push(pointer, "too_many", "at most 50 attributes");
    }
    for (key, value) in attributes {
        let at = format!("{pointer}/{}", escape_pointer(key));
        check_attribute_name(v, &at, key);
        match value {
            Value::String(s) if (1..=200).contains(&s.chars().count()) => {}
            Value::Number(_) if numbers_in_range(value) => {}
            Value::Bool(_) => {}
            _ => v.push(
                at,
                "invalid_attribute_value",
                "a value is a string of 1–200 characters, a number from -1e15 to 1e15 or a boolean",
            ),
        }
    }
}

/// An amount of money in minor units (cents) of a currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// Minor units: 1999 is €19.99, 1999 is ¥1999.
    #[schema(schema_with = crate::schemas::amount)]
    pub amount: i64,
    /// ISO 4217 code, e.g. `EUR`.
    #[schema(schema_with = crate::schemas::currency)]
    pub currency: String,
}

/// The largest amount Kassa accepts (10 billion in major units at two decimals).
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;

pub fn check_amount(v: &mut Violations, pointer: &str, amount: i64) {
    if !(0..=MAX_AMOUNT).contains(&amount) {
        v.push(pointer, "invalid_amount", format!("an amount is 0–{MAX_AMOUNT} minor units"));
    }
}

/// Parses a currency code into its canonical form, recording a violation if unknown.
pub fn check_currency(v: &mut Violations, pointer: &str, raw: &str) -> Option<Currency> {
    v.check(pointer, Currency::parse(raw))
}

/// B2B rules of a product.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct B2bSettings {
    /// The smallest quantity one order line may have (1–1,000,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub min_order_quantity: Option<i64>,
    /// Quantities must be a multiple of this (1–1,000,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub quantity_step: Option<i64>,
    /// When set, only these customer groups (by handle) see the product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = crate::schemas::customer_group_handles)]
    pub visible_to_customer_groups: Option<Vec<String>>,
    /// Customers ask for a quote instead of ordering at a price.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub quote_only: bool,
}

impl B2bSettings {
    pub fn check(&self, v: &mut Violations, pointer: &str) {
        for (name, value) in
            [("min_order_quantity", self.min_order_quantity), ("quantity_step", self.quantity_step)]
        {
            if value.is_some_and(|n| !(1..=1_000_000).contains(&n)) {
                v.push(format!("{pointer}/{name}"), "out_of_range", "a whole number from 1 to 1,000,000");
            }
        }
        for (i, handle) in self.visible_to_customer_groups.iter().flatten().enumerate() {
            v.check(&format!("{pointer}/visible_to_customer_groups/{i}"), check_handle(handle, 100));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_lowercase_slugs() {
        for ok in ["mug", "blue-mug-2", "a"] {
            assert!(check_handle(ok, 100).is_ok(), "{ok}");
        }
        for bad in ["", "Mug", "-mug", "mug-", "blue--mug", "blue mug", "mug/1", &"x".repeat(101)] {
            assert!(check_handle(bad, 100).is_err(), "{bad}");
        }
    }

    #[test]
    fn attributes_are_flat_scalars() {
        let mut v = Violations::default();
        let attributes = serde_json::json!({"color": "red", "size": 42, "organic": true, "nested": {"a": 1}, "Bad Key": "x", "empty": "", "huge": f64::MAX, "weight": -1e15});
        check_attributes(&mut v, "/attributes", attributes.as_object().unwrap());
        let pointers: Vec<&str> = v.as_slice().iter().map(|x| x.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            ["/attributes/Bad Key", "/attributes/empty", "/attributes/huge", "/attributes/nested"]
        );
    }

    #[test]
    fn the_first_number_out_of_range_is_pointed_at() {
        use serde_json::json;
        assert_eq!(number_out_of_range(&json!({"a": [1, -1e15, "x", null, {"b": 1e15}]})), None);
        assert_eq!(number_out_of_range(&json!(1e16)).as_deref(), Some(""));
        let nested = json!({"a": [0, {"c/d": [true, -1.7976931348623157e308]}]});
        assert_eq!(number_out_of_range(&nested).as_deref(), Some("/a/1/c~1d/1"));
        assert!(!numbers_in_range(&nested));
    }
}
