//! Signed-in shoppers: access tokens Kassa signs for a shop's customers, and the
//! [`Shopper`] extractor that checks them.
//!
//! An access token is a JWT (HS256) whose header names the key (`kid`) from
//! `CUSTOMER_TOKEN_KEYS`; the first key signs, every listed key verifies, so keys rotate
//! without signing anyone out. Claims: `iss` `kassa`, `aud` `kassa-storefront`, `sub` the
//! customer, `tid` the shop, `sid` the session (refresh-token family), `grp` the customer's
//! groups when the token was minted, `iat`, `exp`. A token is valid only for the shop it
//! names (a customer of shop A is nobody in shop B) and only while its session is live:
//! signing out, a reused refresh token, a password reset or a block revokes the session
//! in Postgres and marks it in Valkey (`kassa:revoked-session:<sid>`, kept for the access
//! token lifetime), which every check reads; when Valkey does not answer, Postgres decides.
//! Staff tokens (Zitadel, RS256, other keys) are never customer tokens.

use std::time::Duration;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use kassa_domain::customers::Session;
use kassa_domain::tenant::{Tenant, TenantId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::{AuthError, bearer_token};
use crate::config::Config;
use crate::problem::ApiError;
use crate::state::AppState;
use crate::tenancy::CurrentTenant;

const ISSUER: &str = "kassa";
const AUDIENCE: &str = "kassa-storefront";

/// A signed-in customer of the request's shop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shopper {
    pub customer_id: Uuid,
    pub session_id: Uuid,
    /// The customer's groups when the token was minted, sorted: they decide prices and
    /// visibility until the next refresh.
    pub group_ids: Vec<Uuid>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: Uuid,
    tid: Uuid,
    sid: Uuid,
    grp: Vec<Uuid>,
    iat: u64,
    exp: u64,
}

struct Key {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

/// The keys that sign and verify customer access tokens.
pub struct CustomerTokens {
    keys: Vec<Key>,
    pub access_ttl: Duration,
}

impl std::fmt::Debug for CustomerTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|k| k.kid.as_str()).collect();
        f.debug_struct("CustomerTokens").field("kids", &kids).field("access_ttl", &self.access_ttl).finish()
    }
}

/// A minted access token and how long it lives.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: String,
    pub expires_in: u64,
}

impl CustomerTokens {
    pub fn new(config: &Config) -> Self {
        let keys = config
            .customer_token_keys
            .iter()
            .map(|(kid, secret)| Key {
                kid: kid.clone(),
                encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
                decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            })
            .collect();
        Self { keys, access_ttl: config.customer_access_ttl }
    }

    /// An access token for `session` in `tenant`, signed with the first key.
    pub fn mint(&self, tenant: TenantId, session: &Session) -> Result<AccessToken, ApiError> {
        let key = self
            .keys
            .first()
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no CUSTOMER_TOKEN_KEYS configured")))?;
        let now = chrono::Utc::now().timestamp().max(0) as u64;
        let expires_in = self.access_ttl.as_secs();
        let claims = Claims {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: session.customer_id,
            tid: tenant.as_uuid(),
            sid: session.id,
            grp: session.group_ids.clone(),
            iat: now,
            exp: now + expires_in,
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(key.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &key.encoding)
            .map_err(|err| ApiError::internal(anyhow::anyhow!("cannot sign a customer token: {err}")))?;
        Ok(AccessToken { token, expires_in })
    }

    /// The shopper a token names, if its signature, audience, expiry and shop hold.
    /// (Whether its session is still live is checked by the extractor.)
    pub fn verify(&self, token: &str, tenant: &Tenant) -> Result<Shopper, AuthError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| AuthError::InvalidToken("the token is malformed"))?;
        if header.alg != Algorithm::HS256 {
            return Err(AuthError::InvalidToken("not a customer token of this shop"));
        }
        let kid = header.kid.as_deref().ok_or(AuthError::InvalidToken("the token names no signing key"))?;
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or(AuthError::InvalidToken("not a customer token of this shop"))?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        let claims = jsonwebtoken::decode::<Claims>(token, &key.decoding, &validation)
            .map_err(|_| AuthError::InvalidToken("the token is expired, forged or not a customer token"))?
            .claims;
        if claims.tid != tenant.id.as_uuid() {
            return Err(AuthError::InvalidToken("not a customer token of this shop"));
        }
        let mut group_ids = claims.grp;
        group_ids.sort_unstable();
        group_ids.dedup();
        Ok(Shopper { customer_id: claims.sub, session_id: claims.sid, group_ids })
    }
}

fn revoked_key(session_id: Uuid) -> String {
    format!("kassa:revoked-session:{session_id}")
}

/// Ends the access tokens of `sessions` now (their refresh tokens are revoked in Postgres
/// by the caller). Valkey keeps the mark for one access-token lifetime; should Valkey not
/// answer, the check falls back to Postgres, which already says revoked.
pub async fn revoke_sessions(state: &AppState, sessions: &[Uuid]) {
    let ttl = state.customer_tokens.access_ttl.as_secs().max(1) + 5;
    for session in sessions {
        let mut cmd = redis::cmd("SET");
        cmd.arg(revoked_key(*session)).arg(1).arg("EX").arg(ttl);
        if let Err(err) = state.valkey.query::<()>(&cmd).await {
            tracing::warn!(error = %err, "cannot mark a revoked session in Valkey; Postgres decides");
        }
    }
}

async fn live(state: &AppState, tenant: &Tenant, shopper: &Shopper) -> Result<bool, ApiError> {
    let mut cmd = redis::cmd("EXISTS");
    cmd.arg(revoked_key(shopper.session_id));
    match state.valkey.query::<bool>(&cmd).await {
        Ok(revoked) => Ok(!revoked),
        Err(err) => {
            tracing::warn!(error = %err, "revocation marks unavailable; asking Postgres");
            Ok(kassa_domain::customers::accounts::session_live(&state.db, tenant, shopper.session_id).await?)
        }
    }
}

async fn shopper(parts: &Parts, state: &AppState, token: &str) -> Result<Shopper, ApiError> {
    let CurrentTenant(tenant) = parts.extensions.get::<CurrentTenant>().cloned().ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!("Shopper used on a route without tenant resolution"))
    })?;
    let shopper = state.customer_tokens.verify(token, &tenant)?;
    if !live(state, &tenant, &shopper).await? {
        return Err(AuthError::InvalidToken("the session was signed out or revoked").into());
    }
    Ok(shopper)
}

/// `Shopper`: a signed-in customer is required (401 otherwise).
impl FromRequestParts<AppState> for Shopper {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(&parts.headers)?;
        shopper(parts, state, token).await
    }
}

/// `Option<Shopper>`: anonymous when there is no `Authorization` header; a header with a
/// bad token is still a 401 (never silently anonymous).
impl OptionalFromRequestParts<AppState> for Shopper {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>, ApiError> {
        if !parts.headers.contains_key(http::header::AUTHORIZATION) {
            return Ok(None);
        }
        let token = bearer_token(&parts.headers)?;
        Ok(Some(shopper(parts, state, token).await?))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

    use super::*;

    fn tokens(keys: &str) -> CustomerTokens {
        let config =
            Config::from_lookup(|key| (key == "CUSTOMER_TOKEN_KEYS").then(|| keys.to_owned())).unwrap();
        CustomerTokens::new(&config)
    }

    fn shop() -> Tenant {
        Tenant {
            id: TenantId::new(),
            handle: "demo".into(),
            name: "Demo".into(),
            default_locale: "en".into(),
            locales: vec!["en".into()],
            default_currency: "EUR".into(),
            zitadel_org_id: None,
            settings: serde_json::json!({}),
        }
    }

    const OLD: &str = "old=0123456789abcdef0123456789abcdef";
    const NEW: &str = "new=fedcba9876543210fedcba9876543210";

    #[test]
    fn keys_rotate_without_signing_anyone_out_and_a_dropped_key_verifies_nothing() {
        let demo = shop();
        let session = Session {
            id: Uuid::now_v7(),
            customer_id: Uuid::now_v7(),
            group_ids: vec![Uuid::from_u128(2), Uuid::from_u128(1)],
            expires_at: chrono::Utc::now(),
        };
        let before = tokens(OLD).mint(demo.id, &session).unwrap().token;
        // Step 1: the new key is added second; step 2: it signs; the old one still verifies.
        for keys in [format!("{OLD},{NEW}"), format!("{NEW},{OLD}")] {
            let shopper = tokens(&keys).verify(&before, &demo).unwrap();
            assert_eq!(shopper.customer_id, session.customer_id);
            assert_eq!(shopper.group_ids, [Uuid::from_u128(1), Uuid::from_u128(2)], "sorted");
        }
        let after = tokens(&format!("{NEW},{OLD}")).mint(demo.id, &session).unwrap().token;
        let header = jsonwebtoken::decode_header(&after).unwrap();
        assert_eq!(header.kid.as_deref(), Some("new"));
        // Step 3: the old key is dropped; what it signed no longer verifies.
        assert!(tokens(NEW).verify(&after, &demo).is_ok());
        assert!(tokens(NEW).verify(&before, &demo).is_err());
        // A token is its shop's only.
        assert!(tokens(NEW).verify(&after, &shop()).is_err());
    }
}
