//! The checkout function. So far the staff's side: the shop's payment settings under
//! `/management/payment-settings` — its Mollie API key (checked with Mollie when saved,
//! stored encrypted under `PAYMENT_KEY_ENCRYPTION_KEYS` with the tenant as associated data,
//! never returned, logged or put in an event), profile and enabled methods.

use axum::Router;
use axum::extract::State;
use kassa_domain::access::Action;
use kassa_domain::payments::{ApiKey, PaymentSettings, SettingsDraft, settings};
use kassa_domain::shipping::{ShippingRate, ShippingZone};
use kassa_domain::{ErrorCode, Violation};
use kassa_http::openapi::{Doc, schema};
use kassa_http::{Access, ApiError, AppState, FunctionRoutes, Json, Staff, Verb};
use kassa_mollie::{MollieClient, MollieError};
use kassa_runtime::secrets::Keyring;

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
            .body(schema::<storefront::CheckoutRequest>)
            .returns(201, schema::<storefront::CheckoutStarted>),
            storefront::checkout,
        )
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
