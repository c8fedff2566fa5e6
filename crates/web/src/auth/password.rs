//! Password hashing with argon2id (OWASP's parameters: 19 MiB, 2 passes, 1 lane), always on the
//! blocking pool, never on an async worker. A few hashes run at once per node so a burst of
//! sign-ins cannot take every core; failures beyond that are the rate limiter's job.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

use crate::error::ApiError;

fn permits() -> &'static Semaphore {
    static P: OnceLock<Semaphore> = OnceLock::new();
    P.get_or_init(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()).max(2)))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    let _permit = permits().acquire().await.map_err(|_| ApiError::internal())?;
    tokio::task::spawn_blocking(f).await.map_err(|_| ApiError::internal())
}

/// The PHC string of a new password.
pub async fn hash(password: String) -> Result<String, ApiError> {
    blocking(move || Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string())).await?.map_err(|e| {
        tracing::error!(error = %e, "password hashing failed");
        ApiError::internal()
    })
}

/// A hash of a random password, computed once: checked against when an account does not exist
/// or has no password, so that answer takes as long as a wrong password does.
async fn decoy() -> Result<String, ApiError> {
    static D: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    D.get_or_try_init(|| hash(super::session::new_token())).await.cloned()
}

/// Whether `password` matches `stored`; `None` (no account, no password) is always false but
/// costs the same time.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, ApiError> {
    let (phc, real) = match stored {
        Some(s) => (s, true),
        None => (decoy().await?, false),
    };
    let ok = blocking(move || match PasswordHash::new(&phc) {
        Ok(h) => Argon2::default().verify_password(password.as_bytes(), &h).is_ok(),
        Err(_) => {
            tracing::error!("stored password hash is not a PHC string");
            false
        }
    })
    .await?;
    Ok(ok && real)
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn hashes_verify_and_differ() {
        let h = super::hash("Sông Hồng chảy mãi".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify("Sông Hồng chảy mãi".into(), Some(h.clone())).await.unwrap());
        assert!(!super::verify("Sông Hồng chảy mải".into(), Some(h.clone())).await.unwrap());
        assert!(!super::verify("x".into(), None).await.unwrap());
        assert!(!super::verify("x".into(), Some("not a hash".into())).await.unwrap());
        assert_ne!(super::hash("Sông Hồng chảy mãi".into()).await.unwrap(), h, "salted");
    }
}
