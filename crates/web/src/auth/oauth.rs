//! OAuth 2.0 client credentials (RFC 6749 §4.4) for machine clients that prefer short-lived
//! tokens to sending their key on every call: a system client's API key is the client (its
//! prefix the `client_id`, its secret the `client_secret`), and `POST /api/v1/oauth/token` gives
//! a 15-minute Bearer JWT (HS256, jsonwebtoken) carrying the key's scopes, or fewer if asked.
//! The signing secret is made once and shared by every node through the store's settings. Each
//! use of a token checks its key again, so revoking the key ends its tokens at once.

use chrono::{DateTime, Utc};
use cqs_domain::auth::{Principal, Scope};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::Rng;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AppState;
use crate::error::ApiError;

/// The settings key of the token signing secret.
pub const TOKEN_SECRET_SETTING: &str = "identity.oauth_token_secret";
/// How long an access token lasts.
pub const TOKEN_TTL: chrono::Duration = chrono::Duration::minutes(15);
const ISSUER: &str = "cqs";
const AUDIENCE: &str = "cqs-api";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The API key's id.
    sub: String,
    /// The API key's prefix, to find it again.
    key: String,
    scope: String,
    iss: String,
    aud: String,
    iat: i64,
    exp: i64,
    jti: String,
}

/// The signing keys, read from the store once per node.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

/// Per-node cache of [`TokenKeys`] (in `AppState`).
#[derive(Clone, Default)]
pub struct TokenCache(std::sync::Arc<tokio::sync::OnceCell<TokenKeys>>);

async fn keys(state: &AppState) -> Result<&TokenKeys, ApiError> {
    state
        .oauth
        .0
        .get_or_try_init(|| async {
            let fresh = hex::encode(rand::rng().random::<[u8; 32]>());
            let secret = state.store.init_setting(TOKEN_SECRET_SETTING, &fresh, state.clock.now()).await?;
            let mut validation = Validation::new(Algorithm::HS256);
            validation.set_issuer(&[ISSUER]);
            validation.set_audience(&[AUDIENCE]);
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            // Expiry is judged against the application's clock below, not the system's.
            validation.validate_exp = false;
            let signing_error = |e: jsonwebtoken::errors::Error| {
                tracing::error!(error = %e, "access-token signing key not made");
                ApiError::internal()
            };
            let encoding = EncodingKey::from_secret(secret.as_bytes()).map_err(signing_error)?;
            let decoding = DecodingKey::from_secret(secret.as_bytes()).map_err(signing_error)?;
            Ok::<_, ApiError>(TokenKeys { encoding, decoding, validation })
        })
        .await
}

/// A token issued to a client.
pub struct Issued {
    pub token: String,
    pub scopes: Vec<Scope>,
    pub expires_at: DateTime<Utc>,
}

/// Issues a token for the key `key_id` (prefix `prefix`) with `scopes`.
pub async fn issue(state: &AppState, key_id: Uuid, prefix: &str, scopes: Vec<Scope>) -> Result<Issued, ApiError> {
    let k = keys(state).await?;
    let now = state.clock.now();
    let expires_at = now + TOKEN_TTL;
    let claims = Claims {
        sub: key_id.to_string(),
        key: prefix.to_owned(),
        scope: scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "),
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        iat: now.timestamp(),
        exp: expires_at.timestamp(),
        jti: Uuid::new_v4().to_string(),
    };
    let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &k.encoding).map_err(|e| {
        tracing::error!(error = %e, "access token not signed");
        ApiError::internal()
    })?;
    Ok(Issued { token, scopes, expires_at })
}

fn invalid_token() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "Mã truy cập không hợp lệ, đã hết hạn hoặc khóa đã bị thu hồi",
    )
}

/// Whether a Bearer value is shaped like a JWT (three base64url parts) rather than an API key.
pub fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3 && !token.starts_with("cqs_")
}

/// The client an access token stands for: its key must still be live, and the token's scopes
/// are cut to those the key holds now.
pub async fn principal_for(state: &AppState, token: &str) -> Result<(Principal, Uuid), ApiError> {
    let k = keys(state).await?;
    let data = jsonwebtoken::decode::<Claims>(token, &k.decoding, &k.validation).map_err(|_| invalid_token())?;
    let c = data.claims;
    if state.clock.now().timestamp() >= c.exp {
        return Err(invalid_token());
    }
    let record = state.store.api_key_by_prefix(&c.key).await?.ok_or_else(invalid_token)?;
    if record.revoked_at.is_some() || record.key.user_id.is_some() || record.key.id.to_string() != c.sub {
        return Err(invalid_token());
    }
    let scopes: Vec<Scope> =
        c.scope.split_whitespace().filter_map(Scope::parse).filter(|s| record.key.scopes.contains(s)).collect();
    let principal = Principal::Client { client_id: record.key.id, scopes, org_unit_id: record.key.org_unit_id };
    Ok((principal, record.key.id))
}
