//! Passwords: argon2id hashes (OWASP-minimum parameters), computed off the async runtime
//! behind a concurrency limit so that sign-in bursts cannot starve API requests.

use std::{fmt, sync::OnceLock};

use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};

use crate::{
    error::{Error, Result},
    state::AppState,
};

/// A plain password. Its `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_BYTES: usize = 1024;

    pub fn parse(raw: &str) -> Result<Password> {
        if raw.chars().count() < Self::MIN_CHARS {
            return Err(Error::bad_input(
                "password",
                "is too short (minimum is 8 characters)",
            ));
        }
        if raw.trim().is_empty() {
            return Err(Error::bad_input("password", "must not be only spaces"));
        }
        if raw.len() > Self::MAX_BYTES {
            return Err(Error::bad_input(
                "password",
                "is too long (maximum is 1024 bytes)",
            ));
        }
        Ok(Password(raw.to_owned()))
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([REDACTED])")
    }
}

/// Hashes a password into a PHC string.
pub async fn hash(state: &AppState, password: Password) -> Result<String> {
    let _permit = state
        .password_hashing
        .acquire()
        .await
        .map_err(|e| Error::Internal(e.into()))?;
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.0.as_bytes())
            .map(|hash: PasswordHash| hash.to_string())
            .map_err(|e| Error::Internal(anyhow::anyhow!("hashing a password failed: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(e.into()))?
}

/// Checks a password against a stored PHC string; a malformed hash never matches.
pub async fn verify(state: &AppState, password: String, stored: String) -> Result<bool> {
    let _permit = state
        .password_hashing
        .acquire()
        .await
        .map_err(|e| Error::Internal(e.into()))?;
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(password.as_bytes(), stored.as_str())
            .is_ok()
    })
    .await
    .map_err(|e| Error::Internal(e.into()))
}

/// Spends the time a real check would when a sign-in names no user (or one without a
/// password), so that response times do not reveal which logins exist.
pub async fn verify_nothing(state: &AppState, password: String) -> Result<()> {
    static DUMMY_HASH: OnceLock<String> = OnceLock::new();
    let _permit = state
        .password_hashing
        .acquire()
        .await
        .map_err(|e| Error::Internal(e.into()))?;
    tokio::task::spawn_blocking(move || {
        let stored = DUMMY_HASH.get_or_init(|| {
            Argon2::default()
                .hash_password(b"no user has this password")
                .map(|hash: PasswordHash| hash.to_string())
                .unwrap_or_default()
        });
        let _ = Argon2::default().verify_password(password.as_bytes(), stored.as_str());
    })
    .await
    .map_err(|e| Error::Internal(e.into()))
}
