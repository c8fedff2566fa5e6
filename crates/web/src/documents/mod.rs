//! Documents a node produces: the one-stop forms of a dossier (and a unit's register) as PDF/A,
//! laid out by `cqs-documents` off the async runtime.

pub mod forms;
pub mod results;
pub mod verify;

use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use cqs_documents::{FormSet, FormSets, FormSpec, Renderer};

use crate::error::ApiError;

/// What the forms need: the renderer with its fonts, the form sets in force by date, and the
/// public address of the portal for the QR codes.
#[derive(Clone)]
pub struct Documents {
    renderer: Renderer,
    pub form_sets: Arc<FormSets>,
    public_url: Arc<str>,
}

impl Documents {
    /// `public_url` is where citizens reach the portal (e.g. `https://dichvucong.example.vn`);
    /// `fonts` an optional folder with a licensed Times New Roman.
    pub fn new(public_url: &str, fonts: Option<&Path>) -> Result<Self, cqs_documents::RenderError> {
        Ok(Self {
            renderer: Renderer::new(fonts)?,
            form_sets: Arc::new(FormSets::embedded()),
            public_url: public_url.trim_end_matches('/').into(),
        })
    }

    /// Where citizens reach the portal, without a trailing slash.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The public lookup page of a dossier, which the forms' QR codes open.
    pub fn lookup_url(&self, code: &str) -> String {
        format!("{}/tra-cuu?ma={code}", self.public_url)
    }

    /// Lays out a form on a blocking thread (typst is CPU-bound).
    pub async fn render(
        &self,
        set: &FormSet,
        form: &FormSpec,
        data: serde_json::Value,
        lookup_url: String,
        date: NaiveDate,
    ) -> Result<Vec<u8>, ApiError> {
        let (renderer, set, form) = (self.renderer.clone(), set.clone(), form.clone());
        tokio::task::spawn_blocking(move || renderer.render(&set, &form, data, &lookup_url, date))
            .await
            .map_err(|_| ApiError::internal())?
            .map_err(|e| {
                tracing::error!(error = %e, "rendering a form failed");
                ApiError::internal()
            })
    }
}

impl Documents {
    /// Lays out a dossier's result document on a blocking thread.
    pub async fn render_result(
        &self,
        data: serde_json::Value,
        lookup_url: String,
        date: NaiveDate,
    ) -> Result<Vec<u8>, ApiError> {
        let renderer = self.renderer.clone();
        tokio::task::spawn_blocking(move || renderer.render_result(data, &lookup_url, date))
            .await
            .map_err(|_| ApiError::internal())?
            .map_err(|e| {
                tracing::error!(error = %e, "rendering a result failed");
                ApiError::internal()
            })
    }
}

impl Default for Documents {
    fn default() -> Self {
        Self::new("http://127.0.0.1:8080", None).expect("the shipped fonts load")
    }
}
