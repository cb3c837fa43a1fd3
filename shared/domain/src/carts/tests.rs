#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{TimeZone, Utc};
use proptest::prelude::*;

use super::*;
use crate::catalog::B2bSettings;
use crate::price::{ListPrice, PriceRequest, resolve_price};
use crate::taxes::line_tax;

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
}

fn variant(n: u128, amount: i64, stock: Option<i64>) -> CatalogVariant {
    CatalogVariant {
        variant_id: Uuid::from_u128(n),
        product_id: Uuid::from_u128(1000 + n),
        sku: format!("SKU-{n}"),
        title: format!("Product {n}"),
        tax_class: "standard".to_owned(),
        active: true,
        base_amount: amount,
        base_currency: "EUR".to_owned(),
        stock,
        b2b: B2bSettings::default(),
        candidates: Vec::new(),
    }
}

fn cart() -> Cart {
    Cart::new(Owner::Anonymous { token_sha256: "00".repeat(32) }, "EUR", at())
}

fn pointers(err: DomainError) -> Vec<(String, &'static str)> {
    match err {
        DomainError::Validation(v) => v.as_slice().iter().map(|v| (v.pointer.clone(), v.code)).collect(),
        other => panic!("not a validation error: {other:?}"),
    }
}

#[test]
fn adding_a_variant_twice_sums_its_line_and_stock_bounds_the_sum() {
    let buyer = Buyer::anonymous(at());
    let mug = variant(1, 1000, Some(5));
    let mut cart = cart();
    let first = cart.add(Some(&mug), mug.variant_id, 3, &buyer).unwrap();
    let second = cart.add(Some(&mug), mug.variant_id, 2, &buyer).unwrap();
    assert_eq!(first, second);
    assert_eq!(cart.lines.len(), 1);
    assert_eq!(cart.lines[0].quantity, 5);
    let err = cart.add(Some(&mug), mug.variant_id, 1, &buyer).unwrap_err();
    assert_eq!(pointers(err), [("/lines/0/quantity".to_owned(), "insufficient_stock")]);
    assert_eq!(cart.lines[0].quantity, 5, "a refused change changes nothing");
}

#[test]
fn a_cart_holds_at_most_a_hundred_lines() {
    let buyer = Buyer::anonymous(at());
    let mut cart = cart();
    for n in 0..100 {
        let v = variant(n, 100, None);
        cart.add(Some(&v), v.variant_id, 1, &buyer).unwrap();
    }
    let extra = variant(100, 100, None);
    let err = cart.add(Some(&extra), extra.variant_id, 1, &buyer).unwrap_err();
    assert_eq!(pointers(err), [("/lines".to_owned(), "too_many_lines")]);
    // A line already in the cart still takes more.
    let first = variant(0, 100, None);
    cart.add(Some(&first), first.variant_id, 1, &buyer).unwrap();
    assert_eq!(cart.lines.len(), 100);
}

#[test]
fn b2b_rules_are_422_violations_pointing_at_the_line() {
    let buyer = Buyer::anonymous(at());
    let mut bolts = variant(1, 10, None);
    bolts.b2b =
        B2bSettings { min_order_quantity: Some(10), quantity_step: Some(5), ..B2bSettings::default() };
    let mut cart = cart();
    let other = variant(2, 10, None);
    cart.add(Some(&other), other.variant_id, 1, &buyer).unwrap();
    let err = cart.add(Some(&bolts), bolts.variant_id, 7, &buyer).unwrap_err();
    assert_eq!(
        pointers(err),
        [
            ("/lines/1/quantity".to_owned(), "below_minimum"),
            ("/lines/1/quantity".to_owned(), "quantity_step")
        ]
    );
    cart.add(Some(&bolts), bolts.variant_id, 15, &buyer).unwrap();

    let mut quote = variant(3, 10, None);
    quote.b2b.quote_only = true;
    let err = cart.add(Some(&quote), quote.variant_id, 1, &buyer).unwrap_err();
    assert_eq!(pointers(err), [("/lines/2/variant_id".to_owned(), "quote_only")]);

    let mut hidden = variant(4, 10, None);
    hidden.b2b.visible_to_customer_groups = Some(vec!["wholesale".to_owned()]);
    let err = cart.add(Some(&hidden), hidden.variant_id, 1, &buyer).unwrap_err();
    assert_eq!(pointers(err), [("/lines/2/variant_id".to_owned(), "unknown_variant")]);
    let member = Buyer { group_handles: vec!["wholesale".to_owned()], ..buyer.clone() };
    cart.add(Some(&hidden), hidden.variant_id, 1, &member).unwrap();
}

#[test]
fn merging_sums_lines_takes_missing_details_and_keeps_within_stock() {
    let buyer = Buyer::anonymous(at());
    let (mug, cap) = (variant(1, 1000, Some(4)), variant(2, 500, None));
    let mut anonymous = cart();
    anonymous.add(Some(&mug), mug.variant_id, 3, &buyer).unwrap();
    anonymous.add(Some(&cap), cap.variant_id, 2, &buyer).unwrap();
    anonymous.email = Some("anna@example.com".to_owned());
    let mut owned = Cart::new(Owner::Customer { customer_id: Uuid::from_u128(9) }, "EUR", at());
    owned.add(Some(&mug), mug.variant_id, 2, &buyer).unwrap();
    let dropped = merge(&mut owned, &anonymous, &[mug.clone(), cap.clone()], &buyer);
    assert!(dropped.is_empty());
    let quantities: Vec<(Uuid, i32)> = owned.lines.iter().map(|l| (l.variant_id, l.quantity)).collect();
    assert_eq!(quantities, [(mug.variant_id, 4), (cap.variant_id, 2)]);
    assert_eq!(owned.email.as_deref(), Some("anna@example.com"));
}

#[test]
fn details_are_checked_with_pointers_and_null_clears_a_field() {
    let patch: DetailsPatch =
        serde_json::from_value(serde_json::json!({"email": "nope", "shipping_country": "nl"})).unwrap();
    let err = patch.check().unwrap_err();
    assert_eq!(
        pointers(err),
        [("/email".to_owned(), "invalid_email"), ("/shipping_country".to_owned(), "invalid_country")]
    );
    let mut cart = cart();
    cart.email = Some("anna@example.com".to_owned());
    let patch: DetailsPatch =
        serde_json::from_value(serde_json::json!({"email": null, "shipping_country": "NL"})).unwrap();
    cart.apply(&patch.check().unwrap());
    assert_eq!((cart.email, cart.shipping_country.as_deref()), (None, Some("NL")));
}

/// A catalog of up to 6 variants with random base prices, stock untracked, and list prices of
/// two groups in random tiers, windows and currencies.
fn catalog() -> impl Strategy<Value = Vec<CatalogVariant>> {
    let list = (0u128..3, 0u128..2, 1i64..20, 0i64..50_000, 0i32..3, any::<bool>(), any::<bool>(), -2i64..3);
    let entry = (0i64..1_000_000, any::<bool>(), prop::collection::vec(list, 0..5));
    prop::collection::vec(entry, 1..6).prop_map(|entries| {
        entries
            .into_iter()
            .enumerate()
            .map(|(i, (amount, dollars, lists))| {
                let mut v = variant(i as u128, amount, None);
                if dollars {
                    v.base_currency = "USD".to_owned();
                }
                v.tax_class = if i % 2 == 0 { "standard" } else { "reduced" }.to_owned();
                v.candidates = lists
                    .into_iter()
                    .map(|(list, group, min_quantity, amount, priority, active, usd, window)| ListPrice {
                        price_list_id: Uuid::from_u128(500 + list),
                        customer_group_id: Uuid::from_u128(900 + group),
                        currency: if usd { "USD" } else { "EUR" }.to_owned(),
                        active,
                        starts_at: (window < 0).then(|| at() + chrono::Duration::days(window)),
                        ends_at: (window > 0).then(|| at() + chrono::Duration::days(window - 1)),
                        priority,
                        min_quantity,
                        amount,
                    })
                    .collect();
                v
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn every_cart_total_is_what_resolve_price_and_line_tax_give(
        catalog in catalog(),
        quantities in prop::collection::vec((0usize..6, 1i64..40), 0..12),
        groups in prop::collection::vec(0u128..3, 0..3),
        include in any::<bool>(),
        rates in prop::option::of((0i32..3000, 0i32..3000)),
    ) {
        let buyer = Buyer {
            group_ids: groups.iter().map(|g| Uuid::from_u128(900 + g)).collect(),
            group_handles: Vec::new(),
            at: at(),
        };
        let mut cart = cart();
        for (i, quantity) in quantities {
            let v = &catalog[i % catalog.len()];
            // Lines the rules refuse (not priced in EUR) are simply not added.
            let _ = cart.add(Some(v), v.variant_id, quantity, &buyer);
        }
        let rates = rates.map(|(standard, reduced)| vec![("standard".to_owned(), standard), ("reduced".to_owned(), reduced)]);
        let context =
            PricingContext { buyer: &buyer, prices_include_tax: include, rates: rates.as_deref(), shipping: (&[], &[]) };
        let view = price(&cart, &catalog, &context);

        // The same inputs straight through the domain's price function and tax rule.
        let (mut subtotal, mut tax) = (0i64, 0i64);
        for line in &cart.lines {
            let v = catalog.iter().find(|v| v.variant_id == line.variant_id).unwrap();
            let request = PriceRequest {
                customer_group_ids: &buyer.group_ids,
                quantity: i64::from(line.quantity),
                at: at(),
                currency: "EUR",
            };
            let unit = resolve_price(v.base_amount, &v.base_currency, &v.candidates, &request).unwrap();
            let amount = unit.amount * i64::from(line.quantity);
            subtotal += amount;
            if let Some(rates) = &rates {
                let bp = rates.iter().find(|(c, _)| *c == v.tax_class).unwrap().1;
                tax += line_tax(amount, bp, include);
            }
            let shown = view.lines.iter().find(|l| l.id == line.id).unwrap();
            prop_assert_eq!(shown.line_amount, amount);
            prop_assert_eq!(shown.unit_price_amount, unit.amount);
            let list = match unit.source { crate::price::PriceSource::PriceList { price_list_id } => Some(price_list_id), _ => None };
            prop_assert_eq!(shown.price_list_id, list);
        }
        prop_assert_eq!(view.subtotal_amount, subtotal);
        prop_assert_eq!(view.tax_amount, rates.as_ref().map(|_| tax));
        let total = if include || rates.is_none() { subtotal } else { subtotal + tax };
        prop_assert_eq!(view.total_amount, total);
        prop_assert_eq!(view.lines.len(), cart.lines.len());
    }
}

#[test]
fn a_cart_lives_seven_days_after_its_last_use_and_reads_extend_it_at_most_hourly() {
    let mut cart = cart();
    assert_eq!(cart.expires_at - cart.created_at, Duration::days(7));
    assert!(!cart.wants_touch(at() + Duration::minutes(59)), "a read within the hour writes nothing");
    assert!(cart.wants_touch(at() + Duration::minutes(61)));
    cart.touch(at() + Duration::days(3));
    assert_eq!(cart.expires_at, at() + Duration::days(10));
    assert_eq!(cart.updated_at, at() + Duration::days(3));
}
