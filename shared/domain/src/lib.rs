//! Kassa's domain: types that validate on construction, rules, repositories (plain async
//! functions taking the executor and the tenant first) and the embedded migrator.
//!
//! No HTTP and no Lambda here: the functions and the local server put a face on it.

pub mod access;
pub mod currency;
pub mod db;
pub mod error;
pub mod locale;
pub mod tenant;

pub use error::{DomainError, Violation, Violations};
