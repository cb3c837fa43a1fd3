//! Properties of price resolution, checked on random price lists.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use chrono::{DateTime, Duration, TimeZone, Utc};
use kassa_domain::price::{ListPrice, PriceRequest, PriceSource, resolve_price};
use proptest::prelude::*;
use uuid::Uuid;

const GROUPS: [u128; 2] = [1, 2];
const CURRENCIES: [&str; 2] = ["EUR", "USD"];

fn moment(hours: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap() + Duration::hours(hours)
}

fn list_price() -> impl Strategy<Value = ListPrice> {
    (
        0u128..6,
        0usize..2,
        0usize..2,
        any::<bool>(),
        proptest::option::of(-48i64..48),
        proptest::option::of(-48i64..48),
        -3i32..3,
        1i64..20,
        0i64..10_000,
    )
        .prop_map(|(list, group, currency, active, starts, ends, priority, min_quantity, amount)| {
            ListPrice {
                price_list_id: Uuid::from_u128(100 + list),
                customer_group_id: Uuid::from_u128(GROUPS[group]),
                currency: CURRENCIES[currency].to_owned(),
                active,
                starts_at: starts.map(moment),
                ends_at: ends.map(moment),
                priority,
                min_quantity,
                amount,
            }
        })
}

/// The shopper's groups (none, either or both), quantity, hour and currency index.
fn request_parts() -> impl Strategy<Value = (Vec<Uuid>, i64, i64, usize)> {
    (prop::sample::subsequence(GROUPS.to_vec(), 0..=2), 1i64..25, -60i64..60, 0usize..2)
        .prop_map(|(groups, q, h, c)| (groups.into_iter().map(Uuid::from_u128).collect(), q, h, c))
}

proptest! {
    #[test]
    fn the_price_is_the_best_applicable_tier_or_the_base(
        candidates in proptest::collection::vec(list_price(), 0..12),
        (groups, quantity, hour, currency) in request_parts(),
        base in 0i64..10_000,
    ) {
        let request = PriceRequest {
            customer_group_ids: &groups,
            quantity,
            at: moment(hour),
            currency: CURRENCIES[currency],
        };
        let resolved = resolve_price(base, "EUR", &candidates, &request);
        let applicable: Vec<&ListPrice> = candidates.iter().filter(|c| c.applies(&request)).collect();
        // Only the lists of the shopper's own groups ever apply.
        prop_assert!(applicable.iter().all(|c| groups.contains(&c.customer_group_id)));
        match applicable.is_empty() {
            true => {
                // No list applies: the base price, and only in the base currency.
                if request.currency == "EUR" {
                    let resolved = resolved.unwrap();
                    prop_assert_eq!(resolved.source, PriceSource::Base);
                    prop_assert_eq!(resolved.amount, base);
                } else {
                    prop_assert!(resolved.is_none());
                }
            }
            false => {
                let resolved = resolved.unwrap();
                let PriceSource::PriceList { price_list_id } = resolved.source else {
                    return Err(TestCaseError::fail("an applicable list price was ignored"));
                };
                let chosen = applicable
                    .iter()
                    .find(|c| c.price_list_id == price_list_id && c.amount == resolved.amount)
                    .expect("the price comes from an applicable list price");
                prop_assert_eq!(&resolved.currency, request.currency);
                // Highest tier reached, then highest priority, then lowest amount.
                let top_tier = applicable.iter().map(|c| c.min_quantity).max().unwrap();
                prop_assert_eq!(chosen.min_quantity, top_tier);
                let in_tier: Vec<&&ListPrice> = applicable.iter().filter(|c| c.min_quantity == top_tier).collect();
                let top_priority = in_tier.iter().map(|c| c.priority).max().unwrap();
                prop_assert_eq!(chosen.priority, top_priority);
                let cheapest = in_tier.iter().filter(|c| c.priority == top_priority).map(|c| c.amount).min().unwrap();
                prop_assert_eq!(resolved.amount, cheapest);
            }
        }
    }

    #[test]
    fn customers_without_a_group_always_pay_the_base_price(
        candidates in proptest::collection::vec(list_price(), 0..12),
        quantity in 1i64..25,
        hour in -60i64..60,
        base in 0i64..10_000,
    ) {
        let request = PriceRequest { customer_group_ids: &[], quantity, at: moment(hour), currency: "EUR" };
        let resolved = resolve_price(base, "EUR", &candidates, &request).unwrap();
        prop_assert_eq!(resolved.source, PriceSource::Base);
        prop_assert_eq!(resolved.amount, base);
    }

    #[test]
    fn a_list_price_applies_only_inside_its_window(
        candidate in list_price(),
        hour in -60i64..60,
    ) {
        let request = PriceRequest {
            customer_group_ids: &[candidate.customer_group_id],
            quantity: 1_000,
            at: moment(hour),
            currency: &candidate.currency.clone(),
        };
        let at = moment(hour);
        let inside = candidate.starts_at.is_none_or(|s| s <= at) && candidate.ends_at.is_none_or(|e| at < e);
        prop_assert_eq!(candidate.applies(&request), candidate.active && inside);
    }
}

#[test]
fn a_higher_tier_beats_a_higher_priority() {
    let group = Uuid::from_u128(1);
    let price = |list: u128, priority: i32, min_quantity: i64, amount: i64| ListPrice {
        price_list_id: Uuid::from_u128(list),
        customer_group_id: group,
        currency: "EUR".into(),
        active: true,
        starts_at: None,
        ends_at: None,
        priority,
        min_quantity,
        amount,
    };
    let candidates = [price(1, 10, 1, 900), price(2, 0, 10, 800), price(3, 0, 10, 850)];
    let at = moment(0);
    let groups = [group];
    let request = |quantity| PriceRequest { customer_group_ids: &groups, quantity, at, currency: "EUR" };
    assert_eq!(resolve_price(1000, "EUR", &candidates, &request(5)).unwrap().amount, 900);
    let ten = resolve_price(1000, "EUR", &candidates, &request(10)).unwrap();
    assert_eq!((ten.amount, ten.source), (800, PriceSource::PriceList { price_list_id: Uuid::from_u128(2) }));
}
