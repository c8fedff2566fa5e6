//! Configuration: built-in defaults, then a TOML file, then `CQS_*` environment variables, then
//! command-line flags. With nothing set, `cqs` keeps everything in `./cqs-data`.

use std::net::SocketAddr;
use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// The default port: documented in the README and `cqs --help`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// Where the SQLite database and uploaded files live.
    pub data_dir: PathBuf,
    /// `postgres://...` to use PostgreSQL; empty for the embedded SQLite database in `data_dir`.
    pub database_url: String,
    /// `normal` (survives a process crash) or `full` (also survives power loss).
    pub sqlite_synchronous: String,
    pub max_connections: u32,
    /// `text` for people, `json` for log collectors.
    pub log_format: String,
    /// `http://collector:4318` to send traces over OTLP/HTTP to an OpenTelemetry collector;
    /// empty for none. `OTEL_EXPORTER_OTLP_HEADERS` adds headers (an API key of the collector).
    pub otlp_endpoint: String,
    /// Seconds between deadline sweeps (due-soon and overdue notices, apology tasks); 0 turns
    /// the sweeper off on this node. Every node may sweep: notices are sent once regardless.
    pub sweep_interval_secs: u64,
    /// `nats://host:4222` to publish events to NATS JetStream (and run consumers from it);
    /// empty for the in-process bus of a single node.
    pub nats_url: String,
    /// The JetStream stream holding the events (created if missing).
    pub nats_stream: String,
    /// Subjects are `<prefix>.<topic>`, e.g. `cqs.dossier.submitted`.
    pub nats_subject_prefix: String,
    /// How long a node's lease on a background job lasts without renewal: how long a dead
    /// node's jobs wait before another node takes them.
    pub lease_ttl_secs: u64,
    /// Milliseconds between the outbox relay's looks for new events.
    pub relay_interval_ms: u64,
    /// Days published events are kept in the outbox and the stream.
    pub event_retention_days: u64,
    /// Days a citizen's unsent online submission (draft, with its files) is kept after its
    /// last change.
    pub draft_retention_days: u64,
    pub limits: LimitsConfig,
    /// The data-sharing gateway (LGSP): instance, body limits, tokens.
    pub exchange: cqs_exchange::Config,
    pub auth: AuthSettings,
    pub notify: NotifySettings,
    pub documents: DocumentsSettings,
    pub eid: EidSettings,
    pub files: FilesSettings,
}

/// Where stored files go (`[files]`): a local folder (`<data_dir>/files`, the default) or an
/// S3-compatible bucket that every node of a cluster shares.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilesSettings {
    /// The bucket; empty keeps files in the local folder.
    pub s3_bucket: String,
    /// `https://s3.example.vn` for an S3-compatible server (MinIO, Ceph, a cloud's S3); empty
    /// for AWS itself.
    pub s3_endpoint: String,
    pub s3_region: String,
    /// Credentials; empty to take them from the usual `AWS_*` environment variables.
    pub s3_access_key_id: String,
    pub s3_secret_access_key: String,
    /// Allow a plain-HTTP endpoint (a server on the same private network, or a test server).
    pub s3_allow_http: bool,
    /// Prefix inside the bucket, so installations can share one bucket.
    pub s3_prefix: String,
}

/// Sign-in through external e-ID providers with OpenID Connect (`[eid]` and one
/// `[[eid.providers]]` table per provider; see docs/identity.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EidSettings {
    /// Where people reach the portal (`https://dichvucong.example.vn`): each provider's callback
    /// is `<public_url>/dang-nhap/dinh-danh/<name>/ket-qua`, to register at the provider.
    /// Empty: `documents.public_url`, else `http://<listen>`.
    pub public_url: String,
    /// Minutes a sign-in may wait for the provider's answer.
    pub login_minutes: i64,
    /// Seconds each call to a provider (discovery, keys, token, userinfo) may take.
    pub http_timeout_secs: u64,
    /// `http://proxy:3128` when calls to the providers must go through an outbound proxy.
    pub http_proxy: String,
    pub providers: Vec<EidProviderSettings>,
}

impl Default for EidSettings {
    fn default() -> Self {
        Self {
            public_url: String::new(),
            login_minutes: 10,
            http_timeout_secs: 10,
            http_proxy: String::new(),
            providers: Vec::new(),
        }
    }
}

/// One e-ID provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EidProviderSettings {
    /// Short name in addresses and the security log: lower-case letters, digits and '-'.
    pub name: String,
    /// What the sign-in button names, e.g. `VNeID`.
    pub display_name: String,
    /// The issuer URL; its discovery document is fetched from
    /// `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    /// The environment variable holding the client secret (never the secret in this file).
    #[serde(default)]
    pub client_secret_env: String,
    /// Or a file holding it (a mounted secret).
    #[serde(default)]
    pub client_secret_file: String,
    /// Scopes to ask for besides `openid`.
    #[serde(default = "default_eid_scopes")]
    pub scopes: Vec<String>,
    /// The claim carrying the personal identity number (số định danh cá nhân, 12 digits).
    pub identity_number_claim: String,
    /// A boolean claim that must be `true` for the number to count as verified.
    #[serde(default)]
    pub identity_number_verified_claim: String,
    /// Count every number this provider asserts as verified (only for a provider that issues
    /// accounts solely against the national population register).
    #[serde(default)]
    pub trust_identity_number: bool,
    /// The claim carrying the person's full name.
    #[serde(default = "default_eid_name_claim")]
    pub name_claim: String,
}

fn default_eid_scopes() -> Vec<String> {
    vec!["openid".into(), "profile".into()]
}

fn default_eid_name_claim() -> String {
    "name".into()
}

/// Where notices to people go (`[notify]`): one-time codes by e-mail through SMTP; without an
/// SMTP server (and for phone numbers, until an SMS gateway is configured) only to the log.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySettings {
    /// `smtp://host:25`, `smtp://user:password@host:587?tls=required` (STARTTLS) or
    /// `smtps://user:password@host:465`; empty: notices are only logged.
    pub smtp_url: String,
    /// The sender, e.g. `Cổng Dịch vụ công <no-reply@dichvucong.example.vn>`.
    pub from: String,
    pub smtp_timeout_secs: u64,
    /// Write the text of logged notices (and so the codes in them) to the log. Never in
    /// production; `cqs demo` turns it on so the demo's codes can be read from the terminal.
    pub log_text: bool,
}

/// Forms and signed documents (`[documents]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentsSettings {
    /// Where citizens reach the portal, e.g. `https://dichvucong.example.vn`: the QR codes on
    /// forms open its lookup page. Empty: `http://<listen>`.
    pub public_url: String,
    /// A folder of `.ttf`/`.otf` fonts (a licensed Times New Roman) that forms use instead of
    /// the shipped Liberation Serif. Empty: `<data_dir>/fonts` when it exists.
    pub fonts_dir: String,
    /// An RFC 3161 timestamp authority: signed results are then PAdES B-T (else B-B).
    pub tsa_url: String,
    pub tsa_timeout_secs: u64,
    /// PEM files of the roots a signature must chain to (the CA of the agencies' certificates,
    /// the timestamp authority's), for verification.
    pub trust_anchors: Vec<PathBuf>,
    /// Each agency's document-signing key, by QCVN 102 code (see docs/signing.md).
    pub signing_keys: std::collections::BTreeMap<String, cqs_pki::KeySource>,
    /// A development CA folder: units without a key sign with certificates it issues, and its
    /// root is trusted. `cqs demo` uses `<data_dir>/dev-ca`; never set it in production.
    pub dev_ca_dir: String,
}

impl Default for DocumentsSettings {
    fn default() -> Self {
        Self {
            public_url: String::new(),
            fonts_dir: String::new(),
            tsa_url: String::new(),
            tsa_timeout_secs: 20,
            trust_anchors: Vec::new(),
            signing_keys: Default::default(),
            dev_ca_dir: String::new(),
        }
    }
}
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Mark the session cookie `Secure` (browsers keep it on http://localhost and 127.0.0.1 too).
    pub cookie_secure: bool,
    /// A session unused this long ends.
    pub session_idle_minutes: i64,
    /// A session ends this long after sign-in, however much it is used.
    pub session_absolute_hours: i64,
    /// Origins allowed to send form posts and other unsafe requests (e.g.
    /// `https://dichvucong.example.vn`); empty means the request's own Host.
    pub allowed_origins: Vec<String>,
    pub password_min_chars: usize,
    /// Failed sign-ins on one account within `lockout_minutes` that lock it for as long.
    pub max_failed_sign_ins: u32,
    /// Failed sign-ins from one client address within `lockout_minutes` that lock the address.
    pub max_failed_sign_ins_per_address: u32,
    pub lockout_minutes: i64,
    /// Read the client address from `X-Forwarded-For` (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// Staff holding any of these roles must sign in with a second step (an authenticator
    /// app); the others may turn it on. Role names: desk_officer, specialist, leader, clerk, admin.
    pub mfa_required_roles: Vec<String>,
    /// The name authenticator apps show beside the account.
    pub mfa_issuer: String,
    /// File holding the key that seals authenticator secrets (created if missing; give every
    /// node of a cluster the same file). Empty: `<data_dir>/mfa.key`.
    pub mfa_key_file: String,
    /// How long a code sent to verify an e-mail or phone, or to reset a password, stays valid.
    pub code_minutes: i64,
    /// Wrong tries a sent code survives.
    pub code_attempts: u32,
    /// Most codes of one kind sent to one account within an hour (at least a minute apart).
    pub codes_per_hour: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    pub json_body_kb: usize,
    pub submission_body_mb: usize,
    pub attachment_mb: usize,
    pub files_per_submission: usize,
    pub request_timeout_secs: u64,
    pub header_read_timeout_secs: u64,
    /// Most requests handled at once; more are answered 503 with Retry-After.
    pub requests_in_flight: usize,
    /// Most connections open at once (under `ulimit -n`).
    pub open_connections: usize,
}

impl Default for Config {
    fn default() -> Self {
        let l = cqs_web::Limits::default();
        Self {
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            data_dir: PathBuf::from("cqs-data"),
            database_url: String::new(),
            sqlite_synchronous: "normal".into(),
            max_connections: 8,
            log_format: "text".into(),
            otlp_endpoint: String::new(),
            sweep_interval_secs: 60,
            nats_url: String::new(),
            nats_stream: "CQS".into(),
            nats_subject_prefix: "cqs".into(),
            lease_ttl_secs: 30,
            relay_interval_ms: 200,
            event_retention_days: 7,
            draft_retention_days: 30,
            limits: LimitsConfig {
                json_body_kb: l.json_body / 1024,
                submission_body_mb: l.submission_body / (1024 * 1024),
                attachment_mb: l.attachment / (1024 * 1024),
                files_per_submission: l.files_per_submission,
                request_timeout_secs: l.request_timeout.as_secs(),
                header_read_timeout_secs: l.header_read.as_secs(),
                requests_in_flight: l.in_flight,
                open_connections: l.connections,
            },
            exchange: cqs_exchange::Config::default(),
            notify: NotifySettings {
                smtp_url: String::new(),
                from: "Cổng Dịch vụ công <no-reply@localhost>".into(),
                smtp_timeout_secs: 15,
                log_text: false,
            },
            auth: {
                let a = cqs_web::auth::AuthConfig::default();
                AuthSettings {
                    cookie_secure: a.cookie_secure,
                    session_idle_minutes: a.session.idle.num_minutes(),
                    session_absolute_hours: a.session.absolute.num_hours(),
                    allowed_origins: a.allowed_origins,
                    password_min_chars: a.password.min_chars,
                    max_failed_sign_ins: a.lockout.account_failures,
                    max_failed_sign_ins_per_address: a.lockout.address_failures,
                    lockout_minutes: a.lockout.window.num_minutes(),
                    trust_forwarded_for: a.trust_forwarded_for,
                    mfa_required_roles: a.mfa.required_roles.iter().map(|r| r.as_str().to_owned()).collect(),
                    mfa_issuer: a.mfa_issuer,
                    mfa_key_file: String::new(),
                    code_minutes: a.codes.ttl.num_minutes(),
                    code_attempts: a.codes.max_attempts,
                    codes_per_hour: a.codes.max_per_hour,
                }
            },
            documents: DocumentsSettings::default(),
            eid: EidSettings::default(),
            files: FilesSettings::default(),
        }
    }
}

/// Top-level settings keys, the only `CQS_*` variables read as configuration.
const SETTINGS: [&str; 22] = [
    "listen",
    "data_dir",
    "database_url",
    "sqlite_synchronous",
    "max_connections",
    "log_format",
    "otlp_endpoint",
    "sweep_interval_secs",
    "nats_url",
    "nats_stream",
    "nats_subject_prefix",
    "lease_ttl_secs",
    "relay_interval_ms",
    "event_retention_days",
    "draft_retention_days",
    "limits",
    "exchange",
    "auth",
    "notify",
    "documents",
    "eid",
    "files",
];

/// Whether an environment key (after `CQS_`) names a setting or a nested setting.
fn is_setting(key: &str) -> bool {
    SETTINGS.iter().any(|s| {
        key.get(..s.len()).is_some_and(|head| head.eq_ignore_ascii_case(s))
            && matches!(key.as_bytes().get(s.len()), None | Some(b'.' | b'_'))
            && (key.len() == s.len()
                || matches!(*s, "limits" | "exchange" | "auth" | "notify" | "documents" | "eid" | "files"))
    })
}

/// A stream name or subject word NATS accepts.
fn is_nats_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Overrides from the command line; unset flags leave the layers below alone.
#[derive(Debug, Default, Serialize)]
pub struct CliOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

impl Config {
    pub fn load(file: Option<&std::path::Path>, cli: &CliOverrides) -> anyhow::Result<Self> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(f) = file {
            anyhow::ensure!(f.exists(), "không tìm thấy tệp cấu hình {}", f.display());
            fig = fig.merge(Toml::file(f));
        }
        let cfg: Config = fig
            // Other CQS_ variables (CQS_LOG, CQS_CONFIG, test settings) are not settings keys.
            .merge(Env::prefixed("CQS_").split("__").filter(|k| is_setting(k.as_str())))
            .merge(Serialized::defaults(cli))
            .extract()
            .map_err(|e| anyhow::anyhow!("cấu hình không hợp lệ: {e}"))?;
        anyhow::ensure!(
            matches!(cfg.sqlite_synchronous.as_str(), "normal" | "full"),
            "sqlite_synchronous phải là normal hoặc full"
        );
        anyhow::ensure!(matches!(cfg.log_format.as_str(), "text" | "json"), "log_format phải là text hoặc json");
        anyhow::ensure!(
            cfg.auth.session_idle_minutes > 0
                && cfg.auth.session_absolute_hours > 0
                && cfg.auth.lockout_minutes > 0
                && cfg.auth.max_failed_sign_ins > 0
                && cfg.auth.max_failed_sign_ins_per_address > 0,
            "auth.session_idle_minutes, session_absolute_hours, lockout_minutes và max_failed_sign_ins phải lớn hơn 0"
        );
        anyhow::ensure!((8..=64).contains(&cfg.auth.password_min_chars), "auth.password_min_chars phải từ 8 đến 64");
        anyhow::ensure!(
            (1..=60).contains(&cfg.auth.code_minutes) && cfg.auth.code_attempts >= 1 && cfg.auth.codes_per_hour >= 1,
            "auth.code_minutes phải từ 1 đến 60; code_attempts và codes_per_hour phải lớn hơn 0"
        );
        for r in &cfg.auth.mfa_required_roles {
            anyhow::ensure!(
                cqs_domain::auth::Role::parse(r).is_some(),
                "auth.mfa_required_roles: vai trò {r} không hợp lệ (desk_officer, specialist, leader, clerk, admin)"
            );
        }
        anyhow::ensure!(
            !cfg.auth.mfa_issuer.trim().is_empty() && !cfg.auth.mfa_issuer.contains(':'),
            "auth.mfa_issuer không được để trống hay chứa dấu ':'"
        );
        anyhow::ensure!(
            cfg.otlp_endpoint.is_empty()
                || cfg.otlp_endpoint.starts_with("http://")
                || cfg.otlp_endpoint.starts_with("https://"),
            "otlp_endpoint phải là địa chỉ http:// hoặc https:// của bộ thu OpenTelemetry"
        );
        anyhow::ensure!(
            cfg.limits.requests_in_flight >= 1 && cfg.limits.open_connections >= 1,
            "limits.requests_in_flight và limits.open_connections phải từ 1 trở lên"
        );
        anyhow::ensure!(cfg.lease_ttl_secs >= 1, "lease_ttl_secs phải từ 1 trở lên");
        anyhow::ensure!(cfg.relay_interval_ms >= 1, "relay_interval_ms phải từ 1 trở lên");
        anyhow::ensure!(cfg.event_retention_days >= 1, "event_retention_days phải từ 1 trở lên");
        anyhow::ensure!(cfg.draft_retention_days >= 1, "draft_retention_days phải từ 1 trở lên");
        anyhow::ensure!(
            is_nats_name(&cfg.nats_stream) && cfg.nats_subject_prefix.split('.').all(is_nats_name),
            "nats_stream và nats_subject_prefix chỉ gồm chữ, số, '-' và '_' (tiền tố có thể có dấu chấm giữa các từ)"
        );
        Ok(cfg)
    }

    /// The forms service: the portal's public address and the fonts folder.
    pub fn documents(&self) -> anyhow::Result<cqs_web::documents::Documents> {
        let url = if self.documents.public_url.is_empty() {
            format!("http://{}", self.listen)
        } else {
            self.documents.public_url.clone()
        };
        anyhow::ensure!(
            url.starts_with("http://") || url.starts_with("https://"),
            "documents.public_url phải là địa chỉ http:// hoặc https:// của Cổng dịch vụ công"
        );
        let fonts = if self.documents.fonts_dir.is_empty() {
            self.data_dir.join("fonts")
        } else {
            self.documents.fonts_dir.clone().into()
        };
        cqs_web::documents::Documents::new(&url, Some(&fonts)).map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// The agencies' signing keys (each checked as it loads), the timestamp authority and the
    /// trusted roots.
    pub fn signing(&self) -> anyhow::Result<cqs_web::documents::results::Signing> {
        let d = &self.documents;
        let tsa = if d.tsa_url.is_empty() {
            None
        } else {
            Some(cqs_pki::tsp::TsaClient::new(&d.tsa_url, std::time::Duration::from_secs(d.tsa_timeout_secs.max(1)))?)
        };
        let mut trust = Vec::new();
        for f in &d.trust_anchors {
            let pem = std::fs::read(f).map_err(|e| anyhow::anyhow!("documents.trust_anchors {}: {e}", f.display()))?;
            trust.extend(cqs_pki::cert::certificates_from_pem(&pem)?);
        }
        let keys = d.signing_keys.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let signing = cqs_web::documents::results::Signing::new(&keys, tsa, trust)?;
        Ok(if d.dev_ca_dir.is_empty() {
            signing
        } else {
            signing.with_dev_ca(d.dev_ca_dir.clone().into(), crate::devca::DEMO_PROVINCE)?
        })
    }

    /// The e-ID providers, each client secret read from its variable or file.
    pub fn eid(&self) -> anyhow::Result<cqs_web::identity::eid::EidProviders> {
        let e = &self.eid;
        anyhow::ensure!((1..=60).contains(&e.login_minutes), "eid.login_minutes phải từ 1 đến 60");
        let mut providers = Vec::new();
        for p in &e.providers {
            let secret = match (p.client_secret_env.as_str(), p.client_secret_file.as_str()) {
                ("", "") => None,
                (var, "") => Some(std::env::var(var).map_err(|_| {
                    anyhow::anyhow!("eid.providers {}: biến môi trường {var} (client secret) chưa được đặt", p.name)
                })?),
                ("", file) => Some(
                    std::fs::read_to_string(file)
                        .map_err(|e| anyhow::anyhow!("eid.providers {}: không đọc được {file}: {e}", p.name))?
                        .trim()
                        .to_owned(),
                ),
                _ => {
                    anyhow::bail!("eid.providers {}: chỉ đặt một trong client_secret_env và client_secret_file", p.name)
                }
            };
            let claim = |c: &str| (!c.trim().is_empty()).then(|| c.trim().to_owned());
            providers.push(cqs_web::identity::eid::ProviderConfig {
                name: p.name.clone(),
                display_name: p.display_name.clone(),
                issuer: p.issuer.clone(),
                client_id: p.client_id.clone(),
                client_secret: secret.filter(|s| !s.is_empty()),
                scopes: p.scopes.clone(),
                identity_number_claim: p.identity_number_claim.trim().to_owned(),
                identity_number_verified_claim: claim(&p.identity_number_verified_claim),
                trust_identity_number: p.trust_identity_number,
                name_claim: p.name_claim.trim().to_owned(),
            });
        }
        let public_url = if !e.public_url.is_empty() {
            e.public_url.clone()
        } else if !self.documents.public_url.is_empty() {
            self.documents.public_url.clone()
        } else {
            format!("http://{}", self.listen)
        };
        cqs_web::identity::eid::EidProviders::new(
            providers,
            &public_url,
            chrono::Duration::minutes(e.login_minutes),
            self.auth.cookie_secure,
            std::time::Duration::from_secs(e.http_timeout_secs.max(1)),
            (!e.http_proxy.is_empty()).then_some(e.http_proxy.as_str()),
        )
        .map_err(|m| anyhow::anyhow!("eid: {m}"))
    }

    /// The file storage the configuration names: the S3-compatible bucket when one is set,
    /// else the local folder `<data_dir>/files`.
    pub fn attachments(&self) -> anyhow::Result<cqs_store::files::Attachments> {
        let f = &self.files;
        if f.s3_bucket.is_empty() {
            return Ok(cqs_store::files::Attachments::open(self.data_dir.join("files"))?);
        }
        let mut b = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(&f.s3_bucket)
            .with_allow_http(f.s3_allow_http)
            // A file is created once under a fresh key; S3's conditional put (If-None-Match)
            // makes that a guarantee, as a local folder does.
            .with_conditional_put(object_store::aws::S3ConditionalPut::ETagMatch);
        if !f.s3_endpoint.is_empty() {
            b = b.with_endpoint(&f.s3_endpoint).with_virtual_hosted_style_request(false);
        }
        if !f.s3_region.is_empty() {
            b = b.with_region(&f.s3_region);
        }
        if !f.s3_access_key_id.is_empty() {
            b = b.with_access_key_id(&f.s3_access_key_id).with_secret_access_key(&f.s3_secret_access_key);
        }
        let s3 = b.build().map_err(|e| anyhow::anyhow!("cấu hình kho tệp S3 ([files]) không hợp lệ: {e}"))?;
        let store: std::sync::Arc<dyn object_store::ObjectStore> = if f.s3_prefix.is_empty() {
            std::sync::Arc::new(s3)
        } else {
            std::sync::Arc::new(object_store::prefix::PrefixStore::new(s3, f.s3_prefix.as_str()))
        };
        Ok(cqs_store::files::Attachments::named(store, "s3"))
    }

    pub fn store_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("cqs.db").display())
        } else {
            self.database_url.clone()
        }
    }

    /// How often this node runs each background job when it holds its lease.
    pub fn schedule(&self) -> cqs_web::jobs::Schedule {
        use std::time::Duration;
        cqs_web::jobs::Schedule {
            sweep: (self.sweep_interval_secs > 0).then(|| Duration::from_secs(self.sweep_interval_secs)),
            relay: Duration::from_millis(self.relay_interval_ms),
            retention: Duration::from_secs(self.event_retention_days * 24 * 3600),
            drafts: Duration::from_secs(self.draft_retention_days * 24 * 3600),
            ..Default::default()
        }
    }

    pub fn auth(&self) -> cqs_web::auth::AuthConfig {
        let d = cqs_web::auth::AuthConfig::default();
        cqs_web::auth::AuthConfig {
            session: cqs_domain::identity::SessionPolicy {
                idle: chrono::Duration::minutes(self.auth.session_idle_minutes),
                absolute: chrono::Duration::hours(self.auth.session_absolute_hours),
                ..d.session
            },
            password: cqs_domain::identity::PasswordPolicy { min_chars: self.auth.password_min_chars, ..d.password },
            cookie_secure: self.auth.cookie_secure,
            allowed_origins: self.auth.allowed_origins.clone(),
            lockout: cqs_domain::identity::LockoutPolicy {
                account_failures: self.auth.max_failed_sign_ins,
                address_failures: self.auth.max_failed_sign_ins_per_address,
                window: chrono::Duration::minutes(self.auth.lockout_minutes),
                lock: chrono::Duration::minutes(self.auth.lockout_minutes),
            },
            trust_forwarded_for: self.auth.trust_forwarded_for,
            mfa: cqs_domain::identity::MfaPolicy {
                required_roles: self
                    .auth
                    .mfa_required_roles
                    .iter()
                    .filter_map(|r| cqs_domain::auth::Role::parse(r))
                    .collect(),
            },
            mfa_issuer: self.auth.mfa_issuer.clone(),
            // The node's key is read from `mfa_key_path` when the server starts (`server::app_state`).
            mfa_key: d.mfa_key,
            codes: cqs_domain::identity::CodePolicy {
                ttl: chrono::Duration::minutes(self.auth.code_minutes),
                max_attempts: self.auth.code_attempts,
                max_per_hour: self.auth.codes_per_hour,
                ..d.codes
            },
        }
    }

    /// Where the key sealing authenticator secrets is kept.
    pub fn mfa_key_path(&self) -> PathBuf {
        if self.auth.mfa_key_file.is_empty() {
            self.data_dir.join("mfa.key")
        } else {
            PathBuf::from(&self.auth.mfa_key_file)
        }
    }

    /// The notifier the `[notify]` settings name.
    pub fn notifier(&self) -> anyhow::Result<std::sync::Arc<dyn cqs_web::notify::Notifier>> {
        use cqs_web::notify::{Channels, LogNotifier, smtp::SmtpNotifier};
        let log = std::sync::Arc::new(LogNotifier { reveal: self.notify.log_text });
        if self.notify.smtp_url.is_empty() {
            return Ok(log);
        }
        let timeout = std::time::Duration::from_secs(self.notify.smtp_timeout_secs.max(1));
        let smtp = SmtpNotifier::new(&self.notify.smtp_url, &self.notify.from, timeout)?;
        Ok(std::sync::Arc::new(Channels { email: std::sync::Arc::new(smtp), sms: log }))
    }

    pub fn limits(&self) -> cqs_web::Limits {
        cqs_web::Limits {
            json_body: self.limits.json_body_kb * 1024,
            submission_body: self.limits.submission_body_mb * 1024 * 1024,
            attachment: self.limits.attachment_mb * 1024 * 1024,
            files_per_submission: self.limits.files_per_submission,
            request_timeout: std::time::Duration::from_secs(self.limits.request_timeout_secs),
            header_read: std::time::Duration::from_secs(self.limits.header_read_timeout_secs.max(1)),
            in_flight: self.limits.requests_in_flight,
            connections: self.limits.open_connections,
        }
    }
}

#[cfg(test)]
// figment's test jail returns its own large error type; that is its API, not ours.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("cqs.toml", "listen = \"0.0.0.0:9000\"\n[limits]\nattachment_mb = 5\n")?;
            jail.set_env("CQS_DATA_DIR", "/srv/cqs");
            jail.set_env("CQS_LIMITS__FILES_PER_SUBMISSION", "7");
            jail.set_env("CQS_AUTH__SESSION_IDLE_MINUTES", "15");
            jail.set_env("CQS_LOG", "debug");
            jail.set_env("CQS_TEST_POSTGRES_URL", "postgres://elsewhere");
            let cli = CliOverrides { database_url: Some("postgres://x/y".into()), ..Default::default() };
            let c = Config::load(Some(std::path::Path::new("cqs.toml")), &cli).unwrap();
            assert_eq!(c.listen.port(), 9000);
            assert_eq!(c.data_dir, PathBuf::from("/srv/cqs"));
            assert_eq!(c.limits.attachment_mb, 5);
            assert_eq!(c.limits.files_per_submission, 7);
            assert_eq!(c.auth().session.idle, chrono::Duration::minutes(15));
            assert!(c.auth().cookie_secure);
            assert_eq!(c.store_url(), "postgres://x/y");
            jail.set_env("CQS_SQLITE_SYNCHRONOUS", "sometimes");
            assert!(Config::load(None, &CliOverrides::default()).is_err());
            Ok(())
        });
    }

    #[test]
    fn eid_providers_take_their_secret_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "cqs.toml",
                r#"
[eid]
public_url = "https://dichvucong.example.vn"
[[eid.providers]]
name = "vneid"
display_name = "VNeID"
issuer = "https://id.example.gov.vn"
client_id = "dichvucong"
client_secret_env = "CQS_TEST_EID_SECRET"
scopes = ["openid", "profile", "cccd"]
identity_number_claim = "cccd"
identity_number_verified_claim = "cccd_verified"
"#,
            )?;
            let c = Config::load(Some(std::path::Path::new("cqs.toml")), &CliOverrides::default()).unwrap();
            let unset = c.eid().unwrap_err().to_string();
            assert!(unset.contains("CQS_TEST_EID_SECRET"), "{unset}");
            jail.set_env("CQS_TEST_EID_SECRET", "bí mật");
            let p = c.eid().unwrap();
            assert_eq!(p.list()[0].display_name, "VNeID");
            assert_eq!(p.list()[0].start, "/dang-nhap/dinh-danh/vneid");
            jail.create_file("bad.toml", "[[eid.providers]]\nname = \"x\"\nunknown = 1\n")?;
            assert!(Config::load(Some(std::path::Path::new("bad.toml")), &CliOverrides::default()).is_err());
            Ok(())
        });
    }

    #[test]
    fn zero_configuration_uses_sqlite_in_data_dir() {
        figment::Jail::expect_with(|_| {
            let c = Config::load(None, &CliOverrides::default()).unwrap();
            assert_eq!(c.store_url(), "sqlite://cqs-data/cqs.db");
            assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
            Ok(())
        });
    }
}
