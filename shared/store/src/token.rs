//! Secret tokens (cart tokens): 32 random bytes, base64url without padding, stored only as
//! their SHA-256 and compared in constant time.

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A new token and its SHA-256 (hex), the only form that is stored.
pub fn new_token() -> Result<(String, String), aws_lc_rs::error::Unspecified> {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes)?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = sha256_hex(token.as_bytes());
    Ok((token, hash))
}

/// SHA-256 of `bytes`, in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(digest(&SHA256, bytes))
}

/// Whether `presented` is the token whose hash is `stored`, in time independent of where
/// they differ.
pub fn matches(presented: &str, stored: &str) -> bool {
    let presented = sha256_hex(presented.as_bytes());
    aws_lc_rs::constant_time::verify_slices_are_equal(presented.as_bytes(), stored.as_bytes()).is_ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_token_is_32_random_bytes_in_base64url_and_only_its_own_hash_matches() {
        let (token, hash) = new_token().unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(&token).unwrap().len(), 32);
        assert!(matches(&token, &hash));
        let (other, other_hash) = new_token().unwrap();
        assert_ne!(token, other);
        assert!(!matches(&other, &hash));
        assert!(!matches(&token, &other_hash));
        assert!(!matches("", &hash));
    }
}
