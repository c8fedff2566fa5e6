//! The session cookie. Its value is a 256-bit random token; the store keeps only its SHA-256,
//! and the CSRF token of a session is derived from it, so nothing about either needs to live
//! in process memory. The cookie is `HttpOnly; SameSite=Lax; Path=/`, and `Secure` unless the
//! configuration turns it off (Chromium and Firefox keep `Secure` cookies on
//! `http://localhost` and `http://127.0.0.1`, which count as secure contexts, so the demo keeps
//! it on).

use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite};
use std::sync::Arc;

use cqs_domain::identity::{CodePolicy, LockoutPolicy, MfaPolicy, PasswordPolicy, SessionPolicy};
use rand::Rng;
use sha2::{Digest, Sha256};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "cqs_session";
/// Header carrying the CSRF token on unsafe requests (htmx: `hx-headers`).
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Form field carrying the CSRF token in `application/x-www-form-urlencoded` posts.
pub const CSRF_FIELD: &str = "csrf_token";

/// How sign-in and sessions behave; from the `[auth]` configuration.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub session: SessionPolicy,
    pub password: PasswordPolicy,
    /// Mark the cookie `Secure`. Leave on: browsers honour it on localhost too.
    pub cookie_secure: bool,
    /// Origins (`https://dichvucong.example.vn`) allowed to send unsafe requests. Empty: the
    /// request's own `Host`, which is right unless a proxy rewrites it.
    pub allowed_origins: Vec<String>,
    pub lockout: LockoutPolicy,
    /// Take the client address from `X-Forwarded-For` (only behind a proxy that sets it);
    /// otherwise every client behind the proxy would share one address and one lockout.
    pub trust_forwarded_for: bool,
    /// Who must use two-step sign-in.
    pub mfa: MfaPolicy,
    /// The name authenticator apps show beside the account.
    pub mfa_issuer: String,
    /// Seals authenticator secrets and hashes recovery codes; from `[auth] mfa_key_file`.
    pub mfa_key: Arc<super::mfa::MfaKey>,
    /// Limits on one-time codes sent to people (verification, password reset).
    pub codes: CodePolicy,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            session: SessionPolicy::default(),
            password: PasswordPolicy::default(),
            cookie_secure: true,
            allowed_origins: Vec::new(),
            lockout: LockoutPolicy::default(),
            trust_forwarded_for: false,
            mfa: MfaPolicy::default(),
            mfa_issuer: "Chính Quyền Số".into(),
            mfa_key: Arc::new(super::mfa::MfaKey::ephemeral()),
            codes: CodePolicy::default(),
        }
    }
}

/// A new random session token (64 hex characters).
pub fn new_token() -> String {
    hex::encode(rand::rng().random::<[u8; 32]>())
}

/// What the store keeps of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The CSRF token of the session whose cookie token is `token`. A different hash from the
/// stored one (domain-separated), so the database does not hold it either.
pub fn csrf_token(token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"cqs-csrf\0");
    h.update(token.as_bytes());
    hex::encode(h.finalize())
}

/// Compares two tokens without leaking, through timing, how much of a guess was right: both
/// sides are hashed first, so the comparison runs over values the guesser cannot steer.
pub fn tokens_match(a: &str, b: &str) -> bool {
    Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}

/// The session token the request's cookies carry, if any.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `Set-Cookie` for a new session.
pub fn set_cookie(cfg: &AuthConfig, token: &str) -> HeaderValue {
    let c = Cookie::build((SESSION_COOKIE, token.to_owned()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(cfg.cookie_secure)
        .build();
    HeaderValue::from_str(&c.to_string()).expect("cookie is ASCII")
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(cfg: &AuthConfig) -> HeaderValue {
    let c = Cookie::build((SESSION_COOKIE, ""))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(cfg.cookie_secure)
        .max_age(cookie::time::Duration::ZERO)
        .build();
    HeaderValue::from_str(&c.to_string()).expect("cookie is ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_round_trip() {
        let cfg = AuthConfig::default();
        let t = new_token();
        let set = set_cookie(&cfg, &t);
        let s = set.to_str().unwrap();
        for attr in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
            assert!(s.contains(attr), "{s}");
        }
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_str(&format!("theme=dark; {SESSION_COOKIE}={t}")).unwrap());
        assert_eq!(session_token(&h), Some(t.clone()));
        h.insert(header::COOKIE, HeaderValue::from_static("cqs_session=short"));
        assert_eq!(session_token(&h), None);
        assert!(clear_cookie(&cfg).to_str().unwrap().contains("Max-Age=0"));
        let insecure = AuthConfig { cookie_secure: false, ..cfg };
        assert!(!set_cookie(&insecure, &t).to_str().unwrap().contains("Secure"));
        assert_ne!(csrf_token(&t), token_hash(&t));
        assert!(tokens_match(&csrf_token(&t), &csrf_token(&t)) && !tokens_match(&csrf_token(&t), &t));
    }
}
