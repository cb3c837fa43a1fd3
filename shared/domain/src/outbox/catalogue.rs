//! The event catalogue: every event type Kassa appends to the outbox, when it is appended and
//! the Rust type whose JSON is its `data`. The README's "Event catalogue" is rendered from
//! [`CATALOGUE`] (`kassa_events::catalogue::markdown`, checked by a test), and
//! [`super::append`] refuses, in debug builds, a type that is not listed here — so
//! every test that writes checks that the catalogue is complete.
//!
//! Names. An event type here is the **domain name** `<aggregate>.<action>` (`order.placed`):
//! the outbox's `event_type` column, a workflow's `trigger`, a run's `event_type`. On the
//! bus (RabbitMQ routing key, the CloudEvent `type`, also in the CloudEvent a webhook step
//! posts) the same event is called `event.<aggregate>.<action>` (`event.order.placed`). That
//! mapping happens in one place, `kassa_events::envelope::bus_type`, when an outbox row
//! becomes a CloudEvent; stored rows, stored workflows and their triggers keep the domain name
//! and need no migration.

use crate::{
    collections, customers, media, orders, pages, payments, pricing, products, shipping, taxes, variants,
    workflows,
};

/// One event type of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct EventKind {
    /// The domain name, `<aggregate>.<action>`: the outbox's `event_type` and a workflow's
    /// `trigger`.
    pub event_type: &'static str,
    /// The outbox's `aggregate_type`: the CloudEvent `source` is `kassa/<aggregate>` and its
    /// `subject` the aggregate's id.
    pub aggregate: &'static str,
    /// When it is appended (in the transaction of that change).
    pub emitted_when: &'static str,
    /// The Rust type whose JSON is the payload's `data` (`{"schema_version": 1, "data": …}`).
    pub data: fn() -> &'static str,
}

const fn kind(
    event_type: &'static str,
    aggregate: &'static str,
    emitted_when: &'static str,
    data: fn() -> &'static str,
) -> EventKind {
    EventKind { event_type, aggregate, emitted_when, data }
}

use std::any::type_name;

/// Every event type the code appends, grouped by aggregate.
pub const CATALOGUE: &[EventKind] = &[
    kind("product.created", "product", "a product is created", type_name::<products::Product>),
    kind(
        "product.updated",
        "product",
        "a product's fields change, or deleting a product that has been active archives it",
        type_name::<products::Product>,
    ),
    kind(
        "product.deleted",
        "product",
        "a product that was never active is deleted (data: its last state)",
        type_name::<products::Product>,
    ),
    kind(
        "product_media.created",
        "product_media",
        "an image is attached to a product (an upload of the shop, or an external URL)",
        type_name::<media::ProductMedia>,
    ),
    kind(
        "product_media.updated",
        "product_media",
        "an image's alt text or variant changes, or it moves in its product's order",
        type_name::<media::ProductMedia>,
    ),
    kind(
        "product_media.deleted",
        "product_media",
        "an image is removed, or its product is deleted (one per image; the worker then deletes an upload's object from the bucket)",
        type_name::<media::ProductMedia>,
    ),
    kind("collection.created", "collection", "a collection is created", type_name::<collections::Collection>),
    kind(
        "collection.updated",
        "collection",
        "a collection's fields change, or a manual collection's products are set",
        type_name::<collections::Collection>,
    ),
    kind(
        "collection.deleted",
        "collection",
        "a collection is deleted (data: its last state)",
        type_name::<collections::Collection>,
    ),
    kind("variant.created", "variant", "a variant is created", type_name::<variants::Variant>),
    kind("variant.updated", "variant", "a variant's fields change", type_name::<variants::Variant>),
    kind(
        "variant.deleted",
        "variant",
        "a variant is deleted (data: its last state)",
        type_name::<variants::Variant>,
    ),
    kind(
        "stock.adjusted",
        "variant",
        "staff adjust a variant's stock, or a workflow's `deduct_stock` step deducts an order's lines (one event per line whose stock is tracked)",
        type_name::<variants::StockLevel>,
    ),
    kind(
        "customer.created",
        "customer",
        "a shopper signs up (unverified until the mailed code is redeemed)",
        type_name::<customers::Customer>,
    ),
    kind(
        "customer.updated",
        "customer",
        "staff or the customer change the profile, staff change the groups, block or unblock",
        type_name::<customers::Customer>,
    ),
    kind(
        "customer_group.created",
        "customer_group",
        "a customer group is created",
        type_name::<pricing::CustomerGroup>,
    ),
    kind(
        "customer_group.updated",
        "customer_group",
        "a customer group's fields change",
        type_name::<pricing::CustomerGroup>,
    ),
    kind(
        "customer_group.deleted",
        "customer_group",
        "a customer group is deleted (data: its last state)",
        type_name::<pricing::CustomerGroup>,
    ),
    kind(
        "subscription_plan.created",
        "subscription_plan",
        "a subscription plan is created",
        type_name::<pricing::SubscriptionPlan>,
    ),
    kind(
        "subscription_plan.updated",
        "subscription_plan",
        "a subscription plan's fields change",
        type_name::<pricing::SubscriptionPlan>,
    ),
    kind(
        "subscription_plan.deleted",
        "subscription_plan",
        "a subscription plan is deleted (data: its last state)",
        type_name::<pricing::SubscriptionPlan>,
    ),
    kind("price_list.created", "price_list", "a price list is created", type_name::<pricing::PriceList>),
    kind(
        "price_list.updated",
        "price_list",
        "a price list's fields change (data: the list), or its prices change (data: `{\"price_list\": <the list>, \"prices\": [ListPriceRow]}` after an upsert, `{\"price_list\": <the list>, \"removed\": {\"variant_id\", \"min_quantity\"}}` after a removal)",
        type_name::<pricing::PriceList>,
    ),
    kind(
        "price_list.deleted",
        "price_list",
        "a price list is deleted (data: its last state)",
        type_name::<pricing::PriceList>,
    ),
    kind("tax_rate.created", "tax_rate", "a tax rate is created", type_name::<taxes::TaxRate>),
    kind("tax_rate.updated", "tax_rate", "a tax rate's fields change", type_name::<taxes::TaxRate>),
    kind(
        "tax_rate.deleted",
        "tax_rate",
        "a tax rate is deleted (data: its last state)",
        type_name::<taxes::TaxRate>,
    ),
    kind(
        "shipping_zone.created",
        "shipping_zone",
        "a shipping zone is created",
        type_name::<shipping::ShippingZone>,
    ),
    kind(
        "shipping_zone.updated",
        "shipping_zone",
        "a shipping zone's name or countries change",
        type_name::<shipping::ShippingZone>,
    ),
    kind(
        "shipping_zone.deleted",
        "shipping_zone",
        "a shipping zone is deleted (data: its last state)",
        type_name::<shipping::ShippingZone>,
    ),
    kind(
        "shipping_rate.created",
        "shipping_rate",
        "a shipping rate is created",
        type_name::<shipping::ShippingRate>,
    ),
    kind(
        "shipping_rate.updated",
        "shipping_rate",
        "a shipping rate's fields change",
        type_name::<shipping::ShippingRate>,
    ),
    kind(
        "shipping_rate.deleted",
        "shipping_rate",
        "a shipping rate is deleted (data: its last state)",
        type_name::<shipping::ShippingRate>,
    ),
    kind(
        "page.created",
        "page",
        "staff create a page (data: its fields, without the document)",
        type_name::<pages::Page>,
    ),
    kind(
        "page.updated",
        "page",
        "a page's fields or draft change, a draft is restored from a revision, or a publication is scheduled or canceled (data without the document)",
        type_name::<pages::Page>,
    ),
    kind(
        "page.deleted",
        "page",
        "a page is deleted with its revisions (data: its last state, without the document)",
        type_name::<pages::Page>,
    ),
    kind(
        "page.published",
        "page",
        "a page's draft becomes a new revision the storefront shows: `POST …/publish`, a restore with publish, or its scheduled time (data without the document)",
        type_name::<pages::Page>,
    ),
    kind(
        "block_type.created",
        "block_type",
        "a shop adds a section or block type of its own",
        type_name::<pages::blocks::CustomBlockType>,
    ),
    kind(
        "block_type.updated",
        "block_type",
        "a shop's own block type changes (no page became invalid)",
        type_name::<pages::blocks::CustomBlockType>,
    ),
    kind(
        "block_type.deleted",
        "block_type",
        "a shop's own block type no page uses is deleted (data: its last state)",
        type_name::<pages::blocks::CustomBlockType>,
    ),
    kind(
        "order.placed",
        "order",
        "an order is placed: `POST /management/orders`, or a checkout's payment is paid or authorized (once, whatever Mollie's webhook repeats)",
        type_name::<orders::Order>,
    ),
    kind(
        "order.payment_failed",
        "order",
        "a checkout's payment fails, is canceled or expires, or its reservation times out: the order is `payment_failed`, `canceled` or `expired` and its stock released",
        type_name::<orders::Order>,
    ),
    kind(
        "order.refunded",
        "order",
        "a refund of the order reaches `refunded` at the payment provider (data: the order with its `refunded_amount`)",
        type_name::<orders::Order>,
    ),
    kind(
        "order.needs_attention",
        "order",
        "a `deduct_stock` step finds too little stock for the order (nothing is deducted), or a payment succeeds after its reservation timed out and the stock is gone",
        type_name::<orders::Order>,
    ),
    kind(
        "order.taxes_calculated",
        "order",
        "a `calculate_taxes` step sets the order's taxes",
        type_name::<orders::Order>,
    ),
    kind(
        "order.status_changed",
        "order",
        "a `set_order_status` step changes the order's status",
        type_name::<orders::Order>,
    ),
    kind(
        "workflow.created",
        "workflow",
        "staff create a workflow (a shop's default \"On order placed\", provisioned with the shop, appends none; webhook secrets shown as `********`)",
        type_name::<workflows::Workflow>,
    ),
    kind(
        "workflow.updated",
        "workflow",
        "a workflow changes (webhook secrets shown as `********`)",
        type_name::<workflows::Workflow>,
    ),
    kind(
        "workflow.deleted",
        "workflow",
        "a workflow is deleted (data: its last state, secrets shown as `********`)",
        type_name::<workflows::Workflow>,
    ),
    kind(
        "workflow_run.retried",
        "workflow_run",
        "a person retries a failed or stopped run (`POST /management/workflow-runs/{id}/retry`); wakes a worker",
        type_name::<workflows::Run>,
    ),
    kind(
        "payment_settings.updated",
        "payment_settings",
        "staff save the shop's Mollie settings (data: mode, the key's last four characters, profile, methods; never the key)",
        type_name::<payments::PaymentSettings>,
    ),
];

/// The catalogue's entry for `event_type` (a domain name), if it has one.
pub fn find(event_type: &str) -> Option<&'static EventKind> {
    CATALOGUE.iter().find(|kind| kind.event_type == event_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogued_event_type_is_a_unique_aggregate_dot_action_name() {
        let mut seen = std::collections::HashSet::new();
        for kind in CATALOGUE {
            assert!(seen.insert(kind.event_type), "{} is listed twice", kind.event_type);
            let (aggregate, action) = kind.event_type.split_once('.').expect("<aggregate>.<action>");
            let part = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            assert!(part(aggregate) && part(action), "{} is not <aggregate>.<action>", kind.event_type);
            assert!(!kind.event_type.starts_with("event."), "{}: the bus adds `event.`", kind.event_type);
            assert!((kind.data)().starts_with("kassa_domain::"), "{}", (kind.data)());
        }
    }
}
