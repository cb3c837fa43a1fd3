//! Carts in a [`KvStore`]: created once, read, and changed by [`update`], which re-reads and
//! re-applies the change when another request wrote the cart first (optimistic concurrency),
//! so concurrent changes of one cart are all kept.

use std::time::Duration;

use chrono::Utc;
use kassa_domain::DomainError;
use kassa_domain::carts::{self, Buyer, Cart, CatalogVariant, Owner};
use kassa_domain::tenant::TenantId;
use uuid::Uuid;

use crate::{KvStore, Record, StoreError};

/// How often [`update`] re-applies a change before it gives up (`cart_busy`).
pub const MAX_ATTEMPTS: u32 = 200;

fn key(tenant: TenantId, id: Uuid) -> String {
    crate::key(tenant, "cart", &id.to_string())
}

#[derive(Debug, thiserror::Error)]
pub enum CartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Domain(#[from] DomainError),
}

impl From<CartError> for kassa_http::ApiError {
    fn from(err: CartError) -> Self {
        match err {
            CartError::Store(e) => e.into(),
            CartError::Domain(e) => e.into(),
        }
    }
}

fn record(cart: &Cart) -> Result<Record, StoreError> {
    Ok(Record { version: cart.version, doc: serde_json::to_string(cart)?, expires_at: cart.expires_at })
}

/// Stores a new cart (its version becomes 1).
pub async fn insert(store: &impl KvStore, tenant: TenantId, cart: &mut Cart) -> Result<(), CartError> {
    cart.version = 1;
    if store.put(&key(tenant, cart.id), 0, &record(cart)?).await? {
        Ok(())
    } else {
        Err(DomainError::Unexpected(format!("cart id {} is taken", cart.id)).into())
    }
}

/// The tenant's cart `id`, if it exists and has not expired.
pub async fn get(store: &impl KvStore, tenant: TenantId, id: Uuid) -> Result<Option<Cart>, CartError> {
    let Some(record) = store.get(&key(tenant, id)).await? else { return Ok(None) };
    let mut cart: Cart = serde_json::from_str(&record.doc).map_err(StoreError::from)?;
    cart.version = record.version;
    Ok(Some(cart))
}

/// Applies `change` to the current cart and stores it, re-reading and re-applying when
/// another write came first; the cart as stored and what `change` returned. The cart's life
/// is extended. `NotFound` when there is no such cart; `change`'s error leaves it unchanged.
pub async fn update<T>(
    store: &impl KvStore,
    tenant: TenantId,
    id: Uuid,
    change: impl FnMut(&mut Cart) -> Result<T, DomainError>,
) -> Result<(Cart, T), CartError> {
    update_read(store, tenant, id, None, change).await
}

/// [`update`], starting from `read`, the cart as the caller just read it (saving a read when
/// nobody wrote since; otherwise the write fails and the change is re-applied as usual).
pub async fn update_read<T>(
    store: &impl KvStore,
    tenant: TenantId,
    id: Uuid,
    mut read: Option<Cart>,
    mut change: impl FnMut(&mut Cart) -> Result<T, DomainError>,
) -> Result<(Cart, T), CartError> {
    for attempt in 0..MAX_ATTEMPTS {
        let current = match read.take().filter(|cart| cart.id == id) {
            Some(cart) => Some(cart),
            None => get(store, tenant, id).await?,
        };
        let Some(mut cart) = current else {
            return Err(DomainError::NotFound { resource: "cart" }.into());
        };
        let read = cart.version;
        let outcome = change(&mut cart)?;
        cart.version = read + 1;
        cart.touch(Utc::now());
        if store.put(&key(tenant, id), read, &record(&cart)?).await? {
            return Ok((cart, outcome));
        }
        // Another request wrote first: back off a little (growing, jittered), then retry.
        let ceiling = u64::from(attempt.min(10) + 1) * 2;
        tokio::time::sleep(Duration::from_millis(jitter(ceiling))).await;
    }
    Err(DomainError::Conflict {
        code: kassa_domain::ErrorCode::CartBusy,
        message: "the cart is being changed by many requests at once; retry".to_owned(),
    }
    .into())
}

/// 0..ceiling milliseconds, from the clock's nanoseconds (no need for a strong source).
fn jitter(ceiling: u64) -> u64 {
    u64::from(Utc::now().timestamp_subsec_nanos()) % ceiling.max(1)
}

/// Extends an unchanged cart's life when it is due (reads write at most hourly).
pub async fn touch(store: &impl KvStore, tenant: TenantId, cart: &Cart) -> Result<(), CartError> {
    if cart.wants_touch(Utc::now()) {
        let mut touched = cart.clone();
        touched.version = cart.version + 1;
        touched.touch(Utc::now());
        // Losing to a concurrent change is fine: that change extended the life too.
        store.put(&key(tenant, cart.id), cart.version, &record(&touched)?).await?;
    }
    Ok(())
}

/// Deletes a cart (e.g. one merged away).
pub async fn delete(store: &impl KvStore, tenant: TenantId, cart: &Cart) -> Result<bool, CartError> {
    Ok(store.delete(&key(tenant, cart.id), cart.version).await?)
}

/// What [`merge`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// The customer's cart after the merge.
    pub cart: Cart,
    /// Variants of the anonymous cart that could not be taken over (stock, B2B rules, cap).
    pub dropped: Vec<Uuid>,
}

/// The anonymous cart to merge and the token that opens it.
#[derive(Debug, Clone, Copy)]
pub struct MergeFrom<'a> {
    pub cart: Uuid,
    pub token: &'a str,
}

/// At sign-in: merges the anonymous cart `from` (opened by its token) into the
/// customer's cart `customer_cart` — or, when the customer has none, makes the anonymous
/// cart the customer's — and deletes the anonymous cart. `catalog` must hold the rows of the
/// anonymous cart's variants priced for `buyer` ([`carts::load_catalog`]). `NotFound` when
/// the token does not open the anonymous cart.
pub async fn merge(
    store: &impl KvStore,
    tenant: TenantId,
    from: MergeFrom<'_>,
    customer_id: Uuid,
    customer_cart: Option<Uuid>,
    catalog: &[CatalogVariant],
    buyer: &Buyer,
) -> Result<Merged, CartError> {
    let (anonymous_id, cart_token) = (from.cart, from.token);
    let opens = |cart: &Cart| match &cart.owner {
        Owner::Anonymous { token_sha256 } => crate::token::matches(cart_token, token_sha256),
        Owner::Customer { .. } => false,
    };
    let anonymous = get(store, tenant, anonymous_id)
        .await?
        .filter(|cart| opens(cart))
        .ok_or(DomainError::NotFound { resource: "cart" })?;
    let merged = match customer_cart {
        None => {
            let (cart, ()) = update(store, tenant, anonymous_id, |cart| {
                if !opens(cart) {
                    return Err(DomainError::NotFound { resource: "cart" });
                }
                cart.owner = Owner::Customer { customer_id };
                Ok(())
            })
            .await?;
            return Ok(Merged { cart, dropped: Vec::new() });
        }
        Some(target) => {
            update(store, tenant, target, |cart| {
                if cart.customer_id() != Some(customer_id) {
                    return Err(DomainError::NotFound { resource: "cart" });
                }
                Ok(carts::merge(cart, &anonymous, catalog, buyer))
            })
            .await?
        }
    };
    delete(store, tenant, &anonymous).await?;
    let (cart, dropped) = merged;
    Ok(Merged { cart, dropped })
}

fn customer_key(tenant: TenantId, customer_id: Uuid) -> String {
    crate::key(tenant, "customer-cart", &customer_id.to_string())
}

/// Remembers `cart_id` as the customer's current cart (for [`merge_at_sign_in`]).
pub async fn set_customer_cart(
    store: &impl KvStore,
    tenant: TenantId,
    customer_id: Uuid,
    cart_id: Uuid,
) -> Result<(), CartError> {
    let key = customer_key(tenant, customer_id);
    loop {
        let current = store.get(&key).await?;
        let version = current.as_ref().map_or(0, |r| r.version);
        let record = Record {
            version: version + 1,
            doc: serde_json::to_string(&cart_id).map_err(StoreError::from)?,
            expires_at: Utc::now() + carts::lifetime(),
        };
        if store.put(&key, version, &record).await? {
            return Ok(());
        }
    }
}

/// The customer's current cart, if it still exists.
pub async fn customer_cart(
    store: &impl KvStore,
    tenant: TenantId,
    customer_id: Uuid,
) -> Result<Option<Cart>, CartError> {
    let Some(record) = store.get(&customer_key(tenant, customer_id)).await? else { return Ok(None) };
    let id: Uuid = serde_json::from_str(&record.doc).map_err(StoreError::from)?;
    Ok(get(store, tenant, id).await?.filter(|cart| cart.customer_id() == Some(customer_id)))
}

/// What the customers function calls at sign-in when the shopper brings an anonymous cart
/// (its id and `Cart-Token`): merges it into the customer's current cart, priced for the
/// customer's groups, or makes it the customer's when there is none. The anonymous cart is
/// gone afterwards; `NotFound` when the token does not open it.
pub async fn merge_at_sign_in(
    state: &kassa_http::AppState,
    tenant: &kassa_domain::tenant::Tenant,
    anonymous_id: Uuid,
    cart_token: &str,
    customer_id: Uuid,
    group_ids: &[Uuid],
) -> Result<Merged, kassa_http::ApiError> {
    let store = crate::AnyStore::for_state(state).await?;
    let buyer = carts::buyer(&state.db, tenant, group_ids).await?;
    let anonymous =
        get(&store, tenant.id, anonymous_id).await?.ok_or(DomainError::NotFound { resource: "cart" })?;
    let ids: Vec<Uuid> = anonymous.lines.iter().map(|l| l.variant_id).collect();
    let catalog = carts::load_catalog(&state.db, tenant, &ids, &buyer).await?;
    let target = customer_cart(&store, tenant.id, customer_id).await?.map(|c| c.id);
    let from = MergeFrom { cart: anonymous_id, token: cart_token };
    let merged = merge(&store, tenant.id, from, customer_id, target, &catalog, &buyer).await?;
    set_customer_cart(&store, tenant.id, customer_id, merged.cart.id).await?;
    Ok(merged)
}
