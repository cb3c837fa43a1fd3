//! The same suite against both backends: Valkey at `VALKEY_URL` and DynamoDB on the AWS
//! emulator at `AWS_ENDPOINT_URL` (moto in `make test`), never a mock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures_util::future::join_all;
use kassa_domain::carts::{Buyer, Cart, CatalogVariant, Owner};
use kassa_domain::catalog::B2bSettings;
use kassa_domain::tenant::TenantId;
use kassa_store::carts;
use kassa_store::{DynamoStore, KvStore, Record, ValkeyStore};
use uuid::Uuid;

fn valkey() -> ValkeyStore {
    let url = std::env::var("VALKEY_URL").unwrap_or_else(|_| "redis://127.0.0.1:6380".to_owned());
    let valkey = kassa_runtime::valkey::Valkey::new(&url, Duration::from_secs(2)).unwrap();
    ValkeyStore::new(Arc::new(valkey))
}

async fn dynamo() -> DynamoStore {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:4566".to_owned());
    let store = DynamoStore::new(kassa_store::dynamo::client(Some(&endpoint)).await, "kassa-carts-test");
    store.ensure_table().await.unwrap();
    store
}

macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod valkey_store {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
               async fn $name() { super::$name(super::valkey()).await } )*
        }
        mod dynamodb_store {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
               async fn $name() { super::$name(super::dynamo().await).await } )*
        }
    };
}

on_both_stores!(
    a_write_over_a_stale_version_is_refused,
    fifty_concurrent_updates_of_one_cart_all_land,
    a_cart_of_one_tenant_is_nothing_in_another,
    records_expire_and_carts_live_seven_days,
    merging_moves_lines_into_the_customers_cart_and_deletes_the_anonymous_one,
);

#[tokio::test]
async fn the_dynamodb_table_expires_carts_by_their_ttl_attribute() {
    let store = dynamo().await;
    assert_eq!(store.ttl_attribute().await.unwrap().as_deref(), Some("expires_at"));
    let tenant = tenant();
    let (mut cart, _) = anonymous_cart();
    carts::insert(&store, tenant, &mut cart).await.unwrap();
    let key = kassa_store::key(tenant, "cart", &cart.id.to_string());
    let stored = store.stored_expiry(&key).await.unwrap().unwrap();
    let stored = chrono::DateTime::<Utc>::from_timestamp(stored, 0).unwrap();
    // Whole seconds, rounded up: never before the cart's own expiry.
    assert!(stored >= cart.expires_at && stored - cart.expires_at < chrono::Duration::seconds(1), "{stored}");
}

fn tenant() -> TenantId {
    TenantId::from(Uuid::now_v7())
}

fn anonymous_cart() -> (Cart, String) {
    let (token, hash) = kassa_store::token::new_token().unwrap();
    (Cart::new(Owner::Anonymous { token_sha256: hash }, "EUR", Utc::now()), token)
}

fn untracked(n: u128) -> CatalogVariant {
    CatalogVariant {
        variant_id: Uuid::from_u128(n),
        product_id: Uuid::from_u128(n),
        sku: format!("SKU-{n}"),
        title: "t".to_owned(),
        tax_class: "standard".to_owned(),
        active: true,
        base_amount: 100,
        base_currency: "EUR".to_owned(),
        stock: None,
        b2b: B2bSettings::default(),
        candidates: Vec::new(),
    }
}

async fn a_write_over_a_stale_version_is_refused(store: impl KvStore) {
    let key = format!("kassa:{}:test:{}", tenant(), Uuid::now_v7());
    let record = |version| Record {
        version,
        doc: format!("{{\"v\":{version}}}"),
        expires_at: Utc::now() + chrono::Duration::minutes(5),
    };
    assert!(store.put(&key, 0, &record(1)).await.unwrap());
    assert!(!store.put(&key, 0, &record(1)).await.unwrap(), "a second create loses");
    assert!(store.put(&key, 1, &record(2)).await.unwrap());
    assert!(!store.put(&key, 1, &record(2)).await.unwrap(), "a write over version 1 lost to version 2");
    let stored = store.get(&key).await.unwrap().unwrap();
    assert_eq!((stored.version, stored.doc.as_str()), (2, "{\"v\":2}"));
    assert!(!store.delete(&key, 1).await.unwrap());
    assert!(store.delete(&key, 2).await.unwrap());
    assert_eq!(store.get(&key).await.unwrap(), None);
}

/// Adds one unit of [`untracked`] variant `n` to cart `id` for each of `variants`, every
/// add its own task, all at once.
async fn add_at_once(
    store: &(impl KvStore + Clone + 'static),
    tenant: TenantId,
    id: Uuid,
    buyer: &Buyer,
    variants: impl Iterator<Item = u128>,
) {
    let adds = variants.map(|n| {
        let (store, buyer) = (store.clone(), buyer.clone());
        tokio::spawn(async move {
            let variant = untracked(n);
            carts::update(&store, tenant, id, |cart| cart.add(Some(&variant), variant.variant_id, 1, &buyer))
                .await
                .unwrap()
        })
    });
    for joined in join_all(adds).await {
        joined.unwrap();
    }
}

async fn fifty_concurrent_updates_of_one_cart_all_land(store: impl KvStore + Clone + 'static) {
    let tenant = tenant();
    let (mut cart, _) = anonymous_cart();
    carts::insert(&store, tenant, &mut cart).await.unwrap();
    let buyer = Buyer::anonymous(Utc::now());
    add_at_once(&store, tenant, cart.id, &buyer, 0..50).await;
    let stored = carts::get(&store, tenant, cart.id).await.unwrap().unwrap();
    assert_eq!(stored.lines.len(), 50, "every concurrent add kept its line");
    assert_eq!(stored.version, 51);
    // The same variant 20 times at once: one line holding all 20 units.
    add_at_once(&store, tenant, cart.id, &buyer, (0..20).map(|_| 7)).await;
    let stored = carts::get(&store, tenant, cart.id).await.unwrap().unwrap();
    let line = stored.lines.iter().find(|l| l.variant_id == Uuid::from_u128(7)).unwrap();
    assert_eq!(line.quantity, 21);
}

async fn a_cart_of_one_tenant_is_nothing_in_another(store: impl KvStore) {
    let (shop_a, shop_b) = (tenant(), tenant());
    let (mut cart, _) = anonymous_cart();
    carts::insert(&store, shop_a, &mut cart).await.unwrap();
    assert!(carts::get(&store, shop_a, cart.id).await.unwrap().is_some());
    assert!(carts::get(&store, shop_b, cart.id).await.unwrap().is_none());
    let err = carts::update(&store, shop_b, cart.id, |_| Ok(())).await.unwrap_err();
    assert!(matches!(err, carts::CartError::Domain(kassa_domain::DomainError::NotFound { .. })), "{err:?}");
}

async fn records_expire_and_carts_live_seven_days(store: impl KvStore) {
    let key = format!("kassa:{}:test:{}", tenant(), Uuid::now_v7());
    // Three seconds: the put and the get must fit inside them on a loaded machine (the emulator
    // is slow then); DynamoDB's TTL attribute counts whole seconds, rounded up.
    let gone =
        Record { version: 1, doc: "{}".to_owned(), expires_at: Utc::now() + chrono::Duration::seconds(3) };
    assert!(store.put(&key, 0, &gone).await.unwrap());
    assert!(store.get(&key).await.unwrap().is_some(), "a record lives until its expires_at");
    tokio::time::sleep(Duration::from_millis(4100)).await;
    assert_eq!(store.get(&key).await.unwrap(), None, "an expired record is absent");
    assert!(store.put(&key, 0, &gone).await.unwrap(), "and its key is free again");

    let tenant = tenant();
    let (mut cart, _) = anonymous_cart();
    carts::insert(&store, tenant, &mut cart).await.unwrap();
    let stored = carts::get(&store, tenant, cart.id).await.unwrap().unwrap();
    let days = (stored.expires_at - Utc::now()).num_hours();
    assert!((167..=168).contains(&days), "expires in 7 days, got {days} h");
}

async fn merging_moves_lines_into_the_customers_cart_and_deletes_the_anonymous_one(
    store: impl KvStore + Clone + 'static,
) {
    let tenant = tenant();
    let buyer = Buyer::anonymous(Utc::now());
    let customer = Uuid::now_v7();
    let (mut anonymous, token) = anonymous_cart();
    let (a, b) = (untracked(1), untracked(2));
    anonymous.add(Some(&a), a.variant_id, 2, &buyer).unwrap();
    anonymous.add(Some(&b), b.variant_id, 1, &buyer).unwrap();
    carts::insert(&store, tenant, &mut anonymous).await.unwrap();
    let mut owned = Cart::new(Owner::Customer { customer_id: customer }, "EUR", Utc::now());
    owned.add(Some(&a), a.variant_id, 1, &buyer).unwrap();
    carts::insert(&store, tenant, &mut owned).await.unwrap();

    // The anonymous cart, opened with `token`, into the customer's.
    let catalog = [a.clone(), b.clone()];
    let merge = async |token: &str| {
        let from = carts::MergeFrom { cart: anonymous.id, token };
        carts::merge(&store, tenant, from, customer, Some(owned.id), &catalog, &buyer).await
    };
    let (wrong, _) = kassa_store::token::new_token().unwrap();
    let refused = merge(&wrong).await;
    assert!(refused.is_err(), "another cart's token merges nothing");

    let merged = merge(&token).await.unwrap();
    let lines: Vec<(Uuid, i32)> = merged.cart.lines.iter().map(|l| (l.variant_id, l.quantity)).collect();
    assert_eq!(lines, [(a.variant_id, 3), (b.variant_id, 1)]);
    assert!(carts::get(&store, tenant, anonymous.id).await.unwrap().is_none());
}
