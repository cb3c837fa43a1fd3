//! `POST /storefront/checkout`: the shopper's cart (opened by `Cart-Token` or the owner's
//! customer token, as the carts function does) becomes an order waiting for its Mollie
//! payment. The order, its reservations and the payment row are written in one transaction
//! (`kassa_domain::checkout::start`); Mollie is called after it, with the idempotency key
//! stored on the payment row, so a retry with the same `Idempotency-Key` continues the same
//! order and Mollie answers with the same payment.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use kassa_domain::checkout::{self, CheckoutDraft, PendingCheckout};
use kassa_domain::tenant::Tenant;
use kassa_domain::{ErrorCode, Violations};
use kassa_http::extract::IdempotencyKey;
use kassa_http::{ApiError, AppState, CurrentTenant, Json};
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

/// The shop's Mollie key; `409 payments_not_configured` when it saved none.
async fn api_key(state: &AppState, tenant: &Tenant) -> Result<kassa_domain::payments::ApiKey, ApiError> {
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
