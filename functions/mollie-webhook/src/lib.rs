//! The Mollie webhook: `POST /webhooks/mollie/{shop}` with the form body `id=tr_…`, which is
//! all Mollie sends — no status, no signature. The body is never trusted: the payment is
//! fetched from Mollie with that shop's key and its status applied to the order
//! monotonically ([`kassa_mollie::sync::sync_payment`]): a duplicate, a late or a reordered
//! delivery changes nothing. Mollie calls the same webhook when a refund of the payment
//! changes; the sync then applies the refunds' statuses too.
//!
//! Answers: `200` after a handled or ignored change and for anything that is no payment of
//! this shop (unknown shop, id, or another shop's payment — no oracle); `503` only when the
//! payment could not be fetched, or when Mollie names an order of this shop that is not
//! committed yet, so that Mollie delivers again later.

use axum::Router;
use axum::extract::State;
use bytes::Bytes;
use http::StatusCode;
use kassa_domain::checkout::Applied;
use kassa_domain::tenant::{Tenant, TenantKey};
use kassa_http::{AppState, FunctionRoutes, Path, Verb};
use kassa_mollie::MollieClient;
use kassa_mollie::sync::sync_payment;
use kassa_runtime::secrets::{Keyring, payment_api_key};

/// The function's routes, also read by the template test.
pub fn routes() -> FunctionRoutes {
    FunctionRoutes::new("mollie-webhook").open(Verb::Post, "/webhooks/mollie/{shop}", webhook)
}

pub fn router(state: AppState) -> Router {
    routes().into_router(state)
}

/// Why a delivery must come again.
struct Retry(&'static str);

pub async fn webhook(State(state): State<AppState>, Path(shop): Path<String>, body: Bytes) -> StatusCode {
    match handle(&state, &shop, &body).await {
        Ok(()) => StatusCode::OK,
        Err(Retry(why)) => {
            tracing::warn!(shop = %shop, why, "Mollie webhook not handled; Mollie will deliver again");
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}

async fn handle(state: &AppState, shop: &str, body: &[u8]) -> Result<(), Retry> {
    let Some(id) = form_urlencoded::parse(body).find(|(k, _)| k == "id").map(|(_, v)| v.into_owned()) else {
        return Ok(());
    };
    let key = TenantKey::Handle(shop.to_owned());
    let Some(tenant) =
        state.tenants.resolve(&state.db, &key).await.map_err(|_| Retry("tenant lookup failed"))?
    else {
        return Ok(());
    };
    let keyring = Keyring::from_config(&state.config).map_err(|_| Retry("no key-encryption keys"))?;
    let Some(api_key) =
        payment_api_key(&state.db, &keyring, &tenant).await.map_err(|_| Retry("payment settings"))?
    else {
        return Ok(());
    };
    let mollie = MollieClient::new(&state.config.mollie_api_url, api_key.expose())
        .map_err(|_| Retry("Mollie client"))?;
    match sync_payment(&state.db, &tenant, &mollie, &id).await {
        // Not a payment of this shop's account: nothing to do, and nothing to tell.
        Ok(None) => Ok(()),
        Ok(Some((payment, Applied::Unknown))) if names_this_shop(&payment.metadata, &tenant) => {
            // Mollie knows the payment before Kassa stored its id (the checkout is still
            // committing): come again.
            Err(Retry("the checkout of this payment is not committed yet"))
        }
        Ok(Some((payment, Applied::Ignored { from, to }))) => {
            tracing::info!(payment = %payment.id, from = from.as_str(), to = to.as_str(), "payment status ignored");
            Ok(())
        }
        Ok(Some(_)) => Ok(()),
        Err(kassa_mollie::sync::SyncError::Mollie(_)) => Err(Retry("Mollie did not answer")),
        Err(kassa_mollie::sync::SyncError::Domain(_)) => Err(Retry("the status could not be applied")),
    }
}

fn names_this_shop(metadata: &serde_json::Value, tenant: &Tenant) -> bool {
    metadata.get("shop_id").and_then(|v| v.as_str()) == Some(tenant.id.as_uuid().to_string().as_str())
}
