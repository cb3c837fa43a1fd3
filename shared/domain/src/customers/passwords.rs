//! Customer passwords: argon2id with OWASP's recommended minimum (19 MiB memory, 2 passes,
//! 1 lane), a random 16-byte salt, stored as a PHC string (the parameters travel with each
//! hash, so raising them later only affects new hashes). Hashing costs tens of
//! milliseconds of CPU: callers run it off the async runtime's threads
//! (`tokio::task::spawn_blocking`).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{Violation, invalid};

/// Memory in KiB, passes and lanes.
pub const PARAMS: (u32, u32, u32) = (19_456, 2, 1);

/// Shortest and longest password accepted, in characters.
pub const MIN_CHARS: usize = 10;
pub const MAX_CHARS: usize = 128;

fn argon2() -> Argon2<'static> {
    let (memory, passes, lanes) = PARAMS;
    // The constants above are valid parameters; the fallback is argon2's own default (also argon2id).
    let params = Params::new(memory, passes, lanes, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A password a shopper may choose: 10–128 characters.
pub fn check(password: &str) -> Result<(), Violation> {
    let n = password.chars().count();
    if (MIN_CHARS..=MAX_CHARS).contains(&n) {
        Ok(())
    } else {
        Err(invalid("weak_password", format!("a password is {MIN_CHARS}–{MAX_CHARS} characters")))
    }
}

/// The PHC string of `password` (blocking: see the module comment).
pub fn hash(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
}

/// Whether `password` matches `phc` (blocking). A malformed hash matches nothing.
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| argon2().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A hash of no one's password, verified against when an email is unknown so that a
/// sign-in costs the same either way.
pub fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash("no account has this password").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_argon2id_with_the_documented_parameters_and_verifies_only_its_password() {
        let phc = hash("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("correct horse battery", &phc));
        assert!(!verify("correct horse batterx", &phc));
        assert!(!verify("correct horse battery", "not a hash"));
        assert_ne!(hash("correct horse battery").unwrap(), phc, "salted");
    }

    #[test]
    fn passwords_are_ten_to_128_characters() {
        assert!(check("123456789").is_err());
        assert!(check("1234567890").is_ok());
        assert!(check(&"x".repeat(129)).is_err());
    }
}
