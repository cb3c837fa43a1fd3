//! Secrets encrypted at rest: shops' payment provider API keys, sealed with AES-256-GCM under
//! the key-encryption keys of `PAYMENT_KEY_ENCRYPTION_KEYS`. The first key seals; every key
//! opens, by the kid stored with the ciphertext. Each seal takes a random 96-bit nonce; the
//! associated data names the purpose and the tenant, so a ciphertext copied into another
//! shop's row (or used for another purpose) does not open.
//!
//! Here, not in `kassa-mollie` or the domain: the keys come from [`Config`], every process
//! that needs a shop's key (the checkout, the Mollie webhook) has a runtime, the domain stores
//! only [`Sealed`] bytes, and the Mollie client stays a plain HTTP client.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use kassa_domain::DomainError;
use kassa_domain::payments::{ApiKey, Sealed, settings};
use kassa_domain::tenant::{Tenant, TenantId};
use sqlx::PgPool;

use crate::config::{Config, SecretKey};

/// What a shop's Mollie API key is sealed for (part of the associated data).
pub const PAYMENT_API_KEY: &str = "payment_settings.api_key";

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("no key-encryption keys are configured (PAYMENT_KEY_ENCRYPTION_KEYS)")]
    NoKeys,
    #[error("a key-encryption key is not a valid AES-256 key")]
    BadKey,
    #[error("the system random source failed")]
    Random,
    /// Encryption failed (should not happen).
    #[error("sealing failed")]
    Seal,
    /// The kid is not configured (any more): the old key was removed too early.
    #[error("the secret was sealed under key '{0}', which is not in PAYMENT_KEY_ENCRYPTION_KEYS")]
    UnknownKid(String),
    /// Wrong tenant, wrong purpose, a changed byte or the wrong key: nothing is revealed.
    #[error("the secret does not open (another tenant's, changed, or under another key)")]
    Open,
    #[error("the stored secret is not a valid API key")]
    NotAnApiKey,
    #[error(transparent)]
    Domain(#[from] DomainError),
}

/// The key-encryption keys, the first sealing. `Debug` shows the kids only.
pub struct Keyring {
    keys: Vec<(String, LessSafeKey)>,
    random: SystemRandom,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.keys.iter().map(|(kid, _)| kid)).finish()
    }
}

fn aad(purpose: &str, tenant: TenantId) -> String {
    format!("kassa:{purpose}:{tenant}")
}

impl Keyring {
    pub fn new(keys: &[(String, SecretKey)]) -> Result<Self, SecretsError> {
        if keys.is_empty() {
            return Err(SecretsError::NoKeys);
        }
        let keys = keys
            .iter()
            .map(|(kid, key)| {
                let unbound =
                    UnboundKey::new(&AES_256_GCM, key.expose()).map_err(|_| SecretsError::BadKey)?;
                Ok((kid.clone(), LessSafeKey::new(unbound)))
            })
            .collect::<Result<_, SecretsError>>()?;
        Ok(Self { keys, random: SystemRandom::new() })
    }

    /// The keyring of `PAYMENT_KEY_ENCRYPTION_KEYS`.
    pub fn from_config(config: &Config) -> Result<Self, SecretsError> {
        Self::new(&config.payment_key_encryption_keys)
    }

    /// The kid new seals are made under.
    pub fn current_kid(&self) -> &str {
        self.keys.first().map(|(kid, _)| kid.as_str()).unwrap_or_default()
    }

    /// Seals `plaintext` for `purpose` in `tenant` under the first key, with a fresh nonce.
    pub fn seal(&self, purpose: &str, tenant: TenantId, plaintext: &[u8]) -> Result<Sealed, SecretsError> {
        let (kid, key) = self.keys.first().ok_or(SecretsError::NoKeys)?;
        let mut nonce = [0u8; NONCE_LEN];
        self.random.fill(&mut nonce).map_err(|_| SecretsError::Random)?;
        let mut ciphertext = plaintext.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(purpose, tenant).as_bytes()),
            &mut ciphertext,
        )
        .map_err(|_| SecretsError::Seal)?;
        Ok(Sealed { kid: kid.clone(), nonce: nonce.to_vec(), ciphertext })
    }

    /// Opens what [`Keyring::seal`] sealed for the same `purpose` and `tenant`, under any
    /// configured key.
    pub fn open(&self, purpose: &str, tenant: TenantId, sealed: &Sealed) -> Result<Vec<u8>, SecretsError> {
        let (_, key) = self
            .keys
            .iter()
            .find(|(kid, _)| *kid == sealed.kid)
            .ok_or_else(|| SecretsError::UnknownKid(sealed.kid.clone()))?;
        let nonce = Nonce::try_assume_unique_for_key(&sealed.nonce).map_err(|_| SecretsError::Open)?;
        let mut in_out = sealed.ciphertext.clone();
        let plaintext = key
            .open_in_place(nonce, Aad::from(aad(purpose, tenant).as_bytes()), &mut in_out)
            .map_err(|_| SecretsError::Open)?;
        Ok(plaintext.to_vec())
    }

    /// Seals a shop's API key.
    pub fn seal_api_key(&self, tenant: TenantId, key: &ApiKey) -> Result<Sealed, SecretsError> {
        self.seal(PAYMENT_API_KEY, tenant, key.expose().as_bytes())
    }

    /// Opens a shop's sealed API key.
    pub fn open_api_key(&self, tenant: TenantId, sealed: &Sealed) -> Result<ApiKey, SecretsError> {
        let bytes = self.open(PAYMENT_API_KEY, tenant, sealed)?;
        let text = String::from_utf8(bytes).map_err(|_| SecretsError::NotAnApiKey)?;
        ApiKey::parse(&text).map_err(|_| SecretsError::NotAnApiKey)
    }
}

/// The shop's Mollie API key, decrypted; `None` when the shop saved no payment settings.
/// A key sealed under an older key-encryption key is re-encrypted under the current one on
/// the way (lazy rotation): once every shop's key was read or saved, the old key can go.
pub async fn payment_api_key(
    pool: &PgPool,
    keyring: &Keyring,
    tenant: &Tenant,
) -> Result<Option<ApiKey>, SecretsError> {
    let Some((sealed, _mode)) = settings::sealed_key(pool, tenant).await? else {
        return Ok(None);
    };
    let key = keyring.open_api_key(tenant.id, &sealed)?;
    if sealed.kid != keyring.current_kid() {
        let resealed = keyring.seal_api_key(tenant.id, &key)?;
        settings::reencrypt(pool, tenant, &sealed.kid, &resealed).await?;
    }
    Ok(Some(key))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

    use super::*;

    fn ring(keys: &[(&str, u8)]) -> Keyring {
        let keys: Vec<(String, SecretKey)> =
            keys.iter().map(|(kid, byte)| ((*kid).to_owned(), SecretKey::from_bytes([*byte; 32]))).collect();
        Keyring::new(&keys).unwrap()
    }

    #[test]
    fn a_sealed_secret_opens_for_its_tenant_and_purpose_only() {
        let keyring = ring(&[("k1", 1)]);
        let (shop_a, shop_b) = (TenantId::new(), TenantId::new());
        let sealed = keyring.seal("p", shop_a, b"test_secret").unwrap();
        assert_eq!(sealed.kid, "k1");
        assert_eq!(sealed.nonce.len(), 12);
        assert!(!sealed.ciphertext.windows(6).any(|w| w == b"secret"), "no plaintext in the ciphertext");
        assert_eq!(keyring.open("p", shop_a, &sealed).unwrap(), b"test_secret");
        assert!(matches!(keyring.open("p", shop_b, &sealed), Err(SecretsError::Open)));
        assert!(matches!(keyring.open("other", shop_a, &sealed), Err(SecretsError::Open)));
        let mut flipped = sealed.clone();
        flipped.ciphertext[0] ^= 1;
        assert!(matches!(keyring.open("p", shop_a, &flipped), Err(SecretsError::Open)));
    }

    #[test]
    fn every_seal_takes_a_fresh_nonce() {
        let keyring = ring(&[("k1", 1)]);
        let tenant = TenantId::new();
        let (a, b) =
            (keyring.seal("p", tenant, b"same").unwrap(), keyring.seal("p", tenant, b"same").unwrap());
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
    }

    #[test]
    fn after_rotation_the_new_key_seals_and_the_old_still_opens() {
        let tenant = TenantId::new();
        let old = ring(&[("k1", 1)]).seal("p", tenant, b"kept").unwrap();
        let rotated = ring(&[("k2", 2), ("k1", 1)]);
        assert_eq!(rotated.open("p", tenant, &old).unwrap(), b"kept");
        assert_eq!(rotated.seal("p", tenant, b"new").unwrap().kid, "k2");
        let dropped = ring(&[("k2", 2)]);
        assert!(matches!(dropped.open("p", tenant, &old), Err(SecretsError::UnknownKid(kid)) if kid == "k1"));
        // Another key under the same kid (a mistake in the configuration) opens nothing.
        assert!(matches!(ring(&[("k1", 9)]).open("p", tenant, &old), Err(SecretsError::Open)));
    }

    #[test]
    fn debug_output_shows_kids_only() {
        assert_eq!(format!("{:?}", ring(&[("k2", 2), ("k1", 1)])), r#"["k2", "k1"]"#);
    }
}
