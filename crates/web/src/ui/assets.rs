//! Static assets (CSS, the vendored htmx, our small script, icons) compiled into the binary from
//! `web/static`. Pages link them with a content hash in the query string, so a browser may keep
//! them for a year and still fetches a new file the moment it changes; `ETag` answers
//! revalidation with 304.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::extract::{Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(rust_embed::Embed)]
#[folder = "../../web/static"]
struct Static;

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        _ => "text/plain; charset=utf-8",
    }
}

/// The first 16 hex digits of each file's SHA-256.
fn versions() -> &'static HashMap<String, String> {
    static V: OnceLock<HashMap<String, String>> = OnceLock::new();
    V.get_or_init(|| {
        Static::iter()
            .filter_map(|p| {
                let f = Static::get(&p)?;
                Some((p.to_string(), hex::encode(&f.metadata.sha256_hash()[..8])))
            })
            .collect()
    })
}

/// The URL of an asset with its content version, e.g. `/static/app.css?v=1a2b…`.
pub fn url(path: &str) -> String {
    match versions().get(path) {
        Some(v) => format!("/static/{path}?v={v}"),
        None => {
            tracing::error!(path, "page links a missing static asset");
            format!("/static/{path}")
        }
    }
}

/// The asset URLs every page links, computed once.
pub struct AssetUrls {
    pub css: String,
    pub htmx: String,
    pub js: String,
}

pub fn urls() -> &'static AssetUrls {
    static U: OnceLock<AssetUrls> = OnceLock::new();
    U.get_or_init(|| AssetUrls { css: url("app.css"), htmx: url("vendor/htmx.min.js"), js: url("app.js") })
}

#[derive(Deserialize)]
pub struct VersionParam {
    v: Option<String>,
}

/// `GET /static/{*path}`.
pub async fn serve(Path(path): Path<String>, Query(q): Query<VersionParam>, headers: HeaderMap) -> Response {
    let (Some(file), Some(version)) = (Static::get(&path), versions().get(&path)) else {
        return crate::ui::PageError::not_found().into_response();
    };
    let etag = format!("\"{version}\"");
    let cache =
        if q.v.as_deref() == Some(version.as_str()) { "public, max-age=31536000, immutable" } else { "no-cache" };
    let mut res = if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type(&path))], file.data.into_owned()).into_response()
    };
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    res
}
