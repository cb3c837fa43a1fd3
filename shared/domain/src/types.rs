//! Domain newtypes for the strings and numbers that travel through Kassa: each is parsed
//! once at the edge (its rule lives in `parse`, nowhere else) and carried typed into SQL, so
//! a repository function that takes one cannot be handed an unchecked value. They are
//! `sqlx::Type`s (transparent: stored as the plain column type) and serialise as their
//! plain value. (`Currency` and `Locale` have their own modules.)

use std::fmt;

use serde::Serialize;

use crate::error::{Violation, invalid};

macro_rules! text_type {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// A URL-safe handle: 1–`max` lowercase letters, digits and single inner hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, sqlx::Type)]
#[serde(transparent)]
#[sqlx(transparent)]
pub struct Handle(String);

impl Handle {
    pub fn parse(raw: &str, max: usize) -> Result<Self, Violation> {
        let ok = (1..=max).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !raw.starts_with('-')
            && !raw.ends_with('-')
            && !raw.contains("--");
        if ok {
            Ok(Handle(raw.to_owned()))
        } else {
            Err(invalid(
                "invalid_handle",
                format!("a handle is 1–{max} lowercase letters, digits and single inner hyphens"),
            ))
        }
    }
}
text_type!(Handle);

/// A stock-keeping unit: 1–100 visible ASCII characters, no spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, sqlx::Type)]
#[serde(transparent)]
#[sqlx(transparent)]
pub struct Sku(String);

impl Sku {
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        if (1..=100).contains(&raw.len()) && raw.chars().all(|c| c.is_ascii_graphic()) {
            Ok(Sku(raw.to_owned()))
        } else {
            Err(invalid("invalid_sku", "a SKU is 1–100 visible ASCII characters without spaces"))
        }
    }
}
text_type!(Sku);

/// An email address as Kassa sends mail to it: 3–254 characters, `local@domain.tld`, no
/// spaces, control characters or header separators. Surrounding whitespace is dropped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, sqlx::Type)]
#[serde(transparent)]
#[sqlx(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        let raw = raw.trim();
        let ok = (3..=254).contains(&raw.len())
            && raw.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            })
            && !raw.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>' || c == ',');
        if ok {
            Ok(Email(raw.to_owned()))
        } else {
            Err(invalid("invalid_email", "an email address such as anna@example.com"))
        }
    }
}
text_type!(Email);

/// An ISO 3166-1 alpha-2 country code, upper case (`NL`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, sqlx::Type)]
#[serde(transparent)]
#[sqlx(transparent)]
pub struct Country(String);

impl Country {
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        if raw.len() == 2 && raw.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Country(raw.to_owned()))
        } else {
            Err(invalid("invalid_country", "a country is an ISO 3166-1 alpha-2 code such as NL"))
        }
    }
}
text_type!(Country);

/// How many units of a variant an order line holds: 1–10,000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, sqlx::Type)]
#[serde(transparent)]
#[sqlx(transparent)]
pub struct Quantity(i32);

impl Quantity {
    pub const MAX: i32 = 10_000;

    pub fn parse(raw: i64) -> Result<Self, Violation> {
        match i32::try_from(raw) {
            Ok(n) if (1..=Self::MAX).contains(&n) => Ok(Quantity(n)),
            _ => Err(invalid("invalid_quantity", "a quantity is 1–10000")),
        }
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_takes_what_its_rule_allows_and_nothing_else() {
        assert!(Handle::parse("linen-apron-2", 100).is_ok());
        for bad in ["", "-a", "a-", "a--b", "A", "a b", "é"] {
            assert_eq!(Handle::parse(bad, 100).unwrap_err().code, "invalid_handle", "{bad:?}");
        }
        assert!(Handle::parse("abc", 2).is_err());
        assert!(Sku::parse("MUG-1/RED").is_ok());
        assert!(
            Sku::parse("MUG 1").is_err() && Sku::parse("").is_err() && Sku::parse(&"X".repeat(101)).is_err()
        );
        assert_eq!(Email::parse(" anna@example.com ").unwrap().as_str(), "anna@example.com");
        for bad in ["anna", "anna@example", "@example.com", "a b@example.com", "a@example.com,b@example.com"]
        {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        assert!(
            Country::parse("NL").is_ok() && Country::parse("nl").is_err() && Country::parse("NLD").is_err()
        );
        assert_eq!(Quantity::parse(10_000).unwrap().get(), 10_000);
        for bad in [0, -1, 10_001, i64::MAX, i64::from(i32::MAX) + 1] {
            assert!(Quantity::parse(bad).is_err(), "{bad}");
        }
    }
}
