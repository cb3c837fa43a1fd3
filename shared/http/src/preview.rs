//! Preview tokens: a short-lived, signed token that lets whoever holds it see one page's
//! draft on the storefront (`GET /storefront/pages/{handle}?preview=<token>`), issued to
//! staff by `POST /management/pages/{id}/preview-token`. HS256, signed with a key derived
//! from each `CUSTOMER_TOKEN_KEYS` secret for this purpose only (SHA-256 of a label and the
//! secret), so a customer token is never a preview token nor the other way round; rotation
//! follows the customer keys. A token names its shop and page and expires after
//! [`PREVIEW_TTL`].

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use kassa_domain::tenant::Tenant;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::AuthError;
use crate::config::Config;
use crate::problem::ApiError;

/// How long a preview token opens its page's draft.
pub const PREVIEW_TTL: Duration = Duration::minutes(15);
const AUDIENCE: &str = "kassa-page-preview";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    aud: String,
    /// The shop.
    tid: Uuid,
    /// The page.
    pid: Uuid,
    iat: i64,
    exp: i64,
}

struct Key {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

/// The keys that sign and verify preview tokens.
pub struct PreviewTokens {
    keys: Vec<Key>,
}

impl PreviewTokens {
    pub fn new(config: &Config) -> Self {
        let keys = config
            .customer_token_keys
            .iter()
            .map(|(kid, secret)| {
                let mut material = b"kassa page preview v1:".to_vec();
                material.extend_from_slice(secret.expose().as_bytes());
                let derived = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &material);
                Key {
                    kid: kid.clone(),
                    encoding: EncodingKey::from_secret(derived.as_ref()),
                    decoding: DecodingKey::from_secret(derived.as_ref()),
                }
            })
            .collect();
        Self { keys }
    }

    /// A token for page `page` of `tenant` and when it expires.
    pub fn mint(&self, tenant: &Tenant, page: Uuid) -> Result<(String, DateTime<Utc>), ApiError> {
        self.mint_issued_at(tenant, page, Utc::now())
    }

    /// [`PreviewTokens::mint`] as if issued at `now` (tests use a past moment).
    pub fn mint_issued_at(
        &self,
        tenant: &Tenant,
        page: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(String, DateTime<Utc>), ApiError> {
        let key = self
            .keys
            .first()
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no CUSTOMER_TOKEN_KEYS configured")))?;
        let expires = now + PREVIEW_TTL;
        let claims = Claims {
            aud: AUDIENCE.to_owned(),
            tid: tenant.id.as_uuid(),
            pid: page,
            iat: now.timestamp(),
            exp: expires.timestamp(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(key.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &key.encoding)
            .map_err(|err| ApiError::internal(anyhow::anyhow!("cannot sign a preview token: {err}")))?;
        Ok((token, expires))
    }

    /// The page a token of `tenant` opens, if its signature and expiry hold (`401
    /// invalid_token` otherwise: another shop's, expired, forged or a customer token).
    pub fn verify(&self, token: &str, tenant: &Tenant) -> Result<Uuid, AuthError> {
        let invalid =
            AuthError::InvalidToken("not a valid preview token of this shop (they expire after 15 minutes)");
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| AuthError::InvalidToken("the token is malformed"))?;
        let key = header.kid.as_deref().and_then(|kid| self.keys.iter().find(|k| k.kid == kid));
        let Some(key) = key.filter(|_| header.alg == Algorithm::HS256) else { return Err(invalid) };
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "aud"]);
        validation.leeway = 0;
        let claims =
            jsonwebtoken::decode::<Claims>(token, &key.decoding, &validation).map_err(|_| invalid)?.claims;
        if claims.tid != tenant.id.as_uuid() {
            return Err(AuthError::InvalidToken(
                "not a valid preview token of this shop (they expire after 15 minutes)",
            ));
        }
        Ok(claims.pid)
    }
}
