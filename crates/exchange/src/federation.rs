//! Federation: two `cqs` nodes (two provinces, or a province and the national platform) carry
//! each other's calls over mutual TLS. Both hold certificates from the platform CA (`cqs dev-ca
//! --node` issues them for tests). A node trusts only that CA, and of the certificates it issued
//! only those of the peers it is configured with: each peer is named by its certificate's common
//! name (and, optionally, pinned by the certificate's SHA-256), and speaks for exactly one
//! X-Road instance.
//!
//! A consumer calls its own node with the service id alone; a service of another instance goes
//! to the peer configured for that instance (`forward` in `mediate`). The peer's listener
//! (`serve`) accepts only `/r1/...` calls, takes the client from `X-Road-Client`, which must
//! belong to the peer's instance, and checks grants, limits and the provider exactly as for a
//! local client. Both nodes log the exchange; the consumer's node checks that the provider's node
//! computed the same request hash.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::response::IntoResponse;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use crate::Gateway;

/// `[exchange.federation]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FederationConfig {
    /// Address of the listener for peers (mutual TLS only), e.g. `0.0.0.0:5500`; empty = none.
    pub listen: String,
    /// This node's certificate (PEM, leaf first) and key from the platform CA, shown both when
    /// serving peers and when calling them.
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The platform CA (PEM): the only issuer whose certificates a peer may show.
    pub ca: PathBuf,
    /// Time a peer has to answer a forwarded call, provider included (milliseconds); 0 = 60 s.
    pub timeout_ms: u64,
    pub peers: Vec<PeerConfig>,
}

/// One node this node exchanges calls with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PeerConfig {
    /// The X-Road instance the peer serves and speaks for, e.g. `VN-GOV`.
    pub instance: String,
    /// Its federation listener, `https://host:port`; the host must be in its certificate.
    pub url: String,
    /// The common name of its certificate.
    pub name: String,
    /// SHA-256 of its certificate (hex), to accept that one certificate only; empty = any the
    /// platform CA issued to `name`.
    pub cert_sha256: String,
}

/// Why federation could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    #[error("cấu hình liên thông không hợp lệ: {0}")]
    Config(String),
    #[error("không đọc được {path}: {error}")]
    Read { path: String, error: String },
    #[error("thiết lập TLS không được: {0}")]
    Tls(#[from] rustls::Error),
}

/// A peer as the gateway uses it: who it is, and a client that reaches only it.
pub struct Peer {
    pub config: PeerConfig,
    pub http: crate::upstream::Upstream,
}

/// What a connection's certificate proved: the peer it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    pub name: String,
    pub instance: String,
}

/// The federation side of a gateway: the peers by instance, and the TLS set-up of the listener.
#[derive(Default)]
pub struct Federation {
    peers: HashMap<String, Peer>,
    server: Option<Arc<rustls::ServerConfig>>,
    pub timeout: Duration,
}

fn read(path: &Path) -> Result<Vec<u8>, FederationError> {
    std::fs::read(path).map_err(|e| FederationError::Read { path: path.display().to_string(), error: e.to_string() })
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The common name and SHA-256 (hex) of a DER certificate.
fn identity_of(der: &[u8]) -> Option<(String, String)> {
    let info = cqs_pki::cert::CertificateInfo::parse(der).ok()?;
    Some((info.common_name?, info.fingerprint_sha256))
}

/// Whether a certificate is the one `peer` is configured with.
fn is_peer(peer: &PeerConfig, der: &[u8]) -> bool {
    identity_of(der).is_some_and(|(cn, sha)| {
        cn == peer.name && (peer.cert_sha256.is_empty() || peer.cert_sha256.eq_ignore_ascii_case(&sha))
    })
}

/// Checks what the configuration says before anything is opened.
pub fn validate(cfg: &FederationConfig, own_instance: &str) -> Result<(), FederationError> {
    let bad = |m: String| Err(FederationError::Config(m));
    if cfg.listen.is_empty() && cfg.peers.is_empty() {
        return Ok(());
    }
    if cfg.cert.as_os_str().is_empty() || cfg.key.as_os_str().is_empty() || cfg.ca.as_os_str().is_empty() {
        return bad("cần cert, key và ca (chứng thư của nút, khóa của nó và chứng thư CA của nền tảng)".into());
    }
    if !cfg.listen.is_empty() && cfg.listen.parse::<std::net::SocketAddr>().is_err() {
        return bad(format!("listen = {:?} không phải địa chỉ IP:cổng", cfg.listen));
    }
    let mut seen = std::collections::HashSet::new();
    for p in &cfg.peers {
        if p.instance.is_empty() || p.name.is_empty() {
            return bad("mỗi nút liên thông cần instance và name".into());
        }
        if p.instance == own_instance {
            return bad(format!("nút {} phục vụ chính hệ thống {own_instance} của nút này", p.name));
        }
        if !seen.insert(p.instance.as_str()) {
            return bad(format!("hệ thống {} có hơn một nút liên thông", p.instance));
        }
        match reqwest::Url::parse(&p.url) {
            Ok(u) if u.scheme() == "https" && u.host().is_some() && u.path() == "/" => {}
            _ => return bad(format!("url của nút {} phải có dạng https://máy:cổng", p.name)),
        }
        if !(p.cert_sha256.is_empty() || p.cert_sha256.len() == 64 && hex::decode(&p.cert_sha256).is_ok()) {
            return bad(format!("cert_sha256 của nút {} phải là 64 chữ số hệ 16", p.name));
        }
    }
    Ok(())
}

impl Federation {
    /// Reads the certificates and prepares one client per peer and the listener's TLS set-up.
    pub fn load(cfg: &FederationConfig, own_instance: &str) -> Result<Self, FederationError> {
        validate(cfg, own_instance)?;
        let timeout = Duration::from_millis(if cfg.timeout_ms == 0 { 60_000 } else { cfg.timeout_ms });
        if cfg.listen.is_empty() && cfg.peers.is_empty() {
            return Ok(Self { timeout, ..Self::default() });
        }
        fn pem_err(p: &Path) -> impl FnOnce(cqs_pki::PkiError) -> FederationError + '_ {
            move |e| FederationError::Read { path: p.display().to_string(), error: e.to_string() }
        }
        let chain = cqs_pki::cert::certificates_from_pem(&read(&cfg.cert)?).map_err(pem_err(&cfg.cert))?;
        let key = cqs_pki::cert::private_key_from_pem(&read(&cfg.key)?).map_err(pem_err(&cfg.key))?;
        let mut roots = RootCertStore::empty();
        for ca in cqs_pki::cert::certificates_from_pem(&read(&cfg.ca)?).map_err(pem_err(&cfg.ca))? {
            roots.add(ca)?;
        }
        let roots = Arc::new(roots);
        let mut peers = HashMap::new();
        for p in &cfg.peers {
            let http = client_for(p, roots.clone(), chain.clone(), key.clone_key())?;
            peers.insert(p.instance.clone(), Peer { config: p.clone(), http });
        }
        let server = if cfg.listen.is_empty() {
            None
        } else {
            let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider())
                .build()
                .map_err(|e| FederationError::Config(format!("CA của nền tảng: {e}")))?;
            let mut sc = rustls::ServerConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()?
                .with_client_cert_verifier(verifier)
                .with_single_cert(chain, key)?;
            sc.alpn_protocols = vec![b"http/1.1".to_vec()];
            Some(Arc::new(sc))
        };
        Ok(Self { peers, server, timeout })
    }

    /// The peer that serves `instance`.
    pub fn peer(&self, instance: &str) -> Option<&Peer> {
        self.peers.get(instance)
    }

    /// The configured peer a client certificate belongs to.
    fn identify(&self, der: &[u8]) -> Option<PeerIdentity> {
        self.peers
            .values()
            .find(|p| is_peer(&p.config, der))
            .map(|p| PeerIdentity { name: p.config.name.clone(), instance: p.config.instance.clone() })
    }
}

/// Accepts the platform CA's chain for the peer's host name (webpki does that), and then only
/// the configured peer's certificate.
#[derive(Debug)]
struct PeerVerifier {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    peer: PeerConfig,
}

impl ServerCertVerifier for PeerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp, now)?;
        if !is_peer(&self.peer, end_entity) {
            tracing::warn!(target: "security", peer = %self.peer.name, "federation peer showed another node's certificate");
            return Err(rustls::Error::InvalidCertificate(rustls::CertificateError::ApplicationVerificationFailure));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

fn client_for(
    peer: &PeerConfig,
    roots: Arc<RootCertStore>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<crate::upstream::Upstream, FederationError> {
    let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider())
        .build()
        .map_err(|e| FederationError::Config(format!("CA của nền tảng: {e}")))?;
    // ALPN (HTTP/1.1) is set by the connector.
    let tls = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PeerVerifier { inner, peer: peer.clone() }))
        .with_client_auth_cert(chain, key)?;
    let settings = crate::upstream::Settings {
        connect_timeout: Duration::from_secs(5),
        idle_per_host: 256,
        idle_timeout: Duration::from_secs(60),
        https_only: true,
    };
    Ok(crate::upstream::Upstream::new(tls, &settings))
}

/// How long a peer has to finish the TLS handshake.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// Serves peers on `listener` until `shutdown`: mutual TLS, the certificate must be a configured
/// peer's, then HTTP/1.1 with only mediated calls.
pub async fn serve(
    gateway: Arc<Gateway>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let Some(server) = gateway.federation.server.clone() else {
        return Err(std::io::Error::other("nút này không có cấu hình nghe liên thông"));
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(server);
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a federation connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let (acceptor, gateway) = (acceptor.clone(), gateway.clone());
        connections.spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE, acceptor.accept(stream)).await {
                Ok(Ok(t)) => t,
                Ok(Err(e)) => {
                    tracing::info!(target: "security", %addr, error = %e, "federation handshake refused");
                    return;
                }
                Err(_) => return,
            };
            let leaf = tls.get_ref().1.peer_certificates().and_then(|c| c.first()).map(|c| c.as_ref().to_vec());
            let Some(peer) = leaf.and_then(|der| gateway.federation.identify(&der)) else {
                tracing::warn!(target: "security", %addr, "federation connection from a certificate of no configured peer");
                return;
            };
            let timeout = gateway.federation.timeout + Duration::from_secs(5);
            let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let (gateway, peer) = (gateway.clone(), peer.clone());
                async move {
                    let req = req.map(axum::body::Body::new);
                    let res = match tokio::time::timeout(timeout, gateway.serve_peer(&peer, req)).await {
                        Ok(r) => r,
                        Err(_) => crate::error::XRoadError::new(
                            axum::http::StatusCode::GATEWAY_TIMEOUT,
                            "Server.ServerProxy.Timeout",
                            "Nút cung cấp không xử lý kịp yêu cầu",
                        )
                        .into_response(),
                    };
                    Ok::<_, std::convert::Infallible>(res)
                }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HANDSHAKE)
                .serve_connection(TokioIo::new(tls), service);
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "federation connection ended");
            }
        });
        while connections.try_join_next().is_some() {}
    }
    connections.abort_all();
    Ok(())
}
