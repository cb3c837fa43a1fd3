//! A shop's payment settings: one row per shop (`payment_settings`) holding its Mollie API
//! key as ciphertext, the key's mode and last four characters, the profile id and the
//! enabled methods. Saving appends `payment_settings.updated` (without the key).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use uuid::Uuid;

use super::{ApiKey, METHODS, Mode, Sealed};
use crate::db::begin_tenant_tx;
use crate::error::{DomainError, Violations, invalid};
use crate::outbox::{self, Event};
use crate::tenant::Tenant;

/// `PUT /management/payment-settings`: the whole settings. `Debug` never shows the key.
#[derive(Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsDraft {
    /// The shop's Mollie API key (`test_…` or `live_…`); checked with Mollie when saved,
    /// stored encrypted, never returned.
    #[schema(pattern = "^(test|live)_[A-Za-z0-9]{30,}$", example = "test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM")]
    pub api_key: String,
    /// The Mollie profile the shop's payments belong to (`pfl_…`), if the shop has several.
    #[serde(default)]
    #[schema(pattern = "^pfl_[A-Za-z0-9]{1,64}$", nullable = false)]
    pub profile_id: Option<String>,
    /// The payment methods the checkout offers (Mollie's method ids); empty: every method
    /// enabled in the shop's Mollie dashboard.
    #[serde(default)]
    #[schema(schema_with = methods_schema)]
    pub methods: Vec<String>,
}

fn methods_schema() -> ArrayBuilder {
    let method = ObjectBuilder::new().schema_type(Type::String).enum_values(Some(METHODS.iter().copied()));
    ArrayBuilder::new().items(method).unique_items(true).max_items(Some(METHODS.len()))
}

impl fmt::Debug for SettingsDraft {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SettingsDraft")
            .field("api_key", &"[redacted]")
            .field("profile_id", &self.profile_id)
            .field("methods", &self.methods)
            .finish()
    }
}

/// Settings whose every field has the right shape (the key is not yet checked with Mollie).
#[derive(Debug, Clone)]
pub struct ValidSettings {
    pub api_key: ApiKey,
    pub profile_id: Option<String>,
    pub methods: Vec<String>,
}

impl SettingsDraft {
    /// Every violation at once, with JSON Pointers; methods are deduplicated and sorted.
    pub fn parse(&self) -> Result<ValidSettings, DomainError> {
        let mut violations = Violations::default();
        let api_key = violations.check("/api_key", ApiKey::parse(&self.api_key));
        if let Some(profile) = &self.profile_id {
            let rest = profile.strip_prefix("pfl_").unwrap_or_default();
            if !(1..=64).contains(&rest.len()) || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
                violations.check::<()>(
                    "/profile_id",
                    Err(invalid(
                        "invalid_profile_id",
                        "a Mollie profile id is pfl_ and 1-64 letters or digits",
                    )),
                );
            }
        }
        for (i, method) in self.methods.iter().enumerate() {
            if !METHODS.contains(&method.as_str()) {
                violations.check::<()>(
                    &format!("/methods/{i}"),
                    Err(invalid("unknown_method", format!("'{method}' is not a Mollie payment method"))),
                );
            }
        }
        let mut methods = self.methods.clone();
        methods.sort_unstable();
        methods.dedup();
        match api_key {
            Some(api_key) if violations.is_empty() => {
                Ok(ValidSettings { api_key, profile_id: self.profile_id.clone(), methods })
            }
            _ => Err(DomainError::Validation(violations)),
        }
    }
}

/// What staff see of the settings (and the `payment_settings.updated` event's data): never
/// the key, only its mode and last four characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PaymentSettings {
    pub id: Uuid,
    /// Always `mollie`.
    pub provider: String,
    /// `test` or `live`, from the key's prefix.
    #[sqlx(try_from = "String")]
    pub mode: Mode,
    /// The last four characters of the API key.
    pub api_key_last4: String,
    pub profile_id: Option<String>,
    pub methods: Vec<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, provider, mode, api_key_last4, profile_id, methods, version, created_at, updated_at";

/// Stores `settings` with the key as `sealed` (encrypted by the caller under this tenant),
/// replacing earlier settings, and appends `payment_settings.updated`.
pub async fn save(
    pool: &PgPool,
    tenant: &Tenant,
    settings: &ValidSettings,
    sealed: &Sealed,
) -> Result<PaymentSettings, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let saved: PaymentSettings = sqlx::query_as(&format!(
        "insert into payment_settings (id, tenant_id, mode, api_key_kid, api_key_nonce,
                                       api_key_ciphertext, api_key_last4, profile_id, methods)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         on conflict (tenant_id) do update
            set mode = excluded.mode, api_key_kid = excluded.api_key_kid,
                api_key_nonce = excluded.api_key_nonce,
                api_key_ciphertext = excluded.api_key_ciphertext,
                api_key_last4 = excluded.api_key_last4, profile_id = excluded.profile_id,
                methods = excluded.methods, version = payment_settings.version + 1
         returning {COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(tenant.id)
    .bind(settings.api_key.mode().as_str())
    .bind(&sealed.kid)
    .bind(&sealed.nonce)
    .bind(&sealed.ciphertext)
    .bind(settings.api_key.last4())
    .bind(&settings.profile_id)
    .bind(&settings.methods)
    .fetch_one(&mut *tx)
    .await?;
    outbox::append(
        &mut tx,
        tenant.id,
        Event {
            event_type: "payment_settings.updated",
            aggregate_type: "payment_settings",
            aggregate_id: saved.id,
            data: &saved,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(saved)
}

/// The shop's settings; not found until saved once.
pub async fn get(pool: &PgPool, tenant: &Tenant) -> Result<PaymentSettings, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let settings: Option<PaymentSettings> =
        sqlx::query_as(&format!("select {COLUMNS} from payment_settings")).fetch_optional(&mut *tx).await?;
    tx.commit().await?;
    settings.ok_or(DomainError::NotFound { resource: "payment settings" })
}

/// The shop's encrypted API key and its mode, if the shop saved settings.
pub async fn sealed_key(pool: &PgPool, tenant: &Tenant) -> Result<Option<(Sealed, Mode)>, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let row: Option<(String, Vec<u8>, Vec<u8>, String)> =
        sqlx::query_as("select api_key_kid, api_key_nonce, api_key_ciphertext, mode from payment_settings")
            .fetch_optional(&mut *tx)
            .await?;
    tx.commit().await?;
    row.map(|(kid, nonce, ciphertext, mode)| {
        let mode =
            Mode::parse(&mode).ok_or_else(|| DomainError::Unexpected(format!("stored mode '{mode}'")))?;
        Ok((Sealed { kid, nonce, ciphertext }, mode))
    })
    .transpose()
}

/// Replaces the stored ciphertext by `sealed` (the same key under another key-encryption
/// key) if it is still under `from_kid`; no event, the settings did not change. Returns
/// whether it replaced it (false: someone saved or re-encrypted meanwhile).
pub async fn reencrypt(
    pool: &PgPool,
    tenant: &Tenant,
    from_kid: &str,
    sealed: &Sealed,
) -> Result<bool, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let changed = sqlx::query(
        "update payment_settings set api_key_kid = $2, api_key_nonce = $3, api_key_ciphertext = $4
          where api_key_kid = $1",
    )
    .bind(from_kid)
    .bind(&sealed.kid)
    .bind(&sealed.nonce)
    .bind(&sealed.ciphertext)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(changed > 0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

    use super::*;
    use crate::payments::{API_KEY_PATTERN, PROFILE_ID_PATTERN};

    fn draft(value: serde_json::Value) -> SettingsDraft {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_draft_reports_every_bad_field_and_sorts_methods() {
        let bad = draft(serde_json::json!({
            "api_key": "test_short", "profile_id": "profile", "methods": ["ideal", "cash"],
        }));
        let DomainError::Validation(violations) = bad.parse().unwrap_err() else { panic!() };
        let pointers: Vec<&str> = violations.as_slice().iter().map(|v| v.pointer.as_str()).collect();
        assert_eq!(pointers, ["/api_key", "/profile_id", "/methods/1"]);
        let good = draft(serde_json::json!({
            "api_key": "live_abcdefghijklmnopqrstuvwxyz0123", "profile_id": "pfl_QkEhN94Ba",
            "methods": ["ideal", "creditcard", "ideal"],
        }))
        .parse()
        .unwrap();
        assert_eq!(good.methods, ["creditcard", "ideal"]);
        assert_eq!(good.api_key.mode(), Mode::Live);
    }

    #[test]
    fn debug_output_of_a_draft_never_holds_the_key() {
        let d = draft(serde_json::json!({"api_key": "test_abcdefghijklmnopqrstuvwxyz0123"}));
        assert!(!format!("{d:?}").contains("abcdefghij"));
        assert!(!format!("{:?}", d.parse().unwrap()).contains("abcdefghij"));
    }

    #[test]
    fn the_schema_patterns_are_the_checks_patterns() {
        let schema = serde_json::to_value(<SettingsDraft as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(schema["properties"]["api_key"]["pattern"], API_KEY_PATTERN);
        assert_eq!(schema["properties"]["profile_id"]["pattern"], PROFILE_ID_PATTERN);
        assert_eq!(schema["properties"]["methods"]["items"]["enum"].as_array().unwrap().len(), METHODS.len());
    }
}
