//! Kassa's domain: types that validate on construction, rules, repositories (plain async
//! functions taking the executor and the tenant first) and the embedded migrator.
//!
//! No HTTP and no Lambda here: the functions and the local server put a face on it.

pub mod access;
pub mod carts;
pub mod catalog;
pub mod codes;
pub mod currency;
pub mod customers;
pub mod db;
pub mod error;
pub mod locale;
pub mod orders;
pub mod outbox;
pub mod pagination;
pub mod price;
pub mod pricing;
pub mod products;
pub mod relay;
pub mod resource;
pub mod schemas;
pub mod storefront;
pub mod taxes;
pub mod tenant;
pub mod types;
pub mod variants;
pub mod workflows;

pub use codes::ErrorCode;
pub use error::{DomainError, Violation, Violations};
