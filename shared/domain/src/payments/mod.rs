//! Payments: a shop's payment provider settings (Mollie). No HTTP and no cryptography here:
//! the shop's API key is checked for its shape ([`ApiKey`]), encrypted by the caller
//! (`kassa_runtime::secrets`) and stored as [`Sealed`] ciphertext only.

pub mod refunds;
pub mod settings;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Violation, invalid};

pub use settings::{PaymentSettings, SettingsDraft, ValidSettings};

/// Mollie's API key shape: `test_` or `live_` and 30 or more letters or digits.
pub const API_KEY_PATTERN: &str = "^(test|live)_[A-Za-z0-9]{30,}$";
/// A Mollie profile id: `pfl_` and 1–64 letters or digits.
pub const PROFILE_ID_PATTERN: &str = "^pfl_[A-Za-z0-9]{1,64}$";

/// The `method` values Mollie's Create payment takes; a shop enables a subset of them.
pub const METHODS: &[&str] = &[
    "alma",
    "applepay",
    "bacs",
    "bancomatpay",
    "bancontact",
    "banktransfer",
    "belfius",
    "billie",
    "blik",
    "creditcard",
    "directdebit",
    "eps",
    "giftcard",
    "googlepay",
    "ideal",
    "in3",
    "kbc",
    "klarna",
    "klarnapaylater",
    "klarnapaynow",
    "klarnasliceit",
    "mbway",
    "multibanco",
    "mybank",
    "paybybank",
    "payconiq",
    "paypal",
    "paysafecard",
    "przelewy24",
    "riverty",
    "satispay",
    "swish",
    "trustly",
    "twint",
    "voucher",
];

/// Test or live, as the API key's prefix says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Test,
    Live,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Test => "test",
            Mode::Live => "live",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "test" => Some(Mode::Test),
            "live" => Some(Mode::Live),
            _ => None,
        }
    }
}

impl TryFrom<String> for Mode {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        Mode::parse(&raw).ok_or_else(|| format!("unknown mode '{raw}'"))
    }
}

/// A shop's Mollie API key, in memory only. `Debug` prints the mode, never the key; it is
/// never serialized.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// `test_` or `live_` and 30 or more ASCII letters or digits ([`API_KEY_PATTERN`]). The
    /// message never repeats the value.
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        let rest = raw.strip_prefix("test_").or_else(|| raw.strip_prefix("live_"));
        match rest {
            Some(rest) if rest.len() >= 30 && rest.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                Ok(Self(raw.to_owned()))
            }
            _ => Err(invalid(
                "invalid_api_key",
                "a Mollie API key is test_ or live_ followed by at least 30 letters or digits",
            )),
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn mode(&self) -> Mode {
        if self.0.starts_with("live_") { Mode::Live } else { Mode::Test }
    }

    /// The last four characters, to tell keys apart on screen.
    pub fn last4(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({}_[redacted])", self.mode().as_str())
    }
}

/// A secret encrypted at rest: the id of the key-encryption key, the 96-bit nonce and the
/// AES-256-GCM ciphertext (with its tag).
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    pub kid: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealed")
            .field("kid", &self.kid)
            .field("ciphertext_len", &self.ciphertext.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

    use super::*;

    #[test]
    fn api_keys_are_test_or_live_and_thirty_letters_or_digits() {
        let key = ApiKey::parse("live_abcdefghijklmnopqrstuvwxyz0123").unwrap();
        assert_eq!((key.mode(), key.last4()), (Mode::Live, "0123"));
        assert_eq!(ApiKey::parse("test_abcdefghijklmnopqrstuvwxyz0123").unwrap().mode(), Mode::Test);
        for bad in [
            "",
            "test_",
            "test_abcdefghijklmnopqrstuvwxyz012",
            "prod_abcdefghijklmnopqrstuvwxyz0123",
            "TEST_abcdefghijklmnopqrstuvwxyz0123",
            "test_abcdefghijklmnopqrstuvwxyz012-",
            "access_abcdefghijklmnopqrstuvwxyz0123",
            " test_abcdefghijklmnopqrstuvwxyz0123",
        ] {
            let err = ApiKey::parse(bad).unwrap_err();
            assert_eq!(err.code, "invalid_api_key");
            assert!(bad.len() < 8 || !err.message.contains(bad), "the message repeats the key");
        }
    }

    #[test]
    fn debug_output_never_holds_the_key() {
        let key = ApiKey::parse("test_abcdefghijklmnopqrstuvwxyz0123").unwrap();
        let debug = format!("{key:?}");
        assert!(!debug.contains("abcdefghij"), "{debug}");
        assert_eq!(debug, "ApiKey(test_[redacted])");
    }

    #[test]
    fn the_methods_are_sorted_and_distinct() {
        assert!(METHODS.windows(2).all(|w| w[0] < w[1]));
    }
}
