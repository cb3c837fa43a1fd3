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

/// Failed sign-ins one account may have per [`SIGN_IN_WINDOW`] before sign-in is refused
/// (429) for the rest of the window; the failures one client IP may cause over all accounts
/// are `SIGN_IN_IP_LIMIT` (default 30, `0`: not limited). A success clears the account's count.
pub const SIGN_IN_FAILURES_PER_ACCOUNT: u64 = 5;
pub const SIGN_IN_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The counters of failed sign-ins that apply to one attempt: the account's (by shop and
/// email, hashed) and the client IP's.
#[derive(Debug, Clone)]
pub struct SignInLimit {
    counters: Vec<(String, u64)>,
}

impl SignInLimit {
    /// `account` identifies the account within the platform (e.g. a digest of shop and email).
    pub fn new(state: &AppState, account: &str, client: ClientIp) -> Self {
        let mut counters = vec![(format!("kassa:rl:signin:acct:{account}"), SIGN_IN_FAILURES_PER_ACCOUNT)];
        let per_ip = state.config.sign_in_ip_limit;
        if let (Some(ip), true) = (client.0, per_ip > 0) {
            counters.push((format!("kassa:rl:signin:ip:{ip}"), per_ip));
        }
        Self { counters }
    }

    /// `Err(429)` with `Retry-After` when a counter has reached its limit.
    pub async fn check(&self, state: &AppState) -> Result<(), ApiError> {
        for (key, limit) in &self.counters {
            let mut invocation = state.limits.peek.prepare_invoke();
            invocation.key(key);
            match state.valkey.invoke::<(u64, i64)>(&invocation).await {
                Ok((count, ttl_ms)) if count >= *limit => {
                    let retry_after =
                        Duration::from_millis(u64::try_from(ttl_ms).unwrap_or(0)).as_secs().max(1);
                    return Err(ApiError::new(
                        ErrorCode::RateLimited,
                        format!("too many failed sign-ins; retry in {retry_after} s"),
                    )
                    .with_header(http::header::RETRY_AFTER, http::HeaderValue::from(retry_after)));
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "sign-in limit unavailable; not enforced"),
            }
        }
        Ok(())
    }

    /// Counts a failed attempt on every counter.
    pub async fn failed(&self, state: &AppState) {
        for (key, _) in &self.counters {
            let mut invocation = state.limits.count.prepare_invoke();
            invocation.key(key).arg(SIGN_IN_WINDOW.as_millis() as u64);
            if let Err(err) = state.valkey.invoke::<(u64, i64)>(&invocation).await {
                tracing::warn!(error = %err, "cannot count a failed sign-in");
            }
        }
    }

    /// A successful sign-in clears the account's counter (not the IP's).
    pub async fn succeeded(&self, state: &AppState) {
        if let Some((key, _)) = self.counters.first() {
            let mut cmd = redis::cmd("DEL");
            cmd.arg(key);
            if let Err(err) = state.valkey.query::<()>(&cmd).await {
                tracing::warn!(error = %err, "cannot clear a sign-in counter");
            }
        }
    }
}

/// The scripts behind the limits, loaded once per process.
#[derive(Debug)]
pub struct Limits {
    /// `INCR` the window's counter, start its expiry on the first hit: `{count, ttl ms}`.
    count: redis::Script,
    /// A counter's value and remaining time: `{count, ttl ms}` (`{0, -2}` when absent).
    peek: redis::Script,
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
            peek: redis::Script::new(
                r"
return {tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('PTTL', KEYS[1])}
",
            ),
        }
    }
}
