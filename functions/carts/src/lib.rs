//! The carts function: a shopper's cart under `/storefront/carts`, for the shop named by the
//! Host or `X-Tenant-ID`. An anonymous cart is opened by the secret cart token its creation
//! answered with (header `Cart-Token`); a signed-in customer's cart by the customer's token.
//! Carts live in the cart store (`CART_STORE`: Valkey or DynamoDB, `kassa-store`); prices,
//! taxes and totals are computed from the catalog on every answer.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use http::StatusCode;
use kassa_domain::DomainError;
use kassa_domain::carts::{self, Cart, CartView, DetailsPatch, Owner};
use kassa_http::openapi::{Doc, schema};
use kassa_http::{ApiError, AppState, CurrentTenant, FunctionRoutes, Json, Path, Verb};
use kassa_store::caller::{Caller, cart_token_header};
use kassa_store::idempotency::REPLAY;
use kassa_store::{AnyStore, Idempotent, token};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use kassa_store::caller::CART_TOKEN;

/// The function's routes, also read by the template and OpenAPI tests.
pub fn routes() -> FunctionRoutes {
    use Verb::{Delete, Get, Patch, Post};
    FunctionRoutes::new("carts")
        .public(
            Post,
            "/storefront/carts",
            Doc::new(
                "createCart",
                "A new cart: anonymous (answered with its secret cart_token, to send as Cart-Token on every \
                 later call) or, with a customer token, the customer's",
            )
            .shopper_optional()
            .idempotent(REPLAY)
            .body(schema::<NewCart>)
            .returns(201, schema::<CreatedCart>),
            Idempotent(create),
        )
        .public(
            Get,
            "/storefront/carts/{id}",
            Doc::new("getCart", "A cart, priced now (Cart-Token or the owner's customer token)")
                .shopper_optional()
                .query(cart_token_header)
                .returns(200, schema::<CartView>),
            get,
        )
        .public(
            Patch,
            "/storefront/carts/{id}",
            Doc::new("updateCart", "Set or clear (null) the email, shipping country and addresses")
                .shopper_optional()
                .query(cart_token_header)
                .body(schema::<DetailsPatch>)
                .returns(200, schema::<CartView>),
            update,
        )
        .public(
            Post,
            "/storefront/carts/{id}/lines",
            Doc::new(
                "addCartLine",
                "Add units of a variant (summed into its line if the cart has one); stock and B2B rules are \
                 checked, problems point at the line (/lines/{index}/…)",
            )
            .shopper_optional()
            .query(cart_token_header)
            .idempotent(REPLAY)
            .body(schema::<NewLine>)
            .returns(200, schema::<CartView>),
            Idempotent(add_line),
        )
        .public(
            Patch,
            "/storefront/carts/{id}/lines/{line_id}",
            Doc::new("updateCartLine", "Change a line's quantity (stock and B2B rules checked)")
                .shopper_optional()
                .query(cart_token_header)
                .body(schema::<LineChange>)
                .returns(200, schema::<CartView>),
            change_line,
        )
        .public(
            Delete,
            "/storefront/carts/{id}/lines/{line_id}",
            Doc::new("removeCartLine", "Remove a line")
                .shopper_optional()
                .query(cart_token_header)
                .returns(200, schema::<CartView>),
            remove_line,
        )
}

pub fn router(state: AppState) -> Router {
    routes().into_router(state)
}

/// `POST /storefront/carts`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCart {
    /// Lines to start with (at most 100).
    #[serde(default)]
    #[schema(max_items = 100)]
    pub lines: Vec<NewLine>,
}

/// A line to add: a variant of the shop and how many units.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLine {
    pub variant_id: Uuid,
    #[schema(minimum = 1, maximum = 10000)]
    pub quantity: i64,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineChange {
    #[schema(minimum = 1, maximum = 10000)]
    pub quantity: i64,
}

/// A new cart and, for an anonymous one, its secret token (shown once; Kassa keeps only its
/// SHA-256).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedCart {
    pub cart_token: Option<String>,
    pub cart: CartView,
}

/// `POST /storefront/carts`.
pub async fn create(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    store: AnyStore,
    caller: Caller,
    Json(new): Json<NewCart>,
) -> Result<Response, ApiError> {
    let buyer = caller.buyer(&state, &tenant).await?;
    let (owner, cart_token) = match caller.customer() {
        Some(customer) => (Owner::Customer { customer_id: customer.id }, None),
        None => {
            let (token, hash) = token::new_token().map_err(|_| ApiError::internal(random_failed()))?;
            (Owner::Anonymous { token_sha256: hash }, Some(token))
        }
    };
    let mut cart = Cart::new(owner, &tenant.default_currency, Utc::now());
    if new.lines.len() > carts::MAX_LINES {
        return Err(too_many_lines().into());
    }
    let ids: Vec<Uuid> = new.lines.iter().map(|l| l.variant_id).collect();
    let catalog = carts::load_catalog(&state.db, &tenant, &ids, &buyer).await?;
    for line in &new.lines {
        let variant = catalog.iter().find(|c| c.variant_id == line.variant_id);
        cart.add(variant, line.variant_id, line.quantity, &buyer)?;
    }
    kassa_store::carts::insert(&store, tenant.id, &mut cart).await?;
    if let Some(customer) = caller.customer() {
        kassa_store::carts::set_customer_cart(&store, tenant.id, customer.id, cart.id).await?;
    }
    let view = carts::view_with(&state.db, &tenant, &cart, &buyer, catalog).await?;
    Ok((StatusCode::CREATED, Json(CreatedCart { cart_token, cart: view })).into_response())
}

fn random_failed() -> std::io::Error {
    std::io::Error::other("the system random source failed")
}

fn too_many_lines() -> DomainError {
    let mut v = kassa_domain::Violations::default();
    v.push("/lines", "too_many_lines", format!("a cart holds at most {} lines", carts::MAX_LINES));
    DomainError::Validation(v)
}

/// `GET /storefront/carts/{id}`.
pub async fn get(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    store: AnyStore,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<CartView>, ApiError> {
    let cart = caller.cart(&store, &tenant, id).await?;
    kassa_store::carts::touch(&store, tenant.id, &cart).await.map_err(ApiError::from)?;
    caller.answer(&state, &tenant, &cart).await
}

/// `PATCH /storefront/carts/{id}`.
pub async fn update(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    store: AnyStore,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(patch): Json<DetailsPatch>,
) -> Result<Json<CartView>, ApiError> {
    let details = patch.check()?;
    let cart = caller
        .change(&store, &tenant, id, |cart| {
            cart.apply(&details);
            Ok(())
        })
        .await?;
    caller.answer(&state, &tenant, &cart).await
}

/// `POST /storefront/carts/{id}/lines`.
pub async fn add_line(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    store: AnyStore,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(line): Json<NewLine>,
) -> Result<Json<CartView>, ApiError> {
    let current = caller.cart(&store, &tenant, id).await?;
    let buyer = caller.buyer(&state, &tenant).await?;
    // The rows of the cart's variants and the new one in one read: the check and the answer use them.
    let mut ids: Vec<Uuid> = current.lines.iter().map(|l| l.variant_id).collect();
    ids.push(line.variant_id);
    let catalog = carts::load_catalog(&state.db, &tenant, &ids, &buyer).await?;
    let variant = catalog.iter().find(|c| c.variant_id == line.variant_id);
    let cart = caller
        .change_read(&store, &tenant, id, Some(current), |cart| {
            cart.add(variant, line.variant_id, line.quantity, &buyer)
        })
        .await?;
    Ok(Json(carts::view_with(&state.db, &tenant, &cart, &buyer, catalog).await?))
}

/// `PATCH /storefront/carts/{id}/lines/{line_id}`.
pub async fn change_line(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    store: AnyStore,
    caller: Caller,
    Path((id, line_id)): Path<(Uuid, Uuid)>,
    Json(change): Json<LineChange>,
) -> Result<Json<CartView>, ApiError> {
    let current = caller.cart(&store, &tenant, id).await?;
    let variant_id = current.line(line_id)?.variant_id;
    let buyer = caller.buyer(&state, &tenant).await?;
    let ids: Vec<Uuid> = current.lines.iter().map(|l| l.variant_id).collect();
    let catalog = carts::load_catalog(&state.db, &tenant, &ids, &buyer).await?;
    let variant = catalog.iter().find(|c| c.variant_id == variant_id);
    let cart = caller
        .change_read(&store, &tenant, id, Some(current), |cart| {
            cart.set_quantity(line_id, variant, change.quantity, &buyer)
        })
        .await?;
    Ok(Json(carts::view_with(&state.db, &tenant, &cart, &buyer, catalog).await?))
}

/// `DELETE /storefront/carts/{id}/lines/{line_id}`.
pub async fn remove_line(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    store: AnyStore,
    caller: Caller,
    Path((id, line_id)): Path<(Uuid, Uuid)>,
) -> Result<Json<CartView>, ApiError> {
    let cart = caller.change(&store, &tenant, id, |cart| cart.remove(line_id)).await?;
    caller.answer(&state, &tenant, &cart).await
}
