//! One mediated call (PR-REST): parse the service id from the path, authenticate the client,
//! route to a local provider (or, for another instance, to its peer node over mutual TLS; see
//! `federation`), check the grant and the client's limits, forward the request with the X-Road
//! headers, and answer with the provider's response plus `X-Road-Client`, `X-Road-Service`,
//! `X-Road-Id`, `X-Road-Request-Id` and `X-Road-Request-Hash`. Failures inside the platform are
//! X-Road errors; the provider's own answers, errors included, pass through untouched, and so do
//! a peer node's X-Road errors.

use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use cqs_domain::exchange::chain::request_hash;
use cqs_domain::exchange::endpoint::segments;
use cqs_domain::exchange::{ClientId, ServiceId};
use http_body_util::Full;
use sha2::Digest;

use crate::Gateway;
use crate::credentials::{CredentialKind, authenticate};
use crate::error::XRoadError;
use crate::federation::{Peer, PeerIdentity};
use crate::registry::RegistryView;
use crate::upstream::FetchError;

/// Headers never forwarded in either direction: hop-by-hop ones, and those that leak the origin.
const FILTERED: [&str; 11] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "server",
];

/// How far a call got, for monitoring: the service and client once known, the bodies' sizes.
#[derive(Debug, Default)]
struct Seen {
    service: String,
    client: String,
    bytes_in: u64,
    bytes_out: u64,
    /// The X-Road error type a peer node answered with, passed through.
    remote_error: Option<String>,
}

/// What the gateway knows about a call once it is parsed and its client known (also what the
/// message log records).
#[derive(Debug, Clone)]
pub struct Call {
    pub service: ServiceId,
    /// `service` and `client` as text, made once: they go into headers, the request hash, the
    /// log record and the counts, and formatting them each time was a measurable cost.
    pub service_text: String,
    pub client: ClientId,
    pub client_text: String,
    /// The path after the service code, starting with `/`.
    pub path: String,
    /// `path?query` as the provider receives it.
    pub target: String,
    pub method: Method,
    pub message_id: String,
    pub request_id: uuid::Uuid,
    pub user_id: Option<String>,
    pub issue: Option<String>,
}

impl Call {
    /// The call a request makes, with the X-Road headers its client chose.
    fn read(
        (service, service_text): (ServiceId, String),
        (client, client_text): (ClientId, String),
        path: String,
        parts: &axum::http::request::Parts,
        request_id: uuid::Uuid,
    ) -> Result<Self, XRoadError> {
        let target = match parts.uri.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.clone(),
        };
        Ok(Call {
            // Time-ordered when made here, so the log's message-id index grows at its end.
            message_id: client_value(&parts.headers, "x-road-id")?.unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
            user_id: client_value(&parts.headers, "x-road-userid")?,
            issue: client_value(&parts.headers, "x-road-issue")?,
            service,
            service_text,
            client,
            client_text,
            path,
            target,
            method: parts.method.clone(),
            request_id,
        })
    }

    /// The query string, if the call has one.
    fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }
}

/// The request headers that go on to the provider: not hop-by-hop ones, not the client's
/// credentials, not the X-Road ones (the gateway sets those itself).
fn forwardable(headers: &HeaderMap, credential: Option<CredentialKind>) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in headers {
        let n = name.as_str();
        let credential_header = match credential {
            Some(CredentialKind::Secret) => n == "x-secretkey" || n == "x-systemid",
            Some(CredentialKind::Bearer) => n == "authorization",
            None => false,
        };
        if !FILTERED.contains(&n) && !credential_header && !n.starts_with("x-road-") && n != "user-agent" {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// The response headers that go back to the client.
fn returnable(headers: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in headers {
        let n = name.as_str();
        if !FILTERED.contains(&n) && !n.starts_with("x-road-") {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// Reads a request body, refusing one larger than `max` (by its length header or as it comes).
async fn read_body(headers: &HeaderMap, body: Body, max: usize) -> Result<Bytes, XRoadError> {
    if headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok()).is_some_and(|n| n > max)
    {
        return Err(too_large(max));
    }
    axum::body::to_bytes(body, max).await.map_err(|_| too_large(max))
}

/// The request the gateway sends on (to a provider or a peer node) for `call`, to `base`
/// followed by the call's path and query.
fn outgoing(call: &Call, base: &str, headers: HeaderMap, body: &Bytes) -> Result<Request<Full<Bytes>>, XRoadError> {
    let uri = crate::upstream::target_uri(base, &call.target).or_else(|_| {
        // A host that is not plain ASCII (an internationalised name) needs the WHATWG parser.
        let url = reqwest::Url::parse(&format!("{}{}", base.trim_end_matches('/'), call.target))
            .map_err(|_| XRoadError::internal())?;
        url.as_str().parse().map_err(|_| XRoadError::internal())
    })?;
    let mut out = Request::new(Full::new(body.clone()));
    *out.method_mut() = call.method.clone();
    *out.uri_mut() = uri;
    *out.headers_mut() = headers;
    Ok(out)
}

fn response(status: StatusCode, headers: HeaderMap, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// An X-Road error type a peer reported, kept only if it looks like one (it becomes a metric
/// label).
fn error_type(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    (!s.is_empty() && s.len() <= 80 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')).then(|| s.to_owned())
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// A header value a client chose (message id, user id, issue): printable ASCII, at most 255.
fn client_value(h: &HeaderMap, name: &str) -> Result<Option<String>, XRoadError> {
    match header_str(h, name) {
        None => Ok(None),
        Some(v) if v.len() <= 255 && v.bytes().all(|b| (0x20..0x7f).contains(&b)) => Ok(Some(v.to_owned())),
        Some(_) => {
            Err(XRoadError::bad_request(format!("Giá trị {name} không hợp lệ (tối đa 255 ký tự ASCII in được)")))
        }
    }
}

/// Parses `/r1/INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE[/path][?query]`.
pub fn parse_target(uri: &axum::http::Uri) -> Result<(ServiceId, String), XRoadError> {
    let rest =
        uri.path().strip_prefix("/r1/").ok_or_else(|| XRoadError::bad_request("Đường dẫn phải bắt đầu bằng /r1/"))?;
    if rest.len() > 2000 {
        return Err(XRoadError::bad_request("Đường dẫn quá dài"));
    }
    let mut parts = rest.splitn(6, '/');
    let mut next = || parts.next().unwrap_or_default();
    let (i, c, m, s, svc) = (next(), next(), next(), next(), next());
    let tail = next();
    let id = ServiceId::parse(&format!("{i}/{c}/{m}/{s}/{svc}"))
        .map_err(|e| XRoadError::bad_request(format!("Mã dịch vụ không hợp lệ: {e}")))?;
    let path = format!("/{tail}");
    let segs = segments(&path).ok_or_else(|| XRoadError::bad_request("Đường dẫn có đoạn rỗng, `.` hoặc `..`"))?;
    if segs.iter().any(|s| {
        let l = s.to_ascii_lowercase();
        l.contains("%2f") || l.contains("%5c") || matches!(l.replace("%2e", ".").as_str(), "." | "..")
    }) {
        return Err(XRoadError::bad_request("Đường dẫn có đoạn mã hóa không được phép"));
    }
    Ok((id, path))
}

impl Gateway {
    /// Serves one `/r1/...` request from a local client, and counts it for monitoring.
    pub async fn mediate(&self, req: Request<Body>) -> Response {
        let (started, request_id) = (Instant::now(), uuid::Uuid::now_v7());
        let accept = header_str(req.headers(), "accept").map(str::to_owned);
        let mut seen = Seen::default();
        let result = self.mediate_inner(req, request_id, &mut seen).await;
        self.answered(started, accept, request_id, seen, result)
    }

    /// Serves one `/r1/...` request a federation peer forwarded for one of its clients, and
    /// counts it for monitoring.
    pub async fn serve_peer(&self, peer: &PeerIdentity, req: Request<Body>) -> Response {
        let (started, request_id) = (Instant::now(), uuid::Uuid::now_v7());
        let accept = header_str(req.headers(), "accept").map(str::to_owned);
        let mut seen = Seen::default();
        let result = self.serve_peer_inner(peer, req, request_id, &mut seen).await;
        self.answered(started, accept, request_id, seen, result)
    }

    /// Turns the outcome of a call into its response, and counts it.
    fn answered(
        &self,
        started: Instant,
        accept: Option<String>,
        request_id: uuid::Uuid,
        seen: Seen,
        result: Result<Response, XRoadError>,
    ) -> Response {
        let (response, error) = match result {
            Ok(r) => (r, seen.remote_error),
            Err(e) => {
                let kind = e.kind.to_owned();
                (e.with_detail(request_id.to_string()).for_accept(accept.as_deref()).into_response(), Some(kind))
            }
        };
        let outcome = crate::monitor::outcome(response.status().as_u16(), error.as_deref());
        self.monitor.record(
            chrono::Utc::now(),
            &seen.service,
            &seen.client,
            outcome,
            started.elapsed(),
            seen.bytes_in,
            seen.bytes_out,
        );
        response
    }

    fn max_body(&self) -> usize {
        self.config.max_body_kb * 1024
    }

    async fn mediate_inner(
        &self,
        req: Request<Body>,
        request_id: uuid::Uuid,
        seen: &mut Seen,
    ) -> Result<Response, XRoadError> {
        let (parts, body) = req.into_parts();
        let (service, path) = parse_target(&parts.uri)?;
        let service_text = service.to_string();
        let view = self.registry.view();
        // A caller not yet authenticated is counted under the service it named only if that
        // service exists: a stranger must not be able to make new monitoring series at will.
        if view.services.contains_key(&service) {
            seen.service.clone_from(&service_text);
        }
        let (client, credential) = authenticate(&view, &self.tokens, &parts.headers)?;
        seen.service = service_text;
        seen.client = client.to_string();
        let call =
            Call::read((service, seen.service.clone()), (client, seen.client.clone()), path, &parts, request_id)?;
        let now = chrono::Utc::now();
        let headers = forwardable(&parts.headers, Some(credential));
        if call.service.instance() != self.config.instance {
            let peer = self.federation.peer(call.service.instance()).ok_or_else(|| {
                XRoadError::new(
                    StatusCode::NOT_FOUND,
                    "Server.ClientProxy.UnknownInstance",
                    format!("Nút này không kết nối với hệ thống {}", call.service.instance()),
                )
            })?;
            if !call.service.is_metaservice() {
                self.admit(&view, &call.client, &call.service, now).await?;
            }
            let body = read_body(&parts.headers, body, self.max_body()).await?;
            seen.bytes_in = body.len() as u64;
            return self.forward(peer, &call, headers, body, seen).await;
        }
        if call.service.is_metaservice() {
            return crate::metaservices::answer(&view, &call.service, &call.client, call.query(), now);
        }
        self.provide(&view, &call, &parts.headers, headers, body, seen, None).await
    }

    async fn serve_peer_inner(
        &self,
        peer: &PeerIdentity,
        req: Request<Body>,
        request_id: uuid::Uuid,
        seen: &mut Seen,
    ) -> Result<Response, XRoadError> {
        let (parts, body) = req.into_parts();
        let (service, path) = parse_target(&parts.uri)?;
        seen.service = service.to_string();
        if service.instance() != self.config.instance {
            return Err(XRoadError::new(
                StatusCode::NOT_FOUND,
                "Server.ServerProxy.UnknownInstance",
                format!("Nút này chỉ phục vụ hệ thống {}, không chuyển tiếp sang nút khác", self.config.instance),
            ));
        }
        let client = header_str(&parts.headers, "x-road-client")
            .ok_or_else(|| XRoadError::bad_client("Thiếu X-Road-Client"))
            .and_then(|v| {
                ClientId::parse(v).map_err(|e| XRoadError::bad_client(format!("X-Road-Client không hợp lệ: {e}")))
            })?;
        seen.client = client.to_string();
        if client.instance() != peer.instance {
            tracing::warn!(target: "security", peer = %peer.name, client = %client, "federation peer called for a client of another instance");
            return Err(XRoadError::access_denied(format!(
                "Nút {} chỉ được gọi thay cho các hệ thống thuộc {}",
                peer.name, peer.instance
            )));
        }
        let call =
            Call::read((service, seen.service.clone()), (client, seen.client.clone()), path, &parts, request_id)?;
        let view = self.registry.view();
        if call.service.is_metaservice() {
            let now = chrono::Utc::now();
            return crate::metaservices::answer(&view, &call.service, &call.client, call.query(), now);
        }
        let headers = forwardable(&parts.headers, None);
        self.provide(&view, &call, &parts.headers, headers, body, seen, Some(&peer.name)).await
    }

    /// Checks the client's call limits for `service` (shared by every node through the store).
    async fn admit(
        &self,
        view: &RegistryView,
        client: &ClientId,
        service: &ServiceId,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), XRoadError> {
        let limits: Vec<_> = view
            .limits
            .get(client)
            .into_iter()
            .flatten()
            .filter(|l| l.service.as_ref().is_none_or(|s| s == service))
            .collect();
        if !limits.is_empty()
            && let Err(r) = self.limiter.admit(&limits, now).await?
        {
            let mut e = XRoadError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Client.RateLimitExceeded",
                format!("{client} đã dùng hết số lượt gọi cho phép trong một {}", window_vi(r.window)),
            );
            e.retry_after = Some(r.retry_after_secs);
            return Err(e);
        }
        Ok(())
    }

    /// Calls a provider of this node's instance for `client` (local, or a peer's when `via`
    /// names the peer): the service must be callable and granted, the client within its limits.
    #[allow(clippy::too_many_arguments)]
    async fn provide(
        &self,
        view: &RegistryView,
        call: &Call,
        incoming: &HeaderMap,
        mut headers: HeaderMap,
        body: Body,
        seen: &mut Seen,
        via: Option<&str>,
    ) -> Result<Response, XRoadError> {
        let started = Instant::now();
        let client = &call.client;
        let now = chrono::Utc::now();
        let svc = view
            .services
            .get(&call.service)
            .ok_or_else(|| XRoadError::unknown_service(format!("Không có dịch vụ {}", call.service)))?;
        let provider_ok = view.credentials.get(&call.service.provider).is_some_and(|c| c.status.callable());
        if !svc.status.callable() || !provider_ok {
            return Err(XRoadError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Server.ServerProxy.ServiceDisabled",
                format!("Dịch vụ {} đang tạm ngừng", call.service),
            ));
        }
        let segs = segments(&call.path).unwrap_or_default();
        if !cqs_domain::exchange::grant::is_allowed(
            view.grants_of(&call.service, client),
            client,
            &call.service,
            call.method.as_str(),
            &segs,
            now,
        ) {
            return Err(XRoadError::access_denied(format!(
                "{client} không có quyền gọi {} {} của dịch vụ {}",
                call.method, call.path, call.service
            )));
        }
        self.admit(view, client, &call.service, now).await?;
        let max = self.max_body();
        let body = read_body(incoming, body, max).await?;
        seen.bytes_in = body.len() as u64;
        let hash = request_hash_of(call, incoming.get(header::CONTENT_TYPE), &body);
        xroad_headers(&mut headers, call, None);
        let timeout = std::time::Duration::from_millis(svc.timeout_ms as u64);
        let out = outgoing(call, &svc.base_url, headers, &body)?;
        let answer = self.http.fetch(out, timeout, max).await.map_err(|e| provider_error(e, max))?;
        let (status, resp_body) = (answer.status, answer.body);
        let mut headers = returnable(&answer.headers);
        seen.bytes_out = resp_body.len() as u64;
        self.record(call, &hash, &body, status, &resp_body, started, via).await?;
        xroad_headers(&mut headers, call, Some(&hash));
        tracing::debug!(service = %call.service, status = status.as_u16(), us = started.elapsed().as_micros() as u64, "mediated");
        Ok(response(status, headers, resp_body))
    }

    /// Sends a call for a service of another instance to the peer node that serves it. The
    /// peer's X-Road errors come back as they are; an answer that reached the provider is
    /// logged here too, once the peer's request hash matches this node's.
    async fn forward(
        &self,
        peer: &Peer,
        call: &Call,
        mut headers: HeaderMap,
        body: Bytes,
        seen: &mut Seen,
    ) -> Result<Response, XRoadError> {
        let started = Instant::now();
        let hash = request_hash_of(call, headers.get(header::CONTENT_TYPE), &body);
        let base = format!("{}/r1/{}", peer.config.url.trim_end_matches('/'), call.service_text);
        xroad_headers(&mut headers, call, None);
        let out = outgoing(call, &base, headers, &body)?;
        let answer = peer
            .http
            .fetch(out, self.federation.timeout, self.max_body())
            .await
            .map_err(|e| peer_error(e, &peer.config.name, self.max_body()))?;
        let (status, resp_body) = (answer.status, answer.body);
        let remote_error = answer.headers.get("x-road-error").and_then(error_type);
        let remote_hash = answer.headers.get("x-road-request-hash").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let mut headers = returnable(&answer.headers);
        seen.bytes_out = resp_body.len() as u64;
        if let Some(kind) = remote_error {
            if let Ok(v) = HeaderValue::from_str(&kind) {
                headers.insert(HeaderName::from_static("x-road-error"), v);
            }
            seen.remote_error = Some(kind);
            return Ok(response(status, headers, resp_body));
        }
        if call.service.is_metaservice() {
            return Ok(response(status, headers, resp_body));
        }
        if remote_hash.as_deref() != Some(hash.as_str()) {
            tracing::warn!(target: "security", peer = %peer.config.name, "federation peer reported another request hash");
            return Err(XRoadError::new(
                StatusCode::BAD_GATEWAY,
                "Server.ClientProxy.InvalidRequestHash",
                format!("Nút {} xác nhận một yêu cầu khác với yêu cầu đã gửi", peer.config.name),
            ));
        }
        self.record(call, &hash, &body, status, &resp_body, started, Some(&peer.config.name)).await?;
        xroad_headers(&mut headers, call, Some(&hash));
        Ok(response(status, headers, resp_body))
    }

    /// Appends the exchange to the message log; the answer goes out only once its record is
    /// committed (see `log`).
    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        call: &Call,
        hash: &str,
        body: &Bytes,
        status: StatusCode,
        resp_body: &Bytes,
        started: Instant,
        peer: Option<&str>,
    ) -> Result<(), XRoadError> {
        let entry = crate::log::Entry {
            v: 1,
            node: String::new(),
            seq: 0,
            at: crate::log::record_time(chrono::Utc::now()),
            message_id: call.message_id.clone(),
            request_id: call.request_id.to_string(),
            client: call.client_text.clone(),
            service: call.service_text.clone(),
            method: call.method.as_str().to_owned(),
            path: call.path.clone(),
            user_id: call.user_id.clone(),
            issue: call.issue.clone(),
            request_hash: hash.to_owned(),
            request_body_sha256: hex::encode(sha2::Sha256::digest(body)),
            request_bytes: body.len() as u64,
            status: status.as_u16(),
            response_body_sha256: hex::encode(sha2::Sha256::digest(resp_body)),
            response_bytes: resp_body.len() as u64,
            duration_us: started.elapsed().as_micros() as u64,
            peer: peer.map(str::to_owned),
        };
        let kept = self.log.bodies.as_ref().map(|_| (body.clone(), resp_body.clone()));
        self.log.append(entry, kept).await.map_err(|_| XRoadError::database())
    }
}

/// `X-Road-Request-Hash` of a call: see `domain::exchange::chain::request_hash`.
fn request_hash_of(call: &Call, content_type: Option<&HeaderValue>, body: &[u8]) -> String {
    let line = format!("{} {}", call.method, call.target);
    let mut hs: Vec<(&str, &str)> = vec![
        ("x-road-client", &call.client_text),
        ("x-road-service", &call.service_text),
        ("x-road-id", &call.message_id),
    ];
    if let Some(u) = &call.user_id {
        hs.push(("x-road-userid", u));
    }
    if let Some(i) = &call.issue {
        hs.push(("x-road-issue", i));
    }
    if let Some(ct) = content_type.and_then(|v| v.to_str().ok()) {
        hs.push(("content-type", ct));
    }
    base64::engine::general_purpose::STANDARD.encode(request_hash(&line, &hs, body))
}

/// Sets the X-Road headers of a call: on the request sent on, and with `hash` on the answer.
fn xroad_headers(h: &mut HeaderMap, call: &Call, hash: Option<&str>) {
    let mut set = |name: &'static str, v: &str| {
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert(HeaderName::from_static(name), v);
        }
    };
    set("x-road-client", &call.client_text);
    set("x-road-service", &call.service_text);
    set("x-road-id", &call.message_id);
    if let Some(u) = &call.user_id {
        set("x-road-userid", u);
    }
    if let Some(i) = &call.issue {
        set("x-road-issue", i);
    }
    if let Some(hash) = hash {
        set("x-road-request-id", &call.request_id.to_string());
        set("x-road-request-hash", hash);
    }
}

fn window_vi(w: cqs_domain::exchange::quota::Window) -> &'static str {
    use cqs_domain::exchange::quota::Window::*;
    match w {
        Second => "giây",
        Minute => "phút",
        Hour => "giờ",
        Day => "ngày",
        Month => "tháng",
    }
}

fn too_large(max: usize) -> XRoadError {
    XRoadError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Client.MessageTooLarge",
        format!("Nội dung vượt quá {} KB cho phép", max / 1024),
    )
}

fn response_too_large(max: usize) -> XRoadError {
    XRoadError::new(
        StatusCode::BAD_GATEWAY,
        "Server.ServerProxy.ServiceFailed.ResponseTooLarge",
        format!("Câu trả lời của hệ thống cung cấp vượt quá {} KB", max / 1024),
    )
}

fn peer_error(e: FetchError, peer: &str, max: usize) -> XRoadError {
    match e {
        FetchError::Timeout => XRoadError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "Server.ClientProxy.Timeout",
            format!("Nút {peer} không trả lời kịp"),
        ),
        FetchError::TooLarge => response_too_large(max),
        FetchError::Network(e) => {
            tracing::warn!(error = %e, peer, "federation peer unreachable");
            XRoadError::new(
                StatusCode::BAD_GATEWAY,
                "Server.ClientProxy.NetworkError",
                format!("Không kết nối được nút {peer}"),
            )
        }
    }
}

fn provider_error(e: FetchError, max: usize) -> XRoadError {
    match e {
        FetchError::Timeout => XRoadError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "Server.ServerProxy.ServiceFailed.Timeout",
            "Hệ thống cung cấp không trả lời kịp",
        ),
        FetchError::TooLarge => response_too_large(max),
        FetchError::Network(e) => {
            tracing::warn!(error = %e, "provider unreachable");
            XRoadError::new(
                StatusCode::BAD_GATEWAY,
                "Server.ServerProxy.NetworkError",
                "Không kết nối được hệ thống cung cấp",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_parsed_strictly() {
        let p = |s: &str| parse_target(&s.parse().unwrap());
        let (id, path) = p("/r1/VN-LH/GOV/000.00.05.H99/ho-tich/khai-sinh/ban-sao/1?x=1").unwrap();
        assert_eq!(
            (id.to_string().as_str(), path.as_str()),
            ("VN-LH/GOV/000.00.05.H99/ho-tich/khai-sinh", "/ban-sao/1")
        );
        assert_eq!(p("/r1/VN-LH/GOV/000.00.05.H99/ho-tich/khai-sinh").unwrap().1, "/");
        assert!(p("/r1/VN-LH/GOV/000.00.05.H99/ho-tich").is_err());
        assert!(p("/r1/VN-LH/GOV/000.00.05.H99/ho-tich/khai-sinh/../x").is_err());
        assert!(p("/r1/VN-LH/GOV/000.00.05.H99/ho-tich/khai-sinh/%2e%2E/x").is_err());
        assert!(p("/r1/VN-LH/GOV/000.00.05.H99/ho-tich/khai-sinh/a%2Fb").is_err());
        assert!(p("/r1/VN-LH/GOV/SO/ho-tich/khai-sinh").is_err(), "GOV members need agency codes");
    }
}
