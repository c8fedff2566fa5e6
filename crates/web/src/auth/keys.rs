//! API keys: `Authorization: Bearer cqs_<prefix>_<secret>`, for machines and staff tools. The
//! prefix finds the key row; the secret's SHA-256 must match (or, for a while after a rotation,
//! the previous secret's). A staff-owned key acts with that staff member's current roles.

use cqs_domain::auth::Principal;
use cqs_domain::identity::api_key::{self, Presented};
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;

/// How often at most a key's last-used time is written.
const TOUCH_INTERVAL: chrono::Duration = chrono::Duration::seconds(60);

/// A freshly generated key: the full token (shown once) and what the store keeps.
pub struct GeneratedKey {
    pub token: String,
    pub prefix: String,
    pub secret_hash: String,
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Makes a key with an 8-character prefix and a 256-bit secret.
pub fn generate_key() -> GeneratedKey {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let prefix: String = (0..8).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
    let secret = hex::encode(rng.random::<[u8; 32]>());
    GeneratedKey { token: format!("cqs_{prefix}_{secret}"), secret_hash: hash_secret(&secret), prefix }
}

pub(crate) fn parse_token(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix("cqs_")?;
    let (prefix, secret) = rest.split_once('_')?;
    (prefix.len() == 8 && secret.len() == 64).then_some((prefix, secret))
}

fn invalid_key() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "Khóa API không hợp lệ hoặc đã bị thu hồi",
    )
}

/// The principal an `Authorization` header value names, or 401.
pub(crate) async fn principal_for(
    state: &AppState,
    value: &axum::http::HeaderValue,
) -> Result<(Principal, uuid::Uuid), ApiError> {
    let token = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).ok_or_else(invalid_key)?;
    let (prefix, secret) = parse_token(token.trim()).ok_or_else(invalid_key)?;
    let record = state.store.api_key_by_prefix(prefix).await?.ok_or_else(invalid_key)?;
    let key = &record.key;
    let presented = hash_secret(secret);
    let which = if key.secret_hash == presented {
        Presented::Current
    } else if record.previous_secret_hash.as_deref() == Some(presented.as_str()) {
        Presented::Previous
    } else {
        Presented::Neither
    };
    let now = state.clock.now();
    if !api_key::accepts(which, record.revoked_at.is_some(), record.previous_valid_until, now) {
        tracing::info!(target: "security", key_prefix = prefix, "rejected API key");
        return Err(invalid_key());
    }
    if record.last_used_at.is_none_or(|t| now - t > TOUCH_INTERVAL) {
        state.store.touch_api_key(key.id, now).await?;
    }
    let principal = match key.user_id {
        Some(user_id) => {
            let user = state.store.user_by_id(user_id).await?.ok_or_else(invalid_key)?;
            if user.disabled {
                return Err(invalid_key());
            }
            Principal::Staff { user_id, grants: user.grants }
        }
        None => Principal::Client { client_id: key.id, scopes: key.scopes.clone(), org_unit_id: key.org_unit_id },
    };
    Ok((principal, key.id))
}

/// Gives a live key a new secret, the old one staying valid for `grace`; returns the new token
/// (shown once), or `None` if there is no live key with this prefix.
pub async fn rotate(
    store: &dyn cqs_store::Store,
    prefix: &str,
    grace: chrono::Duration,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<String>, cqs_store::StoreError> {
    let secret = hex::encode(rand::rng().random::<[u8; 32]>());
    if store.rotate_api_key(prefix, &hash_secret(&secret), now + grace, now).await? {
        Ok(Some(format!("cqs_{prefix}_{secret}")))
    } else {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        let k = generate_key();
        let (prefix, secret) = parse_token(&k.token).unwrap();
        assert_eq!(prefix, k.prefix);
        assert_eq!(hash_secret(secret), k.secret_hash);
        assert!(parse_token("cqs_short_x").is_none());
        assert!(parse_token("Bearer x").is_none());
        assert_ne!(generate_key().token, k.token);
    }
}
