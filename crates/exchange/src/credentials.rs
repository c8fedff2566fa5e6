//! Who is calling through the gateway. A client subsystem proves itself in one of the ways
//! provincial systems use today: `X-SystemId` + `X-SecretKey` headers (the secret issued by the
//! registry, kept only as its SHA-256), or a short-lived Bearer JWT obtained by logging in with
//! the same pair; an X-Road client also sends `X-Road-Client`, which must then name the same
//! subsystem. A new secret ends every token made from the old one (the token carries the
//! credential version).

use std::time::Duration;

use chrono::Utc;
use cqs_domain::exchange::ClientId;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::XRoadError;
use crate::registry::RegistryView;

/// The settings key of the token signing secret, shared by every node through the store.
pub const TOKEN_SECRET_SETTING: &str = "exchange.token_secret";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    /// Credential version of the subsystem when the token was made.
    cv: i32,
    iss: String,
    iat: i64,
    exp: i64,
    jti: String,
}

/// Issues and checks gateway tokens (HS256 with a secret every node shares).
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    pub ttl: Duration,
}

impl Tokens {
    pub fn new(secret: &[u8], issuer: &str, ttl: Duration) -> Result<Self, jsonwebtoken::errors::Error> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 5;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret)?,
            decoding: DecodingKey::from_secret(secret)?,
            validation,
            issuer: issuer.to_owned(),
            ttl,
        })
    }

    pub fn issue(&self, client: &ClientId, credential_version: i32) -> Result<String, XRoadError> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: client.to_string(),
            cv: credential_version,
            iss: self.issuer.clone(),
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| XRoadError::internal())
    }

    fn verify(&self, token: &str) -> Option<(ClientId, i32)> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        Some((ClientId::parse(&data.claims.sub).ok()?, data.claims.cv))
    }
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Checks a system id and secret against the registry; the subsystem must be callable.
pub fn check_secret(view: &RegistryView, system_id: &str, secret: &str) -> Option<(ClientId, i32)> {
    let client = view
        .system_ids
        .get(system_id)
        .cloned()
        .or_else(|| ClientId::parse(system_id).ok().filter(|c| view.credentials.contains_key(c)))?;
    let cred = view.credentials.get(&client)?;
    let stored = cred.secret_hash.as_deref()?;
    let given = hash_secret(secret);
    let same = aws_lc_rs::constant_time::verify_slices_are_equal(stored.as_bytes(), given.as_bytes()).is_ok();
    (same && cred.status.callable()).then_some((client, cred.credential_version))
}

fn header<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// The headers that carried the client's credentials, which are not passed on to the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    Secret,
    Bearer,
}

/// Authenticates the caller of a mediated request.
pub fn authenticate(
    view: &RegistryView,
    tokens: &Tokens,
    headers: &axum::http::HeaderMap,
) -> Result<(ClientId, CredentialKind), XRoadError> {
    let claimed = header(headers, "x-road-client")
        .map(|v| ClientId::parse(v).map_err(|e| XRoadError::bad_client(format!("X-Road-Client không hợp lệ: {e}"))))
        .transpose()?;
    let bearer = header(headers, "authorization").and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
    let (client, kind) = if let Some(secret) = header(headers, "x-secretkey") {
        let system = header(headers, "x-systemid")
            .map(str::to_owned)
            .or_else(|| claimed.as_ref().map(|c| c.to_string()))
            .ok_or_else(|| XRoadError::unauthenticated("Thiếu X-SystemId hoặc X-Road-Client đi kèm X-SecretKey"))?;
        let (client, _) = check_secret(view, &system, secret)
            .ok_or_else(|| XRoadError::unauthenticated("X-SystemId hoặc X-SecretKey không đúng"))?;
        (client, CredentialKind::Secret)
    } else if let Some(token) = bearer {
        let (client, cv) = tokens
            .verify(token)
            .ok_or_else(|| XRoadError::unauthenticated("Mã truy cập không hợp lệ hoặc đã hết hạn"))?;
        let current = view.credentials.get(&client).filter(|c| c.status.callable()).map(|c| c.credential_version);
        if current != Some(cv) {
            return Err(XRoadError::unauthenticated("Mã truy cập đã bị thu hồi"));
        }
        (client, CredentialKind::Bearer)
    } else {
        return Err(XRoadError::unauthenticated(
            "Cần X-SystemId và X-SecretKey, hoặc Authorization: Bearer <mã truy cập>",
        ));
    };
    if claimed.as_ref().is_some_and(|c| c != &client) {
        return Err(XRoadError::unauthenticated("X-Road-Client khác với hệ thống đã xác thực"));
    }
    Ok((client, kind))
}
