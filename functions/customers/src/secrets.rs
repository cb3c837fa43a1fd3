//! Random secrets and their digests: refresh tokens (32 random bytes, base64url, stored as
//! SHA-256) and mailed one-time codes (6 digits, stored as SHA-256 of the address and code).

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kassa_http::ApiError;

fn random<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut bytes = [0u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| ApiError::internal(anyhow::anyhow!("the system random source failed")))?;
    Ok(bytes)
}

/// A new refresh token.
pub fn refresh_token() -> Result<String, ApiError> {
    Ok(URL_SAFE_NO_PAD.encode(random::<32>()?))
}

/// What is stored of a refresh token.
pub fn token_digest(token: &str) -> Vec<u8> {
    digest(&SHA256, token.as_bytes()).as_ref().to_vec()
}

/// A new six-digit code, uniform over 000000–999999.
pub fn code() -> Result<String, ApiError> {
    loop {
        let n = u32::from_be_bytes(random::<4>()?);
        // Rejection sampling: 4,294,000,000 is the largest multiple of 10^6 below 2^32.
        if n < 4_294_000_000 {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

/// What is stored of a code mailed to `email` (lower-cased address, then the code).
pub fn code_digest(email: &str, code: &str) -> Vec<u8> {
    digest(&SHA256, format!("{}\n{}", email.to_lowercase(), code.trim()).as_bytes()).as_ref().to_vec()
}

/// The sign-in limiter's name for an account: not the address itself (keys are visible to
/// anyone who can read Valkey).
pub fn account_key(tenant: uuid::Uuid, email: &str) -> String {
    let hash = digest(&SHA256, format!("{tenant}\n{}", email.to_lowercase()).as_bytes());
    hex::encode(&hash.as_ref()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_refresh_tokens_256_bits() {
        for _ in 0..100 {
            let code = code().unwrap();
            assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "{code}");
        }
        let token = refresh_token().unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(&token).unwrap().len(), 32);
        assert_ne!(refresh_token().unwrap(), token);
        assert_eq!(code_digest("Anna@Example.com", "123456"), code_digest("anna@example.com", " 123456"));
    }
}
