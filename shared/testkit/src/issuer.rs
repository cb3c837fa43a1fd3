//! A token issuer for auth tests: serves a JWKS over real HTTP at Zitadel's path
//! (`/oauth/v2/keys`), counts how often it is fetched, and signs tokens with Zitadel's
//! claim shapes using the test-only keys in `fixtures/`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::get;
use http::StatusCode;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use kassa_http::Config;
use serde_json::{Value, json};
use std::sync::RwLock;

use crate::test_config;

pub const PROJECT_ID: &str = "test-project-1";
pub const PLATFORM_ORG: &str = "platform-org";

/// RS256 key, published from the start.
pub const KEY_A: &str = "key-a";
/// RS256 key, published only by [`Issuer::publish`] (key rotation).
pub const KEY_B: &str = "key-b";
/// ES256 key, published from the start.
pub const KEY_EC: &str = "key-ec";

pub const RSA_A_PUBLIC_PEM: &[u8] = include_bytes!("../fixtures/rsa-a.pub.pem");

struct SigningKey {
    kid: &'static str,
    algorithm: Algorithm,
    key: EncodingKey,
}

fn signing_keys() -> Vec<SigningKey> {
    let rsa = |pem: &[u8]| EncodingKey::from_rsa_pem(pem).expect("fixture RSA key");
    vec![
        SigningKey {
            kid: KEY_A,
            algorithm: Algorithm::RS256,
            key: rsa(include_bytes!("../fixtures/rsa-a.pem")),
        },
        SigningKey {
            kid: KEY_B,
            algorithm: Algorithm::RS256,
            key: rsa(include_bytes!("../fixtures/rsa-b.pem")),
        },
        SigningKey {
            kid: KEY_EC,
            algorithm: Algorithm::ES256,
            key: EncodingKey::from_ec_pem(include_bytes!("../fixtures/ec-p256.pem")).expect("fixture EC key"),
        },
    ]
}

fn public_jwk(key: &SigningKey) -> Jwk {
    let mut jwk = Jwk::from_encoding_key(&key.key, key.algorithm).expect("public JWK");
    jwk.common.key_id = Some(key.kid.to_owned());
    jwk
}

#[derive(Default)]
struct Published {
    keys: RwLock<Vec<Jwk>>,
    fetches: AtomicUsize,
    failing: AtomicBool,
}

pub struct Issuer {
    pub url: String,
    keys: Vec<SigningKey>,
    published: Arc<Published>,
}

pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

impl Issuer {
    /// Starts the JWKS server on a free loopback port, publishing `key-a` and `key-ec`.
    pub async fn start() -> Self {
        let keys = signing_keys();
        let published = Arc::new(Published::default());
        *published.keys.write().unwrap() = keys.iter().filter(|k| k.kid != KEY_B).map(public_jwk).collect();
        let shared = published.clone();
        let app = Router::new().route(
            "/oauth/v2/keys",
            get(move || {
                let published = shared.clone();
                async move {
                    published.fetches.fetch_add(1, Ordering::SeqCst);
                    if published.failing.load(Ordering::SeqCst) {
                        return Err(StatusCode::SERVICE_UNAVAILABLE);
                    }
                    let keys = published.keys.read().unwrap().clone();
                    Ok(axum::Json(JwkSet { keys }))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, keys, published }
    }

    /// Configuration that trusts this issuer.
    pub fn config(&self) -> Config {
        self.config_with(&[])
    }

    /// [`Issuer::config`] with `overrides` on top.
    pub fn config_with(&self, overrides: &[(&str, &str)]) -> Config {
        let mut all = vec![
            ("ZITADEL_ISSUER", self.url.as_str()),
            ("ZITADEL_PROJECT_ID", PROJECT_ID),
            ("ZITADEL_PLATFORM_ORG_ID", PLATFORM_ORG),
        ];
        all.extend_from_slice(overrides);
        test_config(&all)
    }

    /// Adds a key to the JWKS (the issuer rotated its keys).
    pub fn publish(&self, kid: &str) {
        let key = self.keys.iter().find(|k| k.kid == kid).expect("known kid");
        self.published.keys.write().unwrap().push(public_jwk(key));
    }

    /// Publishes a JWKS without any key (an outage that answers 200 with `{"keys": []}`).
    pub fn withdraw_all(&self) {
        self.published.keys.write().unwrap().clear();
    }

    /// Makes the JWKS endpoint answer 503 (or recover).
    pub fn set_failing(&self, failing: bool) {
        self.published.failing.store(failing, Ordering::SeqCst);
    }

    /// How often the JWKS was requested.
    pub fn fetches(&self) -> usize {
        self.published.fetches.load(Ordering::SeqCst)
    }

    /// Valid claims for `sub`, holding each `(role, org)` grant, shaped like Zitadel's.
    pub fn claims(&self, sub: &str, grants: &[(&str, &str)]) -> Value {
        let mut roles = serde_json::Map::new();
        for (role, org) in grants {
            let orgs = roles.entry(role.to_string()).or_insert_with(|| json!({}));
            orgs[*org] = json!(format!("{org}.zitadel.test"));
        }
        let now = now();
        let mut claims = json!({
            "iss": self.url,
            "sub": sub,
            "aud": [PROJECT_ID, "admin-ui-client"],
            "azp": "admin-ui-client",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": format!("jti-{sub}-{now}"),
            "urn:zitadel:iam:user:resourceowner:id": "home-org",
        });
        claims[format!("urn:zitadel:iam:org:project:{PROJECT_ID}:roles")] = Value::Object(roles);
        claims
    }

    /// Signs `claims` with the key `kid` using that key's algorithm.
    pub fn sign(&self, kid: &str, claims: &Value) -> String {
        let key = self.keys.iter().find(|k| k.kid == kid).expect("known kid");
        let mut header = Header::new(key.algorithm);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &key.key).expect("token signs")
    }

    /// A valid token for `sub` holding the grants, signed with `key-a`.
    pub fn token(&self, sub: &str, grants: &[(&str, &str)]) -> String {
        self.sign(KEY_A, &self.claims(sub, grants))
    }
}
