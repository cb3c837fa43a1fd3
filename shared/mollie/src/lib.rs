//! A small typed client of Mollie's Payments API v2 (docs.mollie.com): create, get and cancel
//! payments, create, list and get refunds, and a cheap authenticated call that checks an API
//! key. Errors are typed from Mollie's `application/hal+json` bodies; every call has a
//! timeout and redirects are never followed. Amounts leave Kassa's minor units here
//! ([`amount`]); a currency Mollie does not take is refused before any call.
//!
//! No mock: tests run against the simulator (`infra/mollie-sim`, `kassa_testkit::mollie`).

pub mod amount;
pub mod sync;

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use amount::{Amount, SUPPORTED_CURRENCIES, format_amount, parse_amount};

/// The production API base (`MOLLIE_API_URL`'s default).
pub const DEFAULT_API_URL: &str = "https://api.mollie.com/v2";
/// The longest one call to Mollie may take, connecting included.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// What went wrong talking to Mollie. `Display` never holds the API key.
#[derive(Debug, thiserror::Error)]
pub enum MollieError {
    /// 401: Mollie does not know the API key.
    #[error("Mollie refused the API key")]
    Unauthorized,
    /// 404 (or 410): no such payment or refund for this key.
    #[error("Mollie has no such resource")]
    NotFound,
    /// 400 / 422: Mollie refused the request; `field` names the input when Mollie said.
    #[error("Mollie refused the request{}: {detail}", field.as_ref().map(|f| format!(" ({f})")).unwrap_or_default())]
    Validation { field: Option<String>, detail: String },
    /// Mollie could not be reached, timed out, or answered 429 or 5xx: try again later.
    #[error("Mollie is unavailable: {0}")]
    Unavailable(Unavailable),
    /// An answer this client cannot read (another status, a body of the wrong shape).
    #[error("unexpected answer from Mollie: {0}")]
    Unexpected(String),
    /// Refused before any call: Mollie takes no payments in this currency.
    #[error("Mollie does not take payments in '{currency}'")]
    UnsupportedCurrency { currency: String },
    /// Refused before any call: not an amount Mollie can charge or refund.
    #[error("invalid amount: {0}")]
    InvalidAmount(String),
}

/// Why Mollie is unavailable: its status, or the transport's error.
#[derive(Debug)]
pub enum Unavailable {
    Status(u16),
    Transport(String),
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unavailable::Status(status) => write!(f, "HTTP {status}"),
            Unavailable::Transport(what) => f.write_str(what),
        }
    }
}

/// Mollie's payment statuses (docs.mollie.com, "Payment status changes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentStatus {
    Open,
    Pending,
    Authorized,
    Paid,
    Canceled,
    Expired,
    Failed,
}

/// Mollie's refund statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RefundStatus {
    Queued,
    Pending,
    Processing,
    Refunded,
    Failed,
    Canceled,
}

/// `POST /v2/payments`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequest {
    pub amount: Amount,
    pub description: String,
    pub redirect_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    /// Echoed back on every read (e.g. the order and shop ids); at most 1 kB at Mollie.
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    pub metadata: serde_json::Value,
    /// One method (`ideal`) to skip Mollie's method choice; `None` lets the shopper choose.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Link {
    pub href: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct PaymentLinks {
    /// Where to send the customer; only while the payment is open.
    pub checkout: Option<Link>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    /// `tr_…`
    pub id: String,
    /// `test` or `live`.
    pub mode: Option<String>,
    pub status: PaymentStatus,
    pub amount: Amount,
    /// Present once the payment is paid.
    pub amount_refunded: Option<Amount>,
    pub amount_remaining: Option<Amount>,
    pub description: String,
    pub method: Option<String>,
    #[serde(default)]
    pub metadata: serde_json::Value,
    #[serde(default)]
    pub is_cancelable: bool,
    pub created_at: DateTime<Utc>,
    pub authorized_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    pub canceled_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub expired_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    #[serde(default, rename = "_links")]
    pub links: PaymentLinks,
}

impl Payment {
    /// `_links.checkout.href`: where to send the customer (only while open).
    pub fn checkout_url(&self) -> Option<&str> {
        self.links.checkout.as_ref().map(|link| link.href.as_str())
    }
}

#[derive(Debug, Clone, Serialize)]
struct RefundRequest<'a> {
    amount: &'a Amount,
    description: &'a str,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Refund {
    /// `re_…`
    pub id: String,
    pub payment_id: String,
    pub status: RefundStatus,
    pub amount: Amount,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct RefundList {
    #[serde(rename = "_embedded")]
    embedded: RefundsEmbedded,
}

#[derive(Deserialize)]
struct RefundsEmbedded {
    refunds: Vec<Refund>,
}

/// Mollie's error body: `{status, title, detail, field?}`.
#[derive(Deserialize)]
struct ErrorBody {
    detail: Option<String>,
    title: Option<String>,
    field: Option<String>,
}

/// A client for one Mollie account (one API key). Cheap to build: the HTTP connection pool
/// is shared by every client of the process. `Debug` shows the mode, never the key.
#[derive(Clone)]
pub struct MollieClient {
    http: reqwest::Client,
    api_url: String,
    api_key: String,
}

impl fmt::Debug for MollieClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MollieClient")
            .field("api_url", &self.api_url)
            .field("api_key", &"[redacted]")
            .finish()
    }
}

fn shared_http() -> Result<reqwest::Client, MollieError> {
    static HTTP: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    if let Some(http) = HTTP.get() {
        return Ok(http.clone());
    }
    let http = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("kassa-mollie/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|err| MollieError::Unexpected(format!("the HTTP client could not be built: {err}")))?;
    Ok(HTTP.get_or_init(|| http).clone())
}

/// Ids go into URL paths: only Mollie's shape (`tr_…`, `re_…`, letters and digits) is
/// sent; anything else cannot exist at Mollie and is [`MollieError::NotFound`] without a call.
fn check_id(prefix: &str, id: &str) -> Result<(), MollieError> {
    let rest = id.strip_prefix(prefix).ok_or(MollieError::NotFound)?;
    if rest.is_empty() || rest.len() > 64 || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(MollieError::NotFound);
    }
    Ok(())
}

impl MollieClient {
    /// A client of `api_url` (e.g. [`DEFAULT_API_URL`] or the simulator's `…/v2`) with
    /// `api_key` (`test_…` or `live_…`).
    pub fn new(api_url: &str, api_key: &str) -> Result<Self, MollieError> {
        Ok(Self {
            http: shared_http()?,
            api_url: api_url.trim_end_matches('/').to_owned(),
            api_key: api_key.to_owned(),
        })
    }

    /// `POST /v2/payments` with `Idempotency-Key`: a retry with the same key and request gets
    /// the first payment back instead of a second one.
    pub async fn create_payment(
        &self,
        request: &PaymentRequest,
        idempotency_key: &str,
    ) -> Result<Payment, MollieError> {
        if !amount::is_supported(&request.amount.currency) {
            return Err(MollieError::UnsupportedCurrency { currency: request.amount.currency.clone() });
        }
        self.send(Method::POST, "/payments", Some(request), Some(idempotency_key)).await
    }

    /// `GET /v2/payments/{id}`: the payment as Mollie has it now.
    pub async fn get_payment(&self, id: &str) -> Result<Payment, MollieError> {
        check_id("tr_", id)?;
        self.send::<(), _>(Method::GET, &format!("/payments/{id}"), None, None).await
    }

    /// `DELETE /v2/payments/{id}`: cancels a cancelable payment (422 otherwise).
    pub async fn cancel_payment(&self, id: &str) -> Result<Payment, MollieError> {
        check_id("tr_", id)?;
        self.send::<(), _>(Method::DELETE, &format!("/payments/{id}"), None, None).await
    }

    /// `POST /v2/payments/{id}/refunds` (partial or full) with `Idempotency-Key`.
    pub async fn create_refund(
        &self,
        payment_id: &str,
        amount: &Amount,
        description: &str,
        idempotency_key: &str,
    ) -> Result<Refund, MollieError> {
        check_id("tr_", payment_id)?;
        if !amount::is_supported(&amount.currency) {
            return Err(MollieError::UnsupportedCurrency { currency: amount.currency.clone() });
        }
        let body = RefundRequest { amount, description };
        let path = format!("/payments/{payment_id}/refunds");
        self.send(Method::POST, &path, Some(&body), Some(idempotency_key)).await
    }

    /// `GET /v2/payments/{id}/refunds`: the payment's refunds (Mollie's first page, up to 50).
    pub async fn list_refunds(&self, payment_id: &str) -> Result<Vec<Refund>, MollieError> {
        check_id("tr_", payment_id)?;
        let path = format!("/payments/{payment_id}/refunds");
        let list: RefundList = self.send::<(), _>(Method::GET, &path, None, None).await?;
        Ok(list.embedded.refunds)
    }

    /// `GET /v2/payments/{id}/refunds/{refund_id}`.
    pub async fn get_refund(&self, payment_id: &str, refund_id: &str) -> Result<Refund, MollieError> {
        check_id("tr_", payment_id)?;
        check_id("re_", refund_id)?;
        let path = format!("/payments/{payment_id}/refunds/{refund_id}");
        self.send::<(), _>(Method::GET, &path, None, None).await
    }

    /// Checks that Mollie accepts the key with the cheapest authenticated read the simulator
    /// serves too, `GET /v2/payments?limit=1` (it has no profiles API): `Ok` when Mollie
    /// accepts it, [`MollieError::Unauthorized`] when not.
    pub async fn check_key(&self) -> Result<(), MollieError> {
        self.send::<(), serde_json::Value>(Method::GET, "/payments?limit=1", None, None).await.map(|_| ())
    }

    async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        idempotency_key: Option<&str>,
    ) -> Result<T, MollieError> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.api_url))
            .bearer_auth(&self.api_key)
            .header("accept", "application/hal+json, application/json");
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        // `without_url`: the URL holds no secret, but keep errors short and uniform.
        let transport = |err: reqwest::Error| {
            let kind = if err.is_timeout() {
                "timed out"
            } else if err.is_connect() {
                "could not connect"
            } else {
                "the connection failed"
            };
            MollieError::Unavailable(Unavailable::Transport(kind.to_owned()))
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|err| {
                MollieError::Unexpected(format!("a {status} answer of the wrong shape: {err}"))
            });
        }
        Err(error_from(status, &bytes))
    }
}

fn error_from(status: StatusCode, body: &[u8]) -> MollieError {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let detail = parsed
        .as_ref()
        .and_then(|b| b.detail.clone().or_else(|| b.title.clone()))
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
    match status.as_u16() {
        401 => MollieError::Unauthorized,
        404 | 410 => MollieError::NotFound,
        400 | 422 => MollieError::Validation { field: parsed.and_then(|b| b.field), detail },
        429 | 500..=599 => MollieError::Unavailable(Unavailable::Status(status.as_u16())),
        other => MollieError::Unexpected(format!("HTTP {other}: {detail}")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

    use super::*;

    #[test]
    fn debug_output_never_holds_the_key() {
        let client = MollieClient::new(DEFAULT_API_URL, "test_abcdefghijklmnopqrstuvwxyz0123").unwrap();
        let debug = format!("{client:?}");
        assert!(!debug.contains("abcdefghij"), "{debug}");
        assert!(debug.contains("[redacted]"));
    }

    #[test]
    fn mollie_error_bodies_become_typed_errors() {
        let body = br#"{"status":422,"title":"Unprocessable Entity","detail":"The amount is too low","field":"amount.value"}"#;
        match error_from(StatusCode::UNPROCESSABLE_ENTITY, body) {
            MollieError::Validation { field, detail } => {
                assert_eq!(field.as_deref(), Some("amount.value"));
                assert_eq!(detail, "The amount is too low");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(error_from(StatusCode::UNAUTHORIZED, b"{}"), MollieError::Unauthorized));
        assert!(matches!(error_from(StatusCode::NOT_FOUND, b"not json"), MollieError::NotFound));
        assert!(matches!(
            error_from(StatusCode::BAD_GATEWAY, b""),
            MollieError::Unavailable(Unavailable::Status(502))
        ));
        assert!(matches!(error_from(StatusCode::FORBIDDEN, b"{}"), MollieError::Unexpected(_)));
    }

    #[test]
    fn ids_that_mollie_cannot_have_are_not_sent() {
        assert!(check_id("tr_", "tr_WDqYK6vllg").is_ok());
        for bad in ["tr_", "re_abc", "tr_../../refunds", "tr_a/b", "tr_a?x=1", ""] {
            assert!(matches!(check_id("tr_", bad), Err(MollieError::NotFound)), "{bad}");
        }
    }
}
