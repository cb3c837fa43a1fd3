//! Customer groups, subscription plans, price lists and their prices (tier prices per
//! variant and minimum quantity), one module each.
//!
//! The first three are plain resources: their create and update (with the SQL) are their
//! [`Editable`](crate::resource::Editable) impls, reads and deletes are
//! [`resource`](crate::resource)'s, and `kassa_http::crud` serves them.

mod customer_groups;
mod price_lists;
mod prices;
mod subscription_plans;

pub use customer_groups::{CustomerGroup, CustomerGroupDraft};
pub use price_lists::{PriceList, PriceListDraft, PriceListStatus};
pub use prices::{
    ListPriceRow, MAX_PRICE_ROWS, PRICES_ORDERING, PriceUpsert, PriceUpsertResult, delete_price, list_prices,
    upsert_prices,
};
pub use subscription_plans::{Interval, SubscriptionPlan, SubscriptionPlanDraft};

use crate::error::Violations;

pub(crate) fn check_name(v: &mut Violations, name: &str) {
    if name.trim().is_empty() || name.chars().count() > 200 {
        v.push("/name", "invalid_name", "a name is 1–200 characters");
    }
}
