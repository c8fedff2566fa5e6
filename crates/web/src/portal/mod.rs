//! The citizen portal (Cổng dịch vụ công): find a procedure, read what it needs, look a dossier
//! up by its code, and for a signed-in citizen, follow their own dossiers ("Hồ sơ của tôi"). Handlers are thin: they call the same catalog search and lookup the API uses
//! and turn the answer into a page.

mod catalog;
mod lookup;
pub mod mine;
pub mod rating;
mod submit;
mod verify;

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;

use crate::AppState;

/// Percent-encodes a query value for a link (space as `+`).
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else if b == b' ' {
                "+".to_owned()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Routes of the public portal (no sign-in needed).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(catalog::home))
        .route("/thu-tuc", get(catalog::search))
        .route("/thu-tuc/{code}", get(catalog::procedure))
        .route("/co-quan", get(catalog::agencies))
        .route("/tra-cuu", get(lookup::lookup))
        .route(mine::MINE, get(mine::list))
        .route("/nop-ho-so/{code}", get(submit::show).post(submit::answer))
        // The handler limits each file and the draft's total; this lifts axum's 2 MB default.
        .route(
            "/nop-ho-so/{code}/giay-to",
            axum::routing::post(submit::documents).layer(axum::extract::DefaultBodyLimit::max(256 * 1024 * 1024)),
        )
        .route("/nop-ho-so/{code}/giay-to/{id}/xoa", axum::routing::post(submit::remove_file))
        .route("/nop-ho-so/{code}/xoa-nhap", axum::routing::post(submit::discard))
        .route("/nop-ho-so/{code}/nop", axum::routing::post(submit::submit))
        .route("/ho-so-cua-toi/{code}/da-nop", get(submit::submitted))
        .route("/ho-so-cua-toi/{code}", get(mine::dossier))
        .route("/ho-so-cua-toi/{code}/ket-qua/{id}", get(mine::result))
        .route("/ho-so-cua-toi/{code}/danh-gia", axum::routing::post(rating::rate))
        // The handler limits each file to the attachment limit; this lifts axum's 2 MB default.
        .route(
            "/ho-so-cua-toi/{code}/bo-sung",
            axum::routing::post(mine::supply).layer(axum::extract::DefaultBodyLimit::max(256 * 1024 * 1024)),
        )
        // The upload is limited by the handler (the attachment limit); this only lifts axum's
        // default 2 MB cap on the body.
        .route(
            "/xac-thuc",
            get(verify::form).post(verify::submit).layer(axum::extract::DefaultBodyLimit::max(256 * 1024 * 1024)),
        )
}

/// How long a node reuses the "most used procedures" count before asking the store again. The
/// count changes slowly and costs a scan of recent dossiers, so each node keeps its own copy.
const USAGE_TTL: Duration = Duration::from_secs(600);

/// The most used procedures, counted over the last year, cached per node for [`USAGE_TTL`].
#[derive(Clone, Default)]
pub struct UsageCache(Arc<RwLock<Option<(Instant, Usage)>>>);

/// Procedure codes with their dossier counts, most used first.
pub type Usage = Arc<Vec<(String, i64)>>;

impl UsageCache {
    pub async fn get(&self, state: &AppState) -> Result<Usage, crate::error::ApiError> {
        if let Some((at, v)) = self.0.read().expect("usage cache lock").as_ref()
            && at.elapsed() < USAGE_TTL
        {
            return Ok(v.clone());
        }
        let since = state.clock.now() - chrono::Duration::days(365);
        let counts = Arc::new(state.store.procedure_counts(since, 8).await?);
        *self.0.write().expect("usage cache lock") = Some((Instant::now(), counts.clone()));
        Ok(counts)
    }
}
