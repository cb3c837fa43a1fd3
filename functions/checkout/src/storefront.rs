//! `POST /storefront/checkout`: the shopper's cart (opened by `Cart-Token` or the owner's
//! customer token, as the carts function does) becomes an order waiting for its Mollie
//! payment. The order, its reservations and the payment row are written in one transaction
//! (`kassa_domain::checkout::start`); Mollie is called after it, with the idempotency key
//! stored on the payment row, so a retry with the same `Idempotency-Key` continues the same
//! order and Mollie answers with the same payment.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use kassa_domain::checkout::{self, CheckoutDraft, OrderForShopper, PendingCheckout};
use kassa_domain::orders::{self, OrderFilter, ShopperOrder};
use kassa_domain::pagination::{KeyKind, Page};
use kassa_domain::tenant::Tenant;
use kassa_domain::{DomainError, ErrorCode, Violations};
use kassa_http::extract::IdempotencyKey;
use kassa_http::list::{ListQuery, NoFilters};
use kassa_http::{ApiError, AppState, CurrentTenant, Json, Path, Shopper};
use kassa_mollie::{Amount, MollieClient, PaymentRequest};
use kassa_runtime::secrets::{Keyring, payment_api_key};
use kassa_store::AnyStore;
use kassa_store::caller::Caller;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `POST /storefront/checkout`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    pub cart_id: Uuid,
    /// Where Mollie sends the shopper after paying (an http or https URL of the shop's site).
    #[schema(max_length = 2048)]
    pub redirect_url: String,
}

/// The order waiting for its payment and where to send the shopper to pay it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CheckoutStarted {
    pub order_id: Uuid,
    pub order_number: i64,
    /// Mollie's hosted checkout (`_links.checkout.href`).
    pub checkout_url: String,
}

/// The redirect URL, if it is an absolute http(s) URL of at most 2048 characters.
fn check_redirect(raw: &str) -> Result<String, ApiError> {
    if raw.len() <= 2048 && is_web_url(raw) {
        return Ok(raw.to_owned());
    }
    let mut v = Violations::default();
    v.push("/redirect_url", "invalid_url", "an absolute http or https URL of at most 2048 characters");
    Err(kassa_domain::DomainError::Validation(v).into())
}

/// `scheme://host…` with scheme http or https, a non-empty host and no whitespace or
/// control characters.
fn is_web_url(raw: &str) -> bool {
    let rest = raw.strip_prefix("https://").or_else(|| raw.strip_prefix("http://"));
    let Some(rest) = rest else { return false };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    !host.is_empty() && !host.contains('@') && raw.chars().all(|c| c.is_ascii_graphic())
}

/// `POST /storefront/checkout`.
pub async fn checkout(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    store: AnyStore,
    caller: Caller,
    key: IdempotencyKey,
    Json(request): Json<CheckoutRequest>,
) -> Result<Response, ApiError> {
    let checkout_key = key.required()?;
    let redirect_url = check_redirect(&request.redirect_url)?;
    let pending = match checkout::started(&state.db, &tenant, &checkout_key, request.cart_id).await? {
        Some(pending) => pending,
        None => {
            let cart = caller.cart(&store, &tenant, request.cart_id).await?;
            if !kassa_mollie::amount::is_supported(&cart.currency) {
                return Err(ApiError::new(
                    ErrorCode::UnsupportedPaymentCurrency,
                    format!("Mollie does not accept payments in {}", cart.currency),
                ));
            }
            api_key(&state, &tenant).await?;
            let buyer = caller.buyer(&state, &tenant).await?;
            let priced = kassa_domain::carts::view(&state.db, &tenant, &cart, &buyer).await?;
            let draft = CheckoutDraft {
                cart: &cart,
                priced: &priced,
                customer_id: caller.customer().map(|c| c.id),
                checkout_key: &checkout_key,
                redirect_url: &redirect_url,
            };
            checkout::start(&state.db, &tenant, &draft).await?
        }
    };
    let checkout_url = match &pending.checkout_url {
        Some(url) => url.clone(),
        None => create_payment(&state, &tenant, &pending).await?,
    };
    let started =
        CheckoutStarted { order_id: pending.order_id, order_number: pending.order_number, checkout_url };
    Ok((StatusCode::CREATED, Json(started)).into_response())
}

/// `GET /storefront/orders/{id}/status`: what a shop's return page shows after Mollie sent
/// the shopper back.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderStatusView {
    pub order: ShopperOrder,
    /// The payment's status as Kassa last learnt it from Mollie: `open`, `pending`,
    /// `authorized`, `paid`, `canceled`, `expired` or `failed`; `null` for an order without one.
    pub payment_status: Option<String>,
    /// While the payment is still open: Mollie's checkout, to finish paying.
    pub checkout_url: Option<String>,
}

/// `GET /storefront/orders/{id}/status` (the checkout's `Cart-Token`, or the customer token of
/// the customer who checked out; anyone else gets the 404 of an unknown order). Read from
/// Kassa's records — never from the redirect's query string — after asking Mollie once more
/// if the payment is still open (the webhook may not have arrived yet).
pub async fn order_status(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let readable = |found: &OrderForShopper| {
        found.customer_id.is_some_and(|c| caller.is_customer(c))
            || found.cart_token_sha256.as_deref().is_some_and(|t| caller.presents(t))
    };
    let not_found = || ApiError::from(DomainError::NotFound { resource: "order" });
    let mut found =
        checkout::order_for_shopper(&state.db, &tenant, id).await?.filter(readable).ok_or_else(not_found)?;
    if let Some(provider_id) =
        found.payment.as_ref().filter(|p| p.is_open()).and_then(|p| p.provider_id.clone())
    {
        // Mollie may know more than the webhook told so far; if it cannot be asked, what
        // Kassa knows is the answer.
        match refresh(&state, &tenant, &provider_id).await {
            Ok(()) => {
                found = checkout::order_for_shopper(&state.db, &tenant, id).await?.ok_or_else(not_found)?;
            }
            Err(err) => {
                tracing::warn!(error = ?err, order_id = %id, "the payment could not be refreshed from Mollie")
            }
        }
    }
    let open = found.payment.as_ref().is_some_and(|p| p.is_open());
    let view = OrderStatusView {
        order: ShopperOrder::from(&found.order),
        payment_status: found.payment.as_ref().map(|p| p.status.clone()),
        checkout_url: found.payment.and_then(|p| p.checkout_url).filter(|_| open),
    };
    Ok(([(http::header::CACHE_CONTROL, "no-store")], Json(view)).into_response())
}

/// Asks Mollie for payment `provider_id` and applies what it says.
async fn refresh(state: &AppState, tenant: &Tenant, provider_id: &str) -> Result<(), ApiError> {
    let key = api_key(state, tenant).await?;
    let mollie = MollieClient::new(&state.config.mollie_api_url, key.expose()).map_err(ApiError::internal)?;
    kassa_mollie::sync::sync_payment(&state.db, tenant, &mollie, provider_id)
        .await
        .map_err(ApiError::internal)?;
    Ok(())
}

/// `GET /storefront/customers/me/orders`: the signed-in customer's orders, newest first.
pub async fn my_orders(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    shopper: Shopper,
    list: ListQuery<NoFilters>,
) -> Result<Response, ApiError> {
    let cursor = list.cursor(&tenant, orders::LIST_ORDERING, KeyKind::Time)?;
    let filter = OrderFilter { status: None, customer_id: Some(shopper.customer_id) };
    let page = orders::list(&state.db, &tenant, list.limit, cursor.as_ref(), filter).await?;
    let page: Page<ShopperOrder> = page.map(|o| ShopperOrder::from(&o));
    Ok(([(http::header::CACHE_CONTROL, "private, no-store")], Json(page)).into_response())
}

/// The shop's Mollie key; `409 payments_not_configured` when it saved none.
pub(crate) async fn api_key(
    state: &AppState,
    tenant: &Tenant,
) -> Result<kassa_domain::payments::ApiKey, ApiError> {
    let keyring = Keyring::from_config(&state.config).map_err(ApiError::internal)?;
    payment_api_key(&state.db, &keyring, tenant).await.map_err(ApiError::internal)?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::PaymentsNotConfigured,
            "this shop does not take payments yet (no payment settings saved)",
        )
    })
}

/// Creates (or, on a retry, gets back) the Mollie payment of `pending` under its stored
/// idempotency key, stores Mollie's id and checkout URL, and returns that URL.
async fn create_payment(
    state: &AppState,
    tenant: &Tenant,
    pending: &PendingCheckout,
) -> Result<String, ApiError> {
    let key = api_key(state, tenant).await?;
    let mollie = MollieClient::new(&state.config.mollie_api_url, key.expose()).map_err(ApiError::internal)?;
    let amount = Amount::new(pending.amount, &pending.currency).map_err(ApiError::internal)?;
    let request = PaymentRequest {
        amount,
        description: format!("Order #{} at {}", pending.order_number, tenant.name),
        redirect_url: pending.redirect_url.clone().unwrap_or_default(),
        webhook_url: Some(format!("{}/webhooks/mollie/{}", state.config.public_base_url, tenant.handle)),
        metadata: serde_json::json!({"order_id": pending.order_id, "shop_id": tenant.id}),
        method: None,
    };
    let payment = mollie.create_payment(&request, &pending.idempotency_key).await.map_err(|err| {
        tracing::warn!(error = %err, order_id = %pending.order_id, "creating the Mollie payment failed");
        ApiError::new(
            ErrorCode::PaymentProviderUnavailable,
            "Mollie could not be reached; the order is kept, retry with the same Idempotency-Key",
        )
    })?;
    let checkout_url = payment.checkout_url().map(str::to_owned).ok_or_else(|| {
        ApiError::internal(std::io::Error::other("Mollie answered without a checkout link"))
    })?;
    checkout::record_provider_payment(
        &state.db,
        tenant,
        pending.payment_id,
        &payment.id,
        Some(&checkout_url),
    )
    .await?;
    Ok(checkout_url)
}
