//! The HTTP client a node sends calls on: to a provider, or to a peer node over mutual TLS.
//! It is hyper's pooled HTTP/1.1 client with rustls, used directly. A mediated call needs none
//! of a general client's layers (redirects, retries, cookies, proxy discovery), and a target
//! given as an `http::Uri` is not parsed again as a WHATWG URL with IDNA on every call; in the
//! profile of one node those layers took about a tenth of its time (docs/benchmarks.md).

use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

/// An answer read whole: status, headers and body.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Why a call got no answer.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("no answer within the time allowed")]
    Timeout,
    #[error("the answer is larger than allowed")]
    TooLarge,
    #[error("{0}")]
    Network(String),
}

/// How the client connects.
pub struct Settings {
    pub connect_timeout: Duration,
    pub idle_per_host: usize,
    pub idle_timeout: Duration,
    /// Refuse plain `http://` targets (peer nodes are reached over TLS only).
    pub https_only: bool,
}

pub struct Upstream {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Upstream {
    /// A client with `tls` for `https://` targets. `tls.alpn_protocols` must be empty: the
    /// connector offers HTTP/1.1 itself.
    pub fn new(tls: rustls::ClientConfig, s: &Settings) -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(s.connect_timeout));
        let tls = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls);
        let https =
            if s.https_only { tls.https_only() } else { tls.https_or_http() }.enable_http1().wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(s.idle_per_host)
            .pool_idle_timeout(s.idle_timeout)
            .pool_timer(TokioTimer::new())
            .build(https);
        Self { client }
    }

    /// Sends `req` and reads the answer whole, at most `max` bytes of body, all within `timeout`.
    pub async fn fetch(&self, req: Request<Full<Bytes>>, timeout: Duration, max: usize) -> Result<Answer, FetchError> {
        tokio::time::timeout(timeout, self.exchange(req, max)).await.map_err(|_| FetchError::Timeout)?
    }

    async fn exchange(&self, req: Request<Full<Bytes>>, max: usize) -> Result<Answer, FetchError> {
        let res = self.client.request(req).await.map_err(|e| FetchError::Network(describe(&e)))?;
        let declared =
            res.headers().get(axum::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > max as u64) {
            return Err(FetchError::TooLarge);
        }
        let (parts, body) = res.into_parts();
        let body = Limited::new(body, max).collect().await.map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                FetchError::TooLarge
            } else {
                FetchError::Network(e.to_string())
            }
        })?;
        Ok(Answer { status: parts.status, headers: parts.headers, body: body.to_bytes() })
    }
}

/// The error and its causes on one line (hyper's own message alone is often just "client error").
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// `base` (a service's base URL, or a peer's) followed by `target` (`/path?query`).
pub fn target_uri(base: &str, target: &str) -> Result<Uri, axum::http::uri::InvalidUri> {
    let mut s = String::with_capacity(base.len() + target.len());
    s.push_str(base.trim_end_matches('/'));
    s.push_str(target);
    s.parse()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_join_their_base_with_one_slash() {
        let u = |b: &str, t: &str| target_uri(b, t).unwrap().to_string();
        assert_eq!(u("http://127.0.0.1:8080/api", "/khai-sinh/1?x=2"), "http://127.0.0.1:8080/api/khai-sinh/1?x=2");
        assert_eq!(u("http://127.0.0.1:8080/api/", "/khai-sinh"), "http://127.0.0.1:8080/api/khai-sinh");
        assert_eq!(u("https://so-tu-phap.example.vn", "/"), "https://so-tu-phap.example.vn/");
        assert!(target_uri("http://a b", "/").is_err());
    }
}
