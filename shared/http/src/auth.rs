//! Staff authentication: Zitadel JWT access tokens, validated in-process against the
//! issuer's JWKS (`{issuer}/oauth/v2/keys`) — no call to Zitadel per request.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue, header};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use kassa_domain::access::Role;
use serde::Deserialize;
use serde_json::Value;

use crate::config::Config;
use crate::problem::ApiError;
use kassa_domain::ErrorCode;

/// The longest a JWKS request may take.
const JWKS_TIMEOUT: Duration = Duration::from_secs(5);
/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 60;
/// An unknown `kid` refetches the JWKS at most this often, so a flood of forged tokens
/// cannot turn into a flood of requests to Zitadel.
pub const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(30);

/// Why a request is not authenticated. Each is a 401 with an RFC 6750 challenge.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("send a bearer token: Authorization: Bearer <access token>")]
    MissingToken,
    #[error("the Authorization header must be 'Bearer <access token>'")]
    MalformedHeader,
    #[error("{0}")]
    InvalidToken(&'static str),
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        let (code, challenge) = match &err {
            // RFC 6750 §3.1: a request without credentials gets a challenge without an error code.
            AuthError::MissingToken => (ErrorCode::MissingToken, r#"Bearer realm="kassa""#.to_owned()),
            AuthError::MalformedHeader | AuthError::InvalidToken(_) => (
                ErrorCode::InvalidToken,
                format!(r#"Bearer realm="kassa", error="invalid_token", error_description="{err}""#),
            ),
        };
        let mut api = ApiError::new(code, err.to_string());
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            api = api.with_header(header::WWW_AUTHENTICATE, value);
        }
        api
    }
}

/// The token of `Authorization: Bearer <token>`.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthError> {
    let value = headers.get(header::AUTHORIZATION).ok_or(AuthError::MissingToken)?;
    let value = value.to_str().map_err(|_| AuthError::MalformedHeader)?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(token.trim())
        }
        _ => Err(AuthError::MalformedHeader),
    }
}

/// A key from the JWKS with the one algorithm it may verify.
#[derive(Clone)]
struct VerifyingKey {
    key: DecodingKey,
    algorithm: Algorithm,
}

/// The issuer's signing keys, cached per process by `kid`.
pub struct Jwks {
    url: String,
    http: reqwest::Client,
    refetch_interval: Duration,
    keys: RwLock<HashMap<String, VerifyingKey>>,
    /// When the JWKS was last requested; held while a request is under way, so concurrent
    /// misses wait for that one request instead of making their own.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

impl Jwks {
    pub fn new(url: String, refetch_interval: Duration) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder().timeout(JWKS_TIMEOUT).build()?;
        Ok(Self {
            url,
            http,
            refetch_interval,
            keys: RwLock::new(HashMap::new()),
            last_fetch: tokio::sync::Mutex::new(None),
        })
    }

    fn cached(&self, kid: &str) -> Option<VerifyingKey> {
        self.keys.read().ok().and_then(|keys| keys.get(kid).cloned())
    }

    /// The key with this `kid`, fetching the JWKS when the key is unknown — at most once per
    /// refetch interval. A failed fetch keeps the keys already cached.
    async fn key(&self, kid: &str) -> Result<VerifyingKey, AuthError> {
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        let mut last_fetch = self.last_fetch.lock().await;
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        if last_fetch.is_some_and(|at| at.elapsed() < self.refetch_interval) {
            return Err(AuthError::InvalidToken("the token is signed by an unknown key"));
        }
        *last_fetch = Some(Instant::now());
        match self.fetch().await {
            // A JWKS without one usable key (empty, or only HMAC/unknown keys) is no
            // rotation: keep verifying with the keys we have.
            Ok(keys) if keys.is_empty() => {
                tracing::warn!(url = %self.url, "the JWKS has no usable key; keeping the cached keys");
            }
            Ok(keys) => {
                tracing::info!(keys = keys.len(), url = %self.url, "fetched the JWKS");
                if let Ok(mut cached) = self.keys.write() {
                    *cached = keys;
                }
            }
            Err(err) => {
                tracing::warn!(error = format!("{err:#}"), url = %self.url, "JWKS fetch failed; keeping the cached keys");
            }
        }
        drop(last_fetch);
        self.cached(kid).ok_or(AuthError::InvalidToken("the token is signed by an unknown key"))
    }

    async fn fetch(&self) -> Result<HashMap<String, VerifyingKey>, anyhow::Error> {
        let set: JwkSet = self.http.get(&self.url).send().await?.error_for_status()?.json().await?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let (Some(kid), Some(algorithm)) = (&jwk.common.key_id, signing_algorithm(jwk)) else {
                continue;
            };
            match DecodingKey::from_jwk(jwk) {
                Ok(key) => {
                    keys.insert(kid.clone(), VerifyingKey { key, algorithm });
                }
                Err(err) => tracing::warn!(%kid, error = %err, "skipping an unusable JWKS key"),
            }
        }
        Ok(keys)
    }
}

/// The asymmetric algorithm a JWK verifies: its `alg`, or the usual one for its key type.
/// Symmetric (HMAC) keys and anything else are never used.
fn signing_algorithm(jwk: &jsonwebtoken::jwk::Jwk) -> Option<Algorithm> {
    let from_params = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Some(Algorithm::ES256),
            EllipticCurve::P384 => Some(Algorithm::ES384),
            _ => None,
        },
        AlgorithmParameters::OctetKeyPair(_) => Some(Algorithm::EdDSA),
        _ => None,
    }?;
    let declared = match jwk.common.key_algorithm {
        None => return Some(from_params),
        Some(KeyAlgorithm::RS256) => Algorithm::RS256,
        Some(KeyAlgorithm::RS384) => Algorithm::RS384,
        Some(KeyAlgorithm::RS512) => Algorithm::RS512,
        Some(KeyAlgorithm::PS256) => Algorithm::PS256,
        Some(KeyAlgorithm::PS384) => Algorithm::PS384,
        Some(KeyAlgorithm::PS512) => Algorithm::PS512,
        Some(KeyAlgorithm::ES256) => Algorithm::ES256,
        Some(KeyAlgorithm::ES384) => Algorithm::ES384,
        Some(KeyAlgorithm::EdDSA) => Algorithm::EdDSA,
        Some(_) => return None,
    };
    // The declared algorithm must belong to the key's family (no RSA key used as EC, …).
    let same_family = matches!(
        (from_params, declared),
        (Algorithm::RS256, Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512)
            | (Algorithm::RS256, Algorithm::PS256 | Algorithm::PS384 | Algorithm::PS512)
            | (Algorithm::ES256, Algorithm::ES256)
            | (Algorithm::ES384, Algorithm::ES384)
            | (Algorithm::EdDSA, Algorithm::EdDSA)
    );
    same_family.then_some(declared)
}

/// The caller behind a valid access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentUser {
    /// Zitadel's user id (`sub`).
    pub user_id: String,
    /// The organisation the user belongs to (`urn:zitadel:iam:user:resourceowner:id`).
    pub home_org_id: Option<String>,
    /// Kassa roles by the organisation they were granted in.
    pub grants: BTreeMap<String, BTreeSet<Role>>,
}

impl CurrentUser {
    /// The roles the user holds in one organisation.
    pub fn roles_in(&self, org_id: &str) -> BTreeSet<Role> {
        self.grants.get(org_id).cloned().unwrap_or_default()
    }
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(rename = "urn:zitadel:iam:user:resourceowner:id")]
    home_org_id: Option<String>,
    #[serde(flatten)]
    other: serde_json::Map<String, Value>,
}

/// Validates access tokens for one Zitadel project.
pub struct Authenticator {
    issuer: String,
    project_id: String,
    jwks: Jwks,
}

impl Authenticator {
    pub fn new(config: &Config) -> Result<Self, reqwest::Error> {
        Self::with_refetch_interval(config, JWKS_REFETCH_INTERVAL)
    }

    pub fn with_refetch_interval(
        config: &Config,
        refetch_interval: Duration,
    ) -> Result<Self, reqwest::Error> {
        let jwks_url = format!("{}/oauth/v2/keys", config.zitadel_issuer);
        Ok(Self {
            issuer: config.zitadel_issuer.clone(),
            project_id: config.zitadel_project_id.clone(),
            jwks: Jwks::new(jwks_url, refetch_interval)?,
        })
    }

    /// The caller of a request with `Authorization: Bearer <token>`.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<CurrentUser, AuthError> {
        self.validate(bearer_token(headers)?).await
    }

    pub async fn validate(&self, token: &str) -> Result<CurrentUser, AuthError> {
        // `alg: none` and unknown algorithms fail right here: they are no Algorithm.
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| AuthError::InvalidToken("the token is malformed"))?;
        let kid = header.kid.as_deref().ok_or(AuthError::InvalidToken("the token names no signing key"))?;
        let key = self.jwks.key(kid).await?;
        if header.alg != key.algorithm {
            return Err(AuthError::InvalidToken("the token's algorithm is not its key's"));
        }
        let mut validation = Validation::new(key.algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.project_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        let claims = jsonwebtoken::decode::<Claims>(token, &key.key, &validation)
            .map_err(|err| {
                AuthError::InvalidToken(match err.kind() {
                    ErrorKind::ExpiredSignature => "the token has expired",
                    ErrorKind::ImmatureSignature => "the token is not valid yet",
                    ErrorKind::InvalidIssuer => "the token is from another issuer",
                    ErrorKind::InvalidAudience => "the token is not meant for Kassa",
                    ErrorKind::InvalidSignature => "the token's signature does not verify",
                    ErrorKind::MissingRequiredClaim(_) => "the token lacks a required claim",
                    _ => "the token is invalid",
                })
            })?
            .claims;
        Ok(self.current_user(claims))
    }

    /// Reads Zitadel's role claim of Kassa's own project,
    /// `urn:zitadel:iam:org:project:{ZITADEL_PROJECT_ID}:roles` = `{role: {orgId: orgDomain}}`.
    /// The generic `urn:zitadel:iam:org:project:roles` claim is ignored: Zitadel fills it with
    /// the roles of whichever project the token was requested for, so a token of another
    /// project in the same instance would otherwise carry roles into Kassa.
    fn current_user(&self, claims: Claims) -> CurrentUser {
        let mut grants: BTreeMap<String, BTreeSet<Role>> = BTreeMap::new();
        let project_claim = format!("urn:zitadel:iam:org:project:{}:roles", self.project_id);
        if let Some(Value::Object(roles)) = claims.other.get(&project_claim) {
            for (key, orgs) in roles {
                let (Some(role), Value::Object(orgs)) = (Role::from_key(key), orgs) else { continue };
                for org_id in orgs.keys() {
                    grants.entry(org_id.clone()).or_default().insert(role);
                }
            }
        }
        CurrentUser { user_id: claims.sub, home_org_id: claims.home_org_id, grants }
    }
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("issuer", &self.issuer)
            .field("project_id", &self.project_id)
            .finish()
    }
}
