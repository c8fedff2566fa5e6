//! Sign-in through an external e-ID provider (the national or the province's identity provider)
//! with OpenID Connect: authorization code with PKCE, `state` and `nonce`, the ID token checked
//! against the provider's keys (JWKS) by the `openidconnect` crate.
//!
//! The sign-in waiting for the provider's answer (state, nonce, PKCE verifier, return page) is
//! kept in the store for a few minutes, so the provider may send the person back to any node;
//! it is taken once, so a replayed callback finds nothing. It is also tied to the browser that
//! started it by a random cookie whose hash is stored with it, so a callback address sent to
//! someone else signs nobody in.
//!
//! Accounts are found by the provider's subject once linked. A first sign-in links the subject
//! to the citizen account with the same personal identity number only when the provider asserts
//! the number is verified; without such an account it opens one. An unverified or missing
//! number signs nobody in. A session then starts exactly as after a password
//! ([`super::start_session`]).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, header};
use chrono::{DateTime, Utc};
use cookie::{Cookie, SameSite};
use cqs_domain::identity::{AccountKind, AccountRef, CitizenLogin, SecurityEventKind};
use cqs_domain::ids::{IdentityKind, IdentityNumber};
use cqs_store::{EidLink, EidLogin, NewCitizen, NewEidLogin, StoreError};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreResponseType,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenFields, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, StandardErrorResponse,
    StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::RwLock;
use uuid::Uuid;

use super::{ClientContext, StartedSession};
use crate::AppState;
use crate::auth::{Caller, audit, session};
use crate::error::ApiError;

/// The cookie tying a sign-in at a provider to the browser that started it.
pub const BROWSER_COOKIE: &str = "cqs_eid";
/// Where sign-ins through a provider start (`POST {START}/{provider}`) and come back
/// (`GET {START}/{provider}/ket-qua`).
pub const START: &str = "/dang-nhap/dinh-danh";

/// One provider, as configured.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// Short name in addresses and the security log (`vneid`).
    pub name: String,
    /// What the sign-in button names (`VNeID`).
    pub display_name: String,
    /// The issuer; its discovery document is at `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    /// The client secret (read from an environment variable or a file by the configuration).
    pub client_secret: Option<String>,
    /// Scopes besides `openid`.
    pub scopes: Vec<String>,
    /// The claim carrying the personal identity number (12 digits).
    pub identity_number_claim: String,
    /// A boolean claim that must be `true` for the number to count as verified.
    pub identity_number_verified_claim: Option<String>,
    /// Every number this provider asserts is verified (a national identity provider that only
    /// issues accounts against the population register). Off by default.
    pub trust_identity_number: bool,
    /// The claim carrying the person's full name.
    pub name_claim: String,
}

/// The providers of this node, with what their discovery documents said.
pub struct EidProviders {
    providers: Vec<Provider>,
    /// How long a sign-in may wait for the provider's answer.
    pub login_ttl: chrono::Duration,
    /// Mark the binding cookie `Secure`.
    cookie_secure: bool,
    http: reqwest::Client,
}

struct Provider {
    config: ProviderConfig,
    redirect: RedirectUrl,
    issuer: IssuerUrl,
    metadata: RwLock<Option<(Instant, CoreProviderMetadata)>>,
}

/// How long a discovery document (and the keys it names) is used before it is fetched again.
const METADATA_TTL: Duration = Duration::from_secs(3600);

impl Default for EidProviders {
    fn default() -> Self {
        Self::empty()
    }
}

impl std::fmt::Debug for EidProviders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EidProviders").field("providers", &self.providers.len()).finish()
    }
}

/// A provider as the sign-in page lists it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProviderSummary {
    pub name: String,
    pub display_name: String,
    /// Post a form here (with `tiep`, the page to return to) to start signing in.
    pub start: String,
}

impl EidProviders {
    pub fn empty() -> Self {
        Self {
            providers: Vec::new(),
            login_ttl: chrono::Duration::minutes(10),
            cookie_secure: true,
            http: reqwest::Client::new(),
        }
    }

    /// Providers whose callbacks are under `public_url` (`https://dichvucong.example.vn`).
    pub fn new(
        configs: Vec<ProviderConfig>,
        public_url: &str,
        login_ttl: chrono::Duration,
        cookie_secure: bool,
        http_timeout: Duration,
        http_proxy: Option<&str>,
    ) -> Result<Self, String> {
        let base = public_url.trim_end_matches('/');
        let mut providers = Vec::new();
        for config in configs {
            let ok_name = !config.name.is_empty()
                && config.name.len() <= 40
                && config.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !ok_name {
                return Err(format!("tên nhà cung cấp định danh \"{}\" chỉ gồm chữ thường, số và '-'", config.name));
            }
            if providers.iter().any(|p: &Provider| p.config.name == config.name) {
                return Err(format!("nhà cung cấp định danh \"{}\" được khai báo hai lần", config.name));
            }
            let redirect = RedirectUrl::new(format!("{base}{START}/{}/ket-qua", config.name))
                .map_err(|e| format!("địa chỉ trả về của {}: {e}", config.name))?;
            let issuer =
                IssuerUrl::new(config.issuer.clone()).map_err(|e| format!("issuer của {}: {e}", config.name))?;
            if config.identity_number_claim.trim().is_empty() || config.client_id.trim().is_empty() {
                return Err(format!("{}: cần client_id và identity_number_claim", config.name));
            }
            providers.push(Provider { config, redirect, issuer, metadata: RwLock::new(None) });
        }
        // The provider's answers are read, never followed: a redirect could point the node at
        // an internal address.
        let mut http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).timeout(http_timeout);
        if let Some(proxy) = http_proxy {
            http = http.proxy(reqwest::Proxy::all(proxy).map_err(|e| format!("http_proxy {proxy}: {e}"))?);
        }
        let http = http.build().map_err(|e| format!("không tạo được HTTP client: {e}"))?;
        Ok(Self { providers, login_ttl, cookie_secure, http })
    }

    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }

    /// The configured providers, in configuration order.
    pub fn list(&self) -> Vec<ProviderSummary> {
        self.providers
            .iter()
            .map(|p| ProviderSummary {
                name: p.config.name.clone(),
                display_name: p.config.display_name.clone(),
                start: format!("{START}/{}", p.config.name),
            })
            .collect()
    }

    fn get(&self, name: &str) -> Option<&Provider> {
        self.providers.iter().find(|p| p.config.name == name)
    }
}

/// Every claim of an ID token or userinfo answer, by name (standard ones included), so the
/// configuration can name whichever claim a provider uses for the identity number.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EidClaims {
    #[serde(flatten)]
    pub claims: BTreeMap<String, serde_json::Value>,
}

impl AdditionalClaims for EidClaims {}

type EidTokenResponse = StandardTokenResponse<
    IdTokenFields<
        EidClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;

type EidClient = openidconnect::Client<
    EidClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    EidTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Why a sign-in through a provider did not start or finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EidRefusal {
    /// No provider of that name is configured.
    UnknownProvider,
    /// The provider could not be reached, or its discovery document was unusable.
    ProviderUnavailable,
    /// The state is unknown, used already, expired, or belongs to another browser.
    UnknownLogin,
    /// The provider answered with an error (the person cancelled, for example).
    ProviderError(String),
    /// The code exchange failed, or the ID token failed a check (signature, issuer, audience,
    /// expiry, nonce, access-token hash).
    TokenRejected,
    /// No personal identity number, or not a valid one.
    NoIdentityNumber,
    /// The provider did not assert the number is verified.
    UnverifiedIdentityNumber,
    /// A first sign-in, which opens an account, without the person's name.
    NoName,
    /// The linked account has another identity number than the one now asserted.
    IdentityMismatch,
    /// The account is disabled.
    Disabled,
}

impl EidRefusal {
    /// Short reason for the security log (never a token or a code).
    pub fn reason(&self) -> String {
        match self {
            Self::UnknownProvider => "không có nhà cung cấp này".into(),
            Self::ProviderUnavailable => "không kết nối được nhà cung cấp".into(),
            Self::UnknownLogin => "state không hợp lệ, đã dùng, hết hạn hoặc của trình duyệt khác".into(),
            Self::ProviderError(e) => format!("nhà cung cấp trả lỗi {e}"),
            Self::TokenRejected => "mã thông báo không hợp lệ".into(),
            Self::NoIdentityNumber => "không có số định danh hợp lệ".into(),
            Self::UnverifiedIdentityNumber => "số định danh chưa được xác minh".into(),
            Self::NoName => "không có họ tên".into(),
            Self::IdentityMismatch => "số định danh khác tài khoản đã liên kết".into(),
            Self::Disabled => "tài khoản bị khóa".into(),
        }
    }
}

/// A sign-in sent to the provider: redirect the browser to `url` with `cookie` set.
#[derive(Debug)]
pub struct Started {
    pub url: String,
    pub cookie: HeaderValue,
}

/// How the callback ended.
#[derive(Debug)]
pub enum Finished {
    SignedIn { started: StartedSession, return_to: Option<String> },
    Refused(EidRefusal),
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn browser_cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == BROWSER_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn browser_cookie(eid: &EidProviders, value: &str, max_age: chrono::Duration) -> HeaderValue {
    let c = Cookie::build((BROWSER_COOKIE, value.to_owned()))
        .path(START)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(eid.cookie_secure)
        .max_age(cookie::time::Duration::seconds(max_age.num_seconds()))
        .build();
    HeaderValue::from_str(&c.to_string()).expect("cookie is ASCII")
}

/// `Set-Cookie` that removes the binding cookie once the callback used it.
pub fn clear_browser_cookie(eid: &EidProviders) -> HeaderValue {
    browser_cookie(eid, "", chrono::Duration::zero())
}

impl Provider {
    /// The discovery document (with the provider's keys), fetched again after an hour or when
    /// `refresh` asks (keys rotated).
    async fn metadata(&self, http: &reqwest::Client, refresh: bool) -> Result<CoreProviderMetadata, EidRefusal> {
        if !refresh
            && let Some((at, m)) = self.metadata.read().await.as_ref()
            && at.elapsed() < METADATA_TTL
        {
            return Ok(m.clone());
        }
        let m = CoreProviderMetadata::discover_async(self.issuer.clone(), http).await.map_err(|e| {
            tracing::warn!(provider = %self.config.name, error = %e, "e-ID provider discovery failed");
            EidRefusal::ProviderUnavailable
        })?;
        *self.metadata.write().await = Some((Instant::now(), m.clone()));
        Ok(m)
    }

    fn client(&self, metadata: CoreProviderMetadata) -> EidClient {
        EidClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            self.config.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(self.redirect.clone())
    }
}

/// Starts a sign-in at `provider`: records the pending sign-in and returns where to send the
/// browser. `return_to` must already be a checked local path.
pub async fn begin(
    state: &AppState,
    provider: &str,
    return_to: Option<String>,
    headers: &HeaderMap,
) -> Result<Result<Started, EidRefusal>, ApiError> {
    let eid = &state.eid;
    let Some(p) = eid.get(provider) else { return Ok(Err(EidRefusal::UnknownProvider)) };
    let metadata = match p.metadata(&eid.http, false).await {
        Ok(m) => m,
        Err(r) => return Ok(Err(r)),
    };
    let client = p.client(metadata);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for s in p.config.scopes.iter().filter(|s| s.as_str() != "openid") {
        request = request.add_scope(Scope::new(s.clone()));
    }
    let (url, csrf, nonce) = request.url();
    // Several tabs may sign in at once: they share the browser's binding cookie.
    let browser = browser_cookie_value(headers).unwrap_or_else(session::new_token);
    let now = state.clock.now();
    let login = NewEidLogin {
        state_hash: sha256_hex(csrf.secret()),
        login: EidLogin {
            provider: p.config.name.clone(),
            browser_hash: sha256_hex(&browser),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            return_to,
            created_at: now,
            expires_at: now + eid.login_ttl,
        },
    };
    state.store.begin_eid_login(&login).await?;
    Ok(Ok(Started { url: url.to_string(), cookie: browser_cookie(eid, &browser, eid.login_ttl) }))
}

/// What the provider sent the browser back with.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    /// RFC 9207: the issuer that answered, checked when present.
    pub iss: Option<String>,
}

/// Finishes a sign-in at `provider`: takes the pending sign-in, exchanges the code, checks the
/// ID token, finds or opens the account and starts a session. Every outcome is in the security
/// log.
pub async fn finish(
    state: &AppState,
    provider: &str,
    callback: Callback,
    headers: &HeaderMap,
    client: &ClientContext,
    current: &Caller,
) -> Result<Finished, ApiError> {
    let outcome = finish_inner(state, provider, callback, headers, client, current).await?;
    let detail = |what: &str| Some(format!("định danh điện tử {provider}: {what}"));
    match &outcome {
        Finished::SignedIn { started, .. } => {
            audit::record(
                state,
                SecurityEventKind::SignInSucceeded,
                Some(started.account),
                client,
                None,
                detail("thành công"),
            )
            .await;
        }
        Finished::Refused(r) => {
            audit::record(state, SecurityEventKind::SignInFailed, None, client, None, detail(&r.reason())).await;
        }
    }
    Ok(outcome)
}

async fn finish_inner(
    state: &AppState,
    provider: &str,
    callback: Callback,
    headers: &HeaderMap,
    client: &ClientContext,
    current: &Caller,
) -> Result<Finished, ApiError> {
    use Finished::Refused;
    let eid = &state.eid;
    let Some(p) = eid.get(provider) else { return Ok(Refused(EidRefusal::UnknownProvider)) };
    let now = state.clock.now();
    // The pending sign-in is taken (and so spent) before anything else is looked at.
    let Some(state_param) = callback.state.as_deref().filter(|s| !s.is_empty() && s.len() <= 512) else {
        return Ok(Refused(EidRefusal::UnknownLogin));
    };
    let Some(login) = state.store.take_eid_login(&sha256_hex(state_param), now).await? else {
        return Ok(Refused(EidRefusal::UnknownLogin));
    };
    let same_browser =
        browser_cookie_value(headers).is_some_and(|b| session::tokens_match(&sha256_hex(&b), &login.browser_hash));
    if login.provider != p.config.name || !same_browser {
        return Ok(Refused(EidRefusal::UnknownLogin));
    }
    if let Some(e) = callback.error {
        let code: String = e.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(64).collect();
        return Ok(Refused(EidRefusal::ProviderError(code)));
    }
    if callback.iss.as_deref().is_some_and(|iss| iss != p.issuer.as_str()) {
        return Ok(Refused(EidRefusal::TokenRejected));
    }
    let Some(code) = callback.code.filter(|c| !c.is_empty()) else {
        return Ok(Refused(EidRefusal::TokenRejected));
    };
    let metadata = match p.metadata(&eid.http, false).await {
        Ok(m) => m,
        Err(r) => return Ok(Refused(r)),
    };
    let oidc = p.client(metadata);
    let request = match oidc.exchange_code(AuthorizationCode::new(code)) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(provider, error = %e, "e-ID provider has no token endpoint");
            return Ok(Refused(EidRefusal::ProviderUnavailable));
        }
    };
    let token =
        match request.set_pkce_verifier(PkceCodeVerifier::new(login.pkce_verifier)).request_async(&eid.http).await {
            Ok(t) => t,
            Err(e) => {
                tracing::info!(provider, error = %e, "e-ID code exchange refused");
                return Ok(Refused(EidRefusal::TokenRejected));
            }
        };
    let Some(id_token) = token.id_token() else { return Ok(Refused(EidRefusal::TokenRejected)) };
    let verifier = oidc.id_token_verifier();
    let nonce = Nonce::new(login.nonce);
    let claims = match id_token.claims(&verifier, &nonce) {
        Ok(c) => c,
        Err(e) => {
            tracing::info!(provider, error = %e, "e-ID token refused");
            return Ok(Refused(EidRefusal::TokenRejected));
        }
    };
    if let Some(expected) = claims.access_token_hash() {
        let actual = id_token
            .signing_alg()
            .ok()
            .zip(id_token.signing_key(&verifier).ok())
            .and_then(|(alg, key)| AccessTokenHash::from_token(token.access_token(), alg, key).ok());
        if actual.as_ref() != Some(expected) {
            return Ok(Refused(EidRefusal::TokenRejected));
        }
    }
    let subject = claims.subject().clone();
    let mut all = claims.additional_claims().claims.clone();
    if let Some(name) = claims.name().and_then(|n| n.get(None)) {
        all.entry("name".into()).or_insert_with(|| serde_json::Value::String(name.as_str().to_owned()));
    }
    // Providers that keep the profile to the userinfo endpoint (as OpenID Connect suggests when
    // claims are asked for by scope).
    if !all.contains_key(&p.config.identity_number_claim)
        && let Ok(req) = oidc.user_info(token.access_token().clone(), Some(subject.clone()))
    {
        match req.request_async::<EidClaims, _, CoreGenderClaim>(&eid.http).await {
            Ok(info) => {
                for (k, v) in &info.additional_claims().claims {
                    all.entry(k.clone()).or_insert_with(|| v.clone());
                }
                if let Some(name) = info.name().and_then(|n| n.get(None)) {
                    all.entry("name".into()).or_insert_with(|| serde_json::Value::String(name.as_str().to_owned()));
                }
            }
            Err(e) => tracing::info!(provider, error = %e, "e-ID userinfo refused"),
        }
    }
    let person = Asserted::from_claims(&p.config, &all);
    let account = match link(state, &p.config, subject.as_str(), &person, client, now).await? {
        Ok(a) => a,
        Err(r) => return Ok(Refused(r)),
    };
    let started =
        super::start_session(state, AccountRef::citizen(account.id), account.full_name, client, current).await?;
    Ok(Finished::SignedIn { started, return_to: login.return_to })
}

/// What the provider asserted about the person.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Asserted {
    identity_number: Option<String>,
    verified: bool,
    full_name: Option<String>,
}

impl Asserted {
    fn from_claims(config: &ProviderConfig, claims: &BTreeMap<String, serde_json::Value>) -> Self {
        let identity_number = claims
            .get(&config.identity_number_claim)
            .and_then(|v| match v {
                serde_json::Value::String(s) => Some(s.trim().to_owned()),
                _ => None,
            })
            .and_then(|s| IdentityNumber::parse(IdentityKind::Citizen, &s).ok())
            .map(|n| n.as_str().to_owned());
        let claimed_verified = config.identity_number_verified_claim.as_ref().is_some_and(|c| {
            matches!(claims.get(c), Some(serde_json::Value::Bool(true)))
                || matches!(claims.get(c), Some(serde_json::Value::String(s)) if s == "true")
        });
        let full_name = claims
            .get(&config.name_claim)
            .and_then(|v| v.as_str())
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|s| !s.is_empty() && s.chars().count() <= 100 && !s.chars().any(char::is_control));
        Self { identity_number, verified: config.trust_identity_number || claimed_verified, full_name }
    }
}

/// Finds the account a subject signs in to, linking or opening one on a first sign-in.
async fn link(
    state: &AppState,
    config: &ProviderConfig,
    subject: &str,
    person: &Asserted,
    client: &ClientContext,
    now: DateTime<Utc>,
) -> Result<Result<cqs_store::CitizenAccount, EidRefusal>, ApiError> {
    let store = &state.store;
    let verified_number = person.identity_number.as_ref().filter(|_| person.verified);
    if let Some(linked) = store.use_eid_link(&config.name, subject, now).await? {
        return linked_account(state, linked, verified_number).await;
    }
    let Some(number) = verified_number else {
        return Ok(Err(if person.identity_number.is_none() {
            EidRefusal::NoIdentityNumber
        } else {
            EidRefusal::UnverifiedIdentityNumber
        }));
    };
    let new_link = |account: AccountRef| EidLink {
        provider: config.name.clone(),
        subject: subject.to_owned(),
        account,
        linked_at: now,
        last_used_at: now,
    };
    let detail = |how: &str| Some(format!("định danh điện tử {}: {how}", config.name));
    // Twice at most: a first sign-in racing another node's for the same person finds the
    // account (or the link) the other one made.
    for _ in 0..2 {
        let existing = store.citizen_credentials(&CitizenLogin::IdentityNumber(number.clone())).await?;
        if let Some(found) = existing {
            let account = AccountRef::citizen(found.account.id);
            if store.link_eid(&new_link(account)).await? {
                let d = detail("liên kết theo số định danh đã xác minh");
                audit::record(state, SecurityEventKind::EidLinked, Some(account), client, None, d).await;
            }
            return match store.use_eid_link(&config.name, subject, now).await? {
                Some(linked) => linked_account(state, linked, Some(number)).await,
                None => Err(StoreError::Conflict("liên kết định danh điện tử vừa bị xóa".into()).into()),
            };
        }
        let Some(full_name) = person.full_name.clone() else {
            return Ok(Err(EidRefusal::NoName));
        };
        let id = Uuid::now_v7();
        let new = NewCitizen {
            id,
            identity_number: number.clone(),
            full_name,
            phone: None,
            email: None,
            password_hash: None,
            created_at: now,
        };
        match store.create_eid_citizen(&new, &new_link(AccountRef::citizen(id))).await {
            Ok(account) => {
                let who = Some(AccountRef::citizen(account.id));
                audit::record(state, SecurityEventKind::CitizenRegistered, who, client, None, detail("mở tài khoản"))
                    .await;
                audit::record(state, SecurityEventKind::EidLinked, who, client, None, detail("mở tài khoản mới")).await;
                return Ok(Ok(account));
            }
            Err(StoreError::Taken(_) | StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict("không liên kết được tài khoản định danh điện tử".into()).into())
}

async fn linked_account(
    state: &AppState,
    linked: AccountRef,
    verified_number: Option<&String>,
) -> Result<Result<cqs_store::CitizenAccount, EidRefusal>, ApiError> {
    if linked.kind != AccountKind::Citizen {
        return Ok(Err(EidRefusal::IdentityMismatch));
    }
    let Some(account) = state.store.citizen_by_id(linked.id).await? else {
        return Ok(Err(EidRefusal::IdentityMismatch));
    };
    if verified_number.is_some_and(|n| *n != account.identity_number) {
        return Ok(Err(EidRefusal::IdentityMismatch));
    }
    if account.disabled {
        return Ok(Err(EidRefusal::Disabled));
    }
    Ok(Ok(account))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ProviderConfig {
        ProviderConfig {
            name: "vneid".into(),
            display_name: "VNeID".into(),
            issuer: "https://id.example.vn".into(),
            client_id: "cqs".into(),
            client_secret: None,
            scopes: vec![],
            identity_number_claim: "cccd".into(),
            identity_number_verified_claim: Some("cccd_verified".into()),
            trust_identity_number: false,
            name_claim: "name".into(),
        }
    }

    fn claims(v: serde_json::Value) -> BTreeMap<String, serde_json::Value> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_number_counts_as_verified_only_when_the_provider_says_so() {
        let c = config();
        let a = Asserted::from_claims(
            &c,
            &claims(serde_json::json!({"cccd": "001203004567", "cccd_verified": true, "name": " Nguyễn  Văn An "})),
        );
        assert_eq!(a.identity_number.as_deref(), Some("001203004567"));
        assert!(a.verified);
        assert_eq!(a.full_name.as_deref(), Some("Nguyễn Văn An"));
        let a = Asserted::from_claims(&c, &claims(serde_json::json!({"cccd": "001203004567"})));
        assert!(!a.verified);
        let a = Asserted::from_claims(&c, &claims(serde_json::json!({"cccd": "12345", "cccd_verified": true})));
        assert_eq!(a.identity_number, None);
        let trusted = ProviderConfig { trust_identity_number: true, identity_number_verified_claim: None, ..c };
        assert!(Asserted::from_claims(&trusted, &claims(serde_json::json!({"cccd": "001203004567"}))).verified);
    }

    #[test]
    fn provider_names_are_checked() {
        let bad = ProviderConfig { name: "VNe ID".into(), ..config() };
        assert!(
            EidProviders::new(
                vec![bad],
                "https://x.vn",
                chrono::Duration::minutes(10),
                true,
                Duration::from_secs(5),
                None
            )
            .is_err()
        );
        let p = EidProviders::new(
            vec![config()],
            "https://x.vn/",
            chrono::Duration::minutes(10),
            true,
            Duration::from_secs(5),
            None,
        )
        .unwrap();
        assert_eq!(p.list()[0].start, "/dang-nhap/dinh-danh/vneid");
        assert_eq!(p.get("vneid").unwrap().redirect.as_str(), "https://x.vn/dang-nhap/dinh-danh/vneid/ket-qua");
    }
}
