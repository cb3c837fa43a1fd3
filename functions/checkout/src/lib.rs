//! The checkout function. The shopper's side (`storefront.rs`): checkout, the return page's
//! order status, a customer's orders. The staff's side: the shop's payment settings under
//! `/management/payment-settings` — its Mollie API key (checked with Mollie when saved,
//! stored encrypted under `PAYMENT_KEY_ENCRYPTION_KEYS` with the tenant as associated data,
//! never returned, logged or put in an event), profile and enabled methods — shipping zones
//! and rates, and refunds of paid orders through Mollie.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use kassa_domain::access::Action;
use kassa_domain::payments::refunds::{self, Refund, RefundDraft};
use kassa_domain::payments::{ApiKey, PaymentSettings, SettingsDraft, settings};
use kassa_domain::shipping::{ShippingRate, ShippingZone};
use kassa_domain::{ErrorCode, Violation};
use kassa_http::extract::IdempotencyKey;
use kassa_http::list::NoFilters;
use kassa_http::openapi::{Doc, schema};
use kassa_http::{Access, ApiError, AppState, FunctionRoutes, Json, Path, Staff, Verb};
use kassa_mollie::{Amount, MollieClient, MollieError};
use kassa_runtime::secrets::Keyring;
use kassa_store::caller::cart_token_header;
use uuid::Uuid;

pub mod storefront;

/// The function's routes, also read by the template and OpenAPI tests.
pub fn routes() -> FunctionRoutes {
    use Verb::{Get, Post, Put};
    const SETTINGS: &str = "/management/payment-settings";
    // Shipping zones and their rates (flat, with `zone_id`): generic CRUD, shop settings.
    const SHIPPING: (Access, Access) =
        (Access::Allowed(Action::SettingsRead), Access::Allowed(Action::SettingsWrite));
    FunctionRoutes::new("checkout")
        .crud::<ShippingZone>("/management/shipping-zones", SHIPPING)
        .crud::<ShippingRate>("/management/shipping-rates", SHIPPING)
        .staff(
            Get,
            SETTINGS,
            Access::Allowed(Action::SettingsRead),
            Doc::new(
                "getPaymentSettings",
                "The shop's payment settings: mode, the API key's last four characters, profile, methods (never the key)",
            )
            .returns(200, schema::<PaymentSettings>),
            get_settings,
        )
        .staff(
            Put,
            SETTINGS,
            Access::Allowed(Action::SettingsWrite),
            Doc::new(
                "putPaymentSettings",
                "Save the shop's Mollie API key (checked with Mollie, stored encrypted), profile and methods \
                 (emits payment_settings.updated)",
            )
            .body(schema::<SettingsDraft>)
            .returns(200, schema::<PaymentSettings>),
            put_settings,
        )
        .public(
            Post,
            "/storefront/checkout",
            Doc::new(
                "checkout",
                "Check out a cart (Cart-Token or the owner's customer token; Idempotency-Key required): an order \
                 pending payment with its stock reserved, and Mollie's checkout URL to send the shopper to",
            )
            .shopper_optional()
            .query(cart_token_header)
            .idempotency_required(
                "1–255 visible ASCII characters, one per checkout: a retry with the same key continues the same \
                 checkout (same order, same payment) instead of starting another",
            )
            .body(schema::<storefront::CheckoutRequest>)
            .returns(201, schema::<storefront::CheckoutStarted>),
            storefront::checkout,
        )
        .public(
            Get,
            "/storefront/orders/{id}/status",
            Doc::new(
                "getOrderStatus",
                "What the shop's return page shows: the order and its payment as Kassa knows them (asking Mollie again \
                 while the payment is open); for the checkout's Cart-Token or the customer who checked out",
            )
            .shopper_optional()
            .query(cart_token_header)
            .returns(200, schema::<storefront::OrderStatusView>),
            storefront::order_status,
        )
        .public(
            Get,
            "/storefront/customers/me/orders",
            Doc::new("listMyOrders", "The signed-in customer's orders, newest first")
                .lists::<NoFilters, kassa_domain::orders::ShopperOrder>()
                .signed_in(),
            storefront::my_orders,
        )
        .staff(
            Get,
            REFUNDS,
            Access::Allowed(Action::OrdersRead),
            Doc::new("listRefunds", "The order's refunds, oldest first").returns(200, schema::<RefundList>),
            list_refunds,
        )
        .staff(
            Post,
            REFUNDS,
            Access::Allowed(Action::OrdersWrite),
            Doc::new(
                "refundOrder",
                "Refund a paid order in full (no amount) or in part through Mollie (Idempotency-Key required: a retry \
                 continues the same refund)",
            )
            .idempotency_required(
                "1–255 visible ASCII characters, one per refund: a retry with the same key continues the same \
                 refund instead of starting another",
            )
            .body(schema::<RefundDraft>)
            .returns(201, schema::<Refund>),
            refund_order,
        )
}

const REFUNDS: &str = "/management/orders/{id}/refunds";

/// `GET /management/orders/{id}/refunds`.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct RefundList {
    pub items: Vec<Refund>,
}

async fn list_refunds(
    staff: Staff,
    State(state): State<AppState>,
    Path(order_id): Path<Uuid>,
) -> Result<Json<RefundList>, ApiError> {
    Ok(Json(RefundList { items: refunds::list(&state.db, &staff.tenant, order_id).await? }))
}

/// Stores the refund (checked against what is left to refund), then asks Mollie for it with
/// the refund's own idempotency key; Mollie down is a 503 and the same Idempotency-Key
/// continues the same refund.
async fn refund_order(
    staff: Staff,
    State(state): State<AppState>,
    Path(order_id): Path<Uuid>,
    key: IdempotencyKey,
    Json(draft): Json<RefundDraft>,
) -> Result<Response, ApiError> {
    let request_key = key.required()?;
    let tenant = &staff.tenant;
    let pending = refunds::start(&state.db, tenant, order_id, &draft, &request_key).await?;
    let refund = match &pending.refund.provider_id {
        Some(_) => pending.refund,
        None => {
            let api_key = storefront::api_key(&state, tenant).await?;
            let mollie = MollieClient::new(&state.config.mollie_api_url, api_key.expose())
                .map_err(ApiError::internal)?;
            let amount =
                Amount::new(pending.refund.amount, &pending.refund.currency).map_err(ApiError::internal)?;
            let description = pending.refund.description.clone().unwrap_or_else(|| "Refund".to_owned());
            let made = match mollie
                .create_refund(&pending.payment_provider_id, &amount, &description, &pending.idempotency_key)
                .await
            {
                Ok(made) => made,
                Err(MollieError::Validation { detail, .. }) => {
                    // Mollie said no (e.g. the money is not settled yet): the refund failed.
                    refunds::refused(&state.db, tenant, pending.refund.id).await?;
                    return Err(ApiError::new(
                        ErrorCode::OrderNotRefundable,
                        format!("Mollie refused the refund: {detail}"),
                    ));
                }
                Err(err) => {
                    tracing::warn!(error = %err, %order_id, "creating the Mollie refund failed");
                    return Err(ApiError::new(
                        ErrorCode::PaymentProviderUnavailable,
                        "Mollie could not be reached; the refund is kept, retry with the same Idempotency-Key",
                    ));
                }
            };
            refunds::record_provider_refund(&state.db, tenant, pending.refund.id, &made.id).await?;
            let status = kassa_mollie::sync::refund_status(made.status);
            refunds::apply_refund_status(&state.db, tenant, &made.id, status).await?;
            refunds::list(&state.db, tenant, order_id)
                .await?
                .into_iter()
                .find(|r| r.id == pending.refund.id)
                .ok_or_else(|| ApiError::internal(std::io::Error::other("the refund vanished")))?
        }
    };
    Ok((StatusCode::CREATED, Json(refund)).into_response())
}

pub fn router(state: AppState) -> Router {
    routes().into_router(state)
}

async fn get_settings(
    staff: Staff,
    State(state): State<AppState>,
) -> Result<Json<PaymentSettings>, ApiError> {
    Ok(Json(settings::get(&state.db, &staff.tenant).await?))
}

async fn put_settings(
    staff: Staff,
    State(state): State<AppState>,
    Json(draft): Json<SettingsDraft>,
) -> Result<Json<PaymentSettings>, ApiError> {
    let valid = draft.parse()?;
    check_key(&state.config.mollie_api_url, &valid.api_key).await?;
    let keyring = Keyring::from_config(&state.config).map_err(ApiError::internal)?;
    let sealed = keyring.seal_api_key(staff.tenant.id, &valid.api_key).map_err(ApiError::internal)?;
    Ok(Json(settings::save(&state.db, &staff.tenant, &valid, &sealed).await?))
}

/// Asks Mollie whether it knows `key`: a key it refuses is the caller's mistake (422), Mollie
/// down or answering nonsense is a 503 (nothing is stored), anything else ours (500).
async fn check_key(api_url: &str, key: &ApiKey) -> Result<(), ApiError> {
    let mollie = MollieClient::new(api_url, key.expose()).map_err(ApiError::internal)?;
    mollie.check_key().await.map_err(provider_error)
}

/// A Mollie failure as a problem. `MollieError`'s text never holds the key.
pub fn provider_error(err: MollieError) -> ApiError {
    match err {
        MollieError::Unauthorized => ApiError::new(
            ErrorCode::PaymentKeyRejected,
            "Mollie does not accept this API key; copy it again from the Mollie dashboard (Developers, API keys)",
        )
        .with_errors(vec![Violation {
            pointer: "/api_key".into(),
            code: "payment_key_rejected",
            message: "Mollie does not accept this API key".into(),
        }]),
        err @ (MollieError::Unavailable(_) | MollieError::Unexpected(_)) => {
            tracing::warn!(error = %err, "Mollie call failed");
            ApiError::new(
                ErrorCode::PaymentProviderUnavailable,
                "Mollie could not be reached; nothing was saved, try again in a moment",
            )
        }
        other => ApiError::internal(other),
    }
}
