//! Who calls a storefront cart route: the presented `Cart-Token` and the signed-in customer
//! (a customer token), and which carts that opens. Shared by the carts and checkout
//! functions, so both open a cart by the same rule.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use kassa_domain::DomainError;
use kassa_domain::carts::{self, Buyer, Cart, CartView, Owner};
use kassa_domain::tenant::Tenant;
use kassa_http::shopper::Shopper;
use kassa_http::{ApiError, AppState, Json};
use uuid::Uuid;

use crate::{AnyStore, token};

/// The header that carries an anonymous cart's token.
pub const CART_TOKEN: &str = "cart-token";

/// `Cart-Token` in the OpenAPI document of a route that opens a cart through [`Caller`].
pub fn cart_token_header() -> Vec<utoipa::openapi::path::Parameter> {
    vec![kassa_http::openapi::header(
        "Cart-Token",
        r"^[A-Za-z0-9_-]{43}$",
        false,
        "The cart_token the cart's creation answered with (43 base64url characters), for an anonymous cart; \
         another cart's token, or none, answers 404 as if the cart did not exist",
    )]
}

/// Who calls: the presented cart token and the signed-in customer, if any.
pub struct Caller {
    token: Option<String>,
    customer: Option<Customer>,
}

/// The signed-in customer who calls.
pub struct Customer {
    pub id: Uuid,
    pub group_ids: Vec<Uuid>,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // A token that is no printable ASCII cannot be one Kassa made: it opens nothing.
        let token = parts
            .headers
            .get(CART_TOKEN)
            .and_then(|v| v.to_str().ok())
            .filter(|t| (1..=100).contains(&t.len()))
            .map(str::to_owned);
        // A customer token of this shop, if sent (a bad one is a 401, never anonymous).
        let shopper =
            <Shopper as OptionalFromRequestParts<AppState>>::from_request_parts(parts, state).await?;
        let customer = shopper.map(|s| Customer { id: s.customer_id, group_ids: s.group_ids });
        Ok(Caller { token, customer })
    }
}

impl Caller {
    /// The signed-in customer, if a customer token came with the request.
    pub fn customer(&self) -> Option<&Customer> {
        self.customer.as_ref()
    }

    /// Whether the caller may open `cart`: its token, or its owner.
    pub fn opens(&self, cart: &Cart) -> bool {
        match &cart.owner {
            Owner::Anonymous { token_sha256 } => self.presents(token_sha256),
            Owner::Customer { customer_id } => self.is_customer(*customer_id),
        }
    }

    /// Whether the caller presented the cart token whose SHA-256 (hex) this is.
    pub fn presents(&self, token_sha256: &str) -> bool {
        self.token.as_deref().is_some_and(|t| token::matches(t, token_sha256))
    }

    /// Whether the caller is signed in as customer `id`.
    pub fn is_customer(&self, id: Uuid) -> bool {
        self.customer.as_ref().is_some_and(|c| c.id == id)
    }

    /// `cart` priced for the caller.
    pub async fn answer(
        &self,
        state: &AppState,
        tenant: &Tenant,
        cart: &Cart,
    ) -> Result<Json<CartView>, ApiError> {
        let buyer = self.buyer(state, tenant).await?;
        Ok(Json(carts::view(&state.db, tenant, cart, &buyer).await?))
    }

    pub async fn buyer(&self, state: &AppState, tenant: &Tenant) -> Result<Buyer, ApiError> {
        let groups = self.customer.as_ref().map(|c| c.group_ids.as_slice()).unwrap_or_default();
        Ok(carts::buyer(&state.db, tenant, groups).await?)
    }

    /// The caller's cart `id`; another's, or none, is `404` (the same answer, so a cart's
    /// existence does not show).
    pub async fn cart(&self, store: &AnyStore, tenant: &Tenant, id: Uuid) -> Result<Cart, ApiError> {
        crate::carts::get(store, tenant.id, id)
            .await?
            .filter(|cart| self.opens(cart))
            .ok_or_else(|| DomainError::NotFound { resource: "cart" }.into())
    }

    /// Changes the caller's cart `id`, checking again that it opens it.
    pub async fn change<T>(
        &self,
        store: &AnyStore,
        tenant: &Tenant,
        id: Uuid,
        change: impl FnMut(&mut Cart) -> Result<T, DomainError>,
    ) -> Result<Cart, ApiError> {
        self.change_read(store, tenant, id, None, change).await
    }

    /// [`Caller::change`] starting from the cart the handler just read.
    pub async fn change_read<T>(
        &self,
        store: &AnyStore,
        tenant: &Tenant,
        id: Uuid,
        read: Option<Cart>,
        mut change: impl FnMut(&mut Cart) -> Result<T, DomainError>,
    ) -> Result<Cart, ApiError> {
        let (cart, _) = crate::carts::update_read(store, tenant.id, id, read, |cart| {
            if !self.opens(cart) {
                return Err(DomainError::NotFound { resource: "cart" });
            }
            change(cart)
        })
        .await
        .map_err(ApiError::from)?;
        Ok(cart)
    }
}
