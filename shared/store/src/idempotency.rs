//! `Idempotency-Key` on storefront writes, kept in the cart store's backend for 24 hours:
//! - a first request under a key runs, and its answer (below 500) is kept;
//! - the same key with the same body gets the kept answer again, with
//!   `Idempotent-Replayed: true`;
//! - the same key with another body is `422 idempotency_key_reused`;
//! - the same key while the first request still runs is `409 idempotency_key_race`;
//! - an answer of 500 or more is not kept, so a retry runs again.
//!
//! A key counts per shop, route, method and caller (its `Authorization` and `Cart-Token`),
//! so one caller's key never replays another's answer. Records are stored under the SHA-256
//! of all that, and the kept answer is encrypted with a key derived from the Idempotency-Key
//! itself: whoever reads the store cannot read an answer (a new cart's token, say) without
//! the client's key.
//!
//! Use: wrap a handler and say so in its document,
//! `.public(Verb::Post, path, doc.idempotent(REPLAY), Idempotent(handler))` (a test sends every
//! route a bad key and checks the documents list exactly the routes that read it).

use std::future::Future;
use std::pin::Pin;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use axum::body::Body;
use axum::extract::{FromRequestParts, Request};
use axum::handler::Handler;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{Duration, Utc};
use http::{HeaderName, HeaderValue, StatusCode, header};
use kassa_domain::ErrorCode;
use kassa_domain::tenant::TenantId;
use kassa_http::extract::{BODY_LIMIT_BYTES, IdempotencyKey};
use kassa_http::{ApiError, AppState, CurrentTenant};
use serde::{Deserialize, Serialize};

use crate::{AnyStore, KvStore, Record, StoreError};

/// How long a kept answer is replayed.
pub fn retention() -> Duration {
    Duration::hours(24)
}

/// How long a request may run before its key is free again (a crashed instance's claim).
fn claim_lifetime() -> Duration {
    Duration::minutes(2)
}

/// What the OpenAPI documents say of an [`Idempotent`] route's `Idempotency-Key`
/// (`Doc::idempotent(REPLAY)`).
pub const REPLAY: &str = "1–255 visible ASCII characters: the same key and body within 24 h replay the first answer \
                          (Idempotent-Replayed: true); another body is idempotency_key_reused; while the first \
                          still runs, idempotency_key_race";

/// The header a replayed answer carries.
pub const REPLAYED: &str = "idempotent-replayed";

/// A handler whose requests with an `Idempotency-Key` run at most once (see the module).
#[derive(Clone, Copy, Debug)]
pub struct Idempotent<H>(pub H);

impl<H, T> Handler<T, AppState> for Idempotent<H>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    type Future = Pin<Box<dyn Future<Output = Response> + Send>>;

    fn call(self, request: Request, state: AppState) -> Self::Future {
        Box::pin(async move {
            let handler = self.0;
            match once(&state, request, |request, state| handler.call(request, state)).await {
                Ok(response) => response,
                Err(err) => err.into_response(),
            }
        })
    }
}

/// What is kept under a key.
#[derive(Debug, Serialize, Deserialize)]
struct Kept {
    /// SHA-256 of the request body.
    request: String,
    /// The encrypted answer; `None` while the first request runs.
    answer: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

/// Runs `handle` for `request` at most once per Idempotency-Key (none: every time) in the
/// request's shop, keeping and replaying its answer in the configured store.
pub async fn once<F, Fut>(state: &AppState, request: Request, handle: F) -> Result<Response, ApiError>
where
    F: FnOnce(Request, AppState) -> Fut,
    Fut: Future<Output = Response>,
{
    let (mut parts, body) = request.into_parts();
    let IdempotencyKey(Some(key)) = IdempotencyKey::from_request_parts(&mut parts, state).await? else {
        return Ok(handle(Request::from_parts(parts, body), state.clone()).await);
    };
    let CurrentTenant(tenant) = CurrentTenant::from_request_parts(&mut parts, state).await?;
    let bytes = axum::body::to_bytes(body, BODY_LIMIT_BYTES)
        .await
        .map_err(|_| ApiError::new(ErrorCode::PayloadTooLarge, "the request body exceeds the 1 MiB limit"))?;
    let header = |name: &HeaderName| parts.headers.get(name).map(HeaderValue::as_bytes).unwrap_or_default();
    let scope = [
        key.as_bytes(),
        parts.method.as_str().as_bytes(),
        parts.uri.path().as_bytes(),
        header(&header::AUTHORIZATION),
        header(&HeaderName::from_static("cart-token")),
    ];
    let keys = Keys::derive(tenant.id, &scope);
    let request_hash = crate::token::sha256_hex(&bytes);
    let store = AnyStore::for_state(state).await?;
    if let Some(replay) = claim(&store, &keys, &request_hash).await? {
        return Ok(replay);
    }
    let response = handle(Request::from_parts(parts, Body::from(bytes)), state.clone()).await;
    if response.status().is_server_error() {
        store.delete(&keys.record, 1).await?;
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.map_err(ApiError::internal)?;
    let answer = Answer {
        status: parts.status.as_u16(),
        headers: parts
            .headers
            .iter()
            .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
            .collect(),
        body: STANDARD.encode(&body),
    };
    let kept = Kept {
        request: request_hash,
        answer: Some(keys.seal(&serde_json::to_vec(&answer).map_err(StoreError::from)?)?),
    };
    let record = Record {
        version: 2,
        doc: serde_json::to_string(&kept).map_err(StoreError::from)?,
        expires_at: Utc::now() + retention(),
    };
    if !store.put(&keys.record, 1, &record).await? {
        tracing::warn!("an idempotency claim expired before its request finished; the answer is not kept");
    }
    Ok(Response::from_parts(parts, Body::from(body)))
}

/// Claims the key for this request (`None`: go ahead), or answers as the key's earlier
/// request did.
async fn claim(store: &AnyStore, keys: &Keys, request_hash: &str) -> Result<Option<Response>, ApiError> {
    loop {
        match store.get(&keys.record).await? {
            None => {
                let pending = Kept { request: request_hash.to_owned(), answer: None };
                let record = Record {
                    version: 1,
                    doc: serde_json::to_string(&pending).map_err(StoreError::from)?,
                    expires_at: Utc::now() + claim_lifetime(),
                };
                if store.put(&keys.record, 0, &record).await? {
                    return Ok(None);
                }
                // Another request claimed it first: look again.
            }
            Some(record) => {
                let kept: Kept = serde_json::from_str(&record.doc).map_err(StoreError::from)?;
                if kept.request != request_hash {
                    return Err(ApiError::new(
                        ErrorCode::IdempotencyKeyReused,
                        "this Idempotency-Key was used for a request with another body",
                    ));
                }
                let Some(sealed) = kept.answer else {
                    return Err(ApiError::new(
                        ErrorCode::IdempotencyKeyRace,
                        "a request with this Idempotency-Key is still being handled; retry",
                    ));
                };
                let answer: Answer =
                    serde_json::from_slice(&keys.open(&sealed)?).map_err(StoreError::from)?;
                return Ok(Some(replay(answer)?));
            }
        }
    }
}

fn replay(answer: Answer) -> Result<Response, ApiError> {
    let body = STANDARD.decode(&answer.body).map_err(ApiError::internal)?;
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(answer.status).map_err(ApiError::internal)?;
    for (name, value) in answer.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            response.headers_mut().append(name, value);
        }
    }
    response.headers_mut().insert(REPLAYED, HeaderValue::from_static("true"));
    Ok(response)
}

/// The record's store key and the answer's encryption key, both from the scope.
struct Keys {
    record: String,
    cipher: LessSafeKey,
}

impl Keys {
    fn derive(tenant: TenantId, scope: &[&[u8]]) -> Self {
        let joined = |label: &[u8]| {
            let mut all = label.to_vec();
            for part in scope {
                all.extend_from_slice(&(part.len() as u64).to_be_bytes());
                all.extend_from_slice(part);
            }
            all
        };
        let id = crate::token::sha256_hex(&joined(b"kassa idempotency record"));
        let secret = digest(&SHA256, &joined(b"kassa idempotency answer"));
        // A SHA-256 digest is exactly an AES-256 key.
        let cipher = UnboundKey::new(&AES_256_GCM, secret.as_ref()).map(LessSafeKey::new);
        Keys {
            record: crate::key(tenant, "idempotency", &id),
            cipher: cipher.unwrap_or_else(|_| unreachable!("32 bytes are an AES-256 key")),
        }
    }

    fn seal(&self, plain: &[u8]) -> Result<String, ApiError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| ApiError::internal(anyhow::anyhow!("no randomness")))?;
        let mut sealed = plain.to_vec();
        self.cipher
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut sealed)
            .map_err(|_| ApiError::internal(anyhow::anyhow!("sealing an idempotent answer failed")))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(STANDARD.encode(out))
    }

    fn open(&self, sealed: &str) -> Result<Vec<u8>, ApiError> {
        let bytes = STANDARD.decode(sealed).map_err(ApiError::internal)?;
        let (nonce, sealed) = bytes.split_at_checked(NONCE_LEN).ok_or_else(corrupt)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| corrupt())?;
        let mut in_out = sealed.to_vec();
        let plain = self.cipher.open_in_place(nonce, Aad::empty(), &mut in_out).map_err(|_| corrupt())?;
        Ok(plain.to_vec())
    }
}

fn corrupt() -> ApiError {
    ApiError::internal(anyhow::anyhow!("a kept idempotent answer does not decrypt"))
}
