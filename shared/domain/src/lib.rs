//! Kassa's domain: types that validate on construction, rules, repositories (plain async
//! functions taking the executor and the tenant first) and the embedded migrator.
//!
//! No HTTP and no Lambda here: the functions and the local server put a face on it.

pub mod access;
pub mod carts;
pub mod catalog;
pub mod checkout;
pub mod codes;
pub mod collections;
pub mod currency;
pub mod customers;
pub mod db;
pub mod error;
pub mod locale;
pub mod media;
pub mod orders;
pub mod outbox;
pub mod pages;
pub mod pagination;
pub mod payments;
pub mod price;
pub mod pricing;
pub mod products;
pub mod relay;
pub mod resource;
pub mod schemas;
pub mod shipping;
pub mod storefront;
pub mod taxes;
pub mod tenant;
pub mod types;
pub mod variants;
pub mod workflows;

pub use codes::ErrorCode;
pub use error::{DomainError, Violation, Violations};

/// For merge-patch fields (`#[serde(default, deserialize_with = "kassa_domain::present")]`
/// on an `Option<Option<T>>`): absent is `None` (keep), `null` is `Some(None)` (clear), a
/// value is `Some(Some(v))`. Plain serde would read `null` as absent.
pub fn present<'de, T: serde::Deserialize<'de>, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}
