//! One mediated call (PR-REST): parse the service id from the path, authenticate the client,
//! route to a local provider (or, for another instance, to its peer node), check the grant and the
//! client's limits, forward the request with the X-Road headers, and answer with the provider's
//! response plus `X-Road-Client`, `X-Road-Service`, `X-Road-Id`, `X-Road-Request-Id` and
//! `X-Road-Request-Hash`. Failures inside the platform are X-Road errors; the provider's own
//! answers, errors included, pass through untouched.

use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use cqs_domain::exchange::chain::request_hash;
use cqs_domain::exchange::endpoint::segments;
use cqs_domain::exchange::{ClientId, ServiceId};
use sha2::Digest;

use crate::Gateway;
use crate::credentials::{CredentialKind, authenticate};
use crate::error::XRoadError;

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
}

/// What the gateway knows about a call once it is parsed (also what the message log records).
#[derive(Debug, Clone)]
pub struct Call {
    pub service: ServiceId,
    /// The path after the service code, starting with `/`.
    pub path: String,
    pub query: Option<String>,
    pub method: Method,
    pub message_id: String,
    pub request_id: uuid::Uuid,
    pub user_id: Option<String>,
    pub issue: Option<String>,
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
        let started = Instant::now();
        let accept = header_str(req.headers(), "accept").map(str::to_owned);
        let request_id = uuid::Uuid::now_v7();
        let mut seen = Seen::default();
        let (response, error) = match self.mediate_inner(req, request_id, &mut seen).await {
            Ok(r) => (r, None),
            Err(e) => {
                let kind = e.kind;
                (e.with_detail(request_id.to_string()).for_accept(accept.as_deref()).into_response(), Some(kind))
            }
        };
        let outcome = crate::monitor::outcome(response.status().as_u16(), error);
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

    async fn mediate_inner(
        &self,
        req: Request<Body>,
        request_id: uuid::Uuid,
        seen: &mut Seen,
    ) -> Result<Response, XRoadError> {
        let started = Instant::now();
        let (parts, body) = req.into_parts();
        let (service, path) = parse_target(&parts.uri)?;
        seen.service = service.to_string();
        let view = self.registry.view();
        let (client, credential) = authenticate(&view, &self.tokens, &parts.headers)?;
        seen.client = client.to_string();
        let call = Call {
            message_id: client_value(&parts.headers, "x-road-id")?.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            user_id: client_value(&parts.headers, "x-road-userid")?,
            issue: client_value(&parts.headers, "x-road-issue")?,
            service,
            path,
            query: parts.uri.query().map(str::to_owned),
            method: parts.method.clone(),
            request_id,
        };
        let now = chrono::Utc::now();
        if call.service.is_metaservice() {
            return crate::metaservices::answer(&view, &call.service, &client, call.query.as_deref(), now);
        }
        if call.service.instance() != self.config.instance {
            return Err(XRoadError::new(
                StatusCode::NOT_FOUND,
                "Server.ClientProxy.UnknownInstance",
                format!("Nút này không kết nối với hệ thống {}", call.service.instance()),
            ));
        }
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
            view.grants_of(&call.service, &client),
            &client,
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
        let limits: Vec<_> = view
            .limits
            .get(&client)
            .into_iter()
            .flatten()
            .filter(|l| l.service.as_ref().is_none_or(|s| s == &call.service))
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
        let max = self.config.max_body_kb * 1024;
        if parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
            .is_some_and(|n| n > max)
        {
            return Err(too_large(max));
        }
        let body = axum::body::to_bytes(body, max).await.map_err(|_| too_large(max))?;
        seen.bytes_in = body.len() as u64;
        let hash = self.request_hash(&call, &client, parts.headers.get(header::CONTENT_TYPE), &body);
        let url = format!(
            "{}{}{}",
            svc.base_url,
            call.path,
            call.query.as_ref().map(|q| format!("?{q}")).unwrap_or_default()
        );
        let mut out = reqwest::Request::new(
            reqwest::Method::from_bytes(call.method.as_str().as_bytes())
                .map_err(|_| XRoadError::bad_request("Phương thức không hợp lệ"))?,
            reqwest::Url::parse(&url).map_err(|_| XRoadError::internal())?,
        );
        *out.timeout_mut() = Some(std::time::Duration::from_millis(svc.timeout_ms as u64));
        let h = out.headers_mut();
        for (name, value) in &parts.headers {
            let n = name.as_str();
            let credential_header = match credential {
                CredentialKind::Secret => n == "x-secretkey" || n == "x-systemid",
                CredentialKind::Bearer => n == "authorization",
            };
            if !FILTERED.contains(&n) && !credential_header && !n.starts_with("x-road-") && n != "user-agent" {
                h.append(name.clone(), value.clone());
            }
        }
        self.xroad_headers(h, &call, &client, None);
        let res = self.http.execute(out).await.map_err(provider_error)?;
        let status = res.status();
        let mut headers = HeaderMap::new();
        for (name, value) in res.headers() {
            let n = name.as_str();
            if !FILTERED.contains(&n) && !n.starts_with("x-road-") {
                headers.append(name.clone(), value.clone());
            }
        }
        let resp_body = read_limited(res, max).await?;
        seen.bytes_out = resp_body.len() as u64;
        let entry = crate::log::Entry {
            v: 1,
            node: String::new(),
            seq: 0,
            at: crate::log::record_time(chrono::Utc::now()),
            message_id: call.message_id.clone(),
            request_id: call.request_id.to_string(),
            client: client.to_string(),
            service: call.service.to_string(),
            method: call.method.to_string(),
            path: call.path.clone(),
            user_id: call.user_id.clone(),
            issue: call.issue.clone(),
            request_hash: hash.clone(),
            request_body_sha256: hex::encode(sha2::Sha256::digest(&body)),
            request_bytes: body.len() as u64,
            status: status.as_u16(),
            response_body_sha256: hex::encode(sha2::Sha256::digest(&resp_body)),
            response_bytes: resp_body.len() as u64,
            duration_us: started.elapsed().as_micros() as u64,
        };
        // The answer goes out only once its record is committed (see `log`).
        self.log.append(entry).await.map_err(|_| XRoadError::database())?;
        self.xroad_headers(&mut headers, &call, &client, Some(&hash));
        tracing::debug!(service = %call.service, status = status.as_u16(), us = started.elapsed().as_micros() as u64, "mediated");
        let mut response = Response::new(Body::from(resp_body));
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        Ok(response)
    }

    /// `X-Road-Request-Hash` of a call: see `domain::exchange::chain::request_hash`.
    pub fn request_hash(
        &self,
        call: &Call,
        client: &ClientId,
        content_type: Option<&HeaderValue>,
        body: &[u8],
    ) -> String {
        let line = format!(
            "{} {}{}",
            call.method,
            call.path,
            call.query.as_ref().map(|q| format!("?{q}")).unwrap_or_default()
        );
        let client = client.to_string();
        let service = call.service.to_string();
        let mut hs: Vec<(&str, &str)> =
            vec![("x-road-client", &client), ("x-road-service", &service), ("x-road-id", &call.message_id)];
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

    fn xroad_headers(&self, h: &mut HeaderMap, call: &Call, client: &ClientId, hash: Option<&str>) {
        let mut set = |name: &'static str, v: &str| {
            if let Ok(v) = HeaderValue::from_str(v) {
                h.insert(HeaderName::from_static(name), v);
            }
        };
        set("x-road-client", &client.to_string());
        set("x-road-service", &call.service.to_string());
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

fn provider_error(e: reqwest::Error) -> XRoadError {
    if e.is_timeout() {
        XRoadError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "Server.ServerProxy.ServiceFailed.Timeout",
            "Hệ thống cung cấp không trả lời kịp",
        )
    } else {
        tracing::warn!(error = %e, "provider unreachable");
        XRoadError::new(
            StatusCode::BAD_GATEWAY,
            "Server.ServerProxy.NetworkError",
            "Không kết nối được hệ thống cung cấp",
        )
    }
}

/// Reads a provider's answer, refusing one larger than `max`.
async fn read_limited(mut res: reqwest::Response, max: usize) -> Result<Bytes, XRoadError> {
    let big = || {
        XRoadError::new(
            StatusCode::BAD_GATEWAY,
            "Server.ServerProxy.ServiceFailed.ResponseTooLarge",
            format!("Câu trả lời của hệ thống cung cấp vượt quá {} KB", max / 1024),
        )
    };
    if res.content_length().is_some_and(|n| n as usize > max) {
        return Err(big());
    }
    let mut buf = Vec::with_capacity(res.content_length().unwrap_or(0) as usize);
    while let Some(chunk) = res.chunk().await.map_err(provider_error)? {
        if buf.len() + chunk.len() > max {
            return Err(big());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buf))
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
