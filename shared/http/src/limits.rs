//! Per-client limits on anonymous work. A storefront cache miss costs a Postgres query and
//! a cache entry, so each client IP may cause at most `STOREFRONT_MISS_LIMIT` of them per
//! `STOREFRONT_MISS_WINDOW_SECS` (a fixed window counted in Valkey, shared by every
//! instance); beyond it the answer is 429 with `Retry-After`. Cache hits are never limited.
//! When Valkey is unavailable the limit is not enforced (the cache is then bypassed too, and
//! Postgres' pool bounds the damage): failing closed would turn a cache outage into an
//! outage of every shop.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use http::request::Parts;

use crate::problem::ApiError;
use crate::state::AppState;
use kassa_domain::ErrorCode;

/// The address of the client: the TCP peer locally (`kassa serve`), API Gateway's
/// `requestContext.http.sourceIp` in Lambda. Never a header a client can set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() {
            return Ok(ClientIp(Some(peer.ip())));
        }
        let from_gateway = match parts.extensions.get::<lambda_http::request::RequestContext>() {
            Some(lambda_http::request::RequestContext::ApiGatewayV2(context)) => {
                context.http.source_ip.as_deref().and_then(|ip| ip.parse().ok())
            }
            _ => None,
        };
        Ok(ClientIp(from_gateway))
    }
}

/// Counts one storefront miss for `client`; `Err(429)` once the window's budget is spent.
/// Requests without a known client address (in-process tests) are not counted.
pub async fn storefront_miss(state: &AppState, client: ClientIp) -> Result<(), ApiError> {
    let limit = state.config.storefront_miss_limit;
    let (Some(ip), true) = (client.0, limit > 0) else { return Ok(()) };
    let window = state.config.storefront_miss_window;
    let mut invocation = state.limits.count.prepare_invoke();
    invocation.key(format!("kassa:rl:sfmiss:{ip}")).arg(window.as_millis() as u64);
    match state.valkey.invoke::<(u64, i64)>(&invocation).await {
        Ok((count, _)) if count <= limit => Ok(()),
        Ok((_, ttl_ms)) => {
            let retry_after = Duration::from_millis(u64::try_from(ttl_ms).unwrap_or(0)).as_secs().max(1);
            Err(ApiError::new(
                ErrorCode::RateLimited,
                format!("too many uncached storefront requests from your address; retry in {retry_after} s"),
            )
            .with_header(http::header::RETRY_AFTER, http::HeaderValue::from(retry_after)))
        }
        Err(err) => {
            tracing::warn!(error = %err, "rate limit unavailable; not enforced");
            Ok(())
        }
    }
}

/// The scripts behind the limits, loaded once per process.
#[derive(Debug)]
pub struct Limits {
    /// `INCR` the window's counter, start its expiry on the first hit: `{count, ttl ms}`.
    count: redis::Script,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            count: redis::Script::new(
                r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}
",
            ),
        }
    }
}
