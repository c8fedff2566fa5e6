//! Official forms as PDF/A-2b, laid out by typst (used as a library, pinned at 0.15.1) with the
//! fonts embedded. A form is a template (templates/*.typ, embedded) plus data passed through
//! `sys.inputs` as JSON: the platform never builds markup from strings, so an applicant's name
//! cannot inject anything. Each form carries the dossier code as text and as a QR code opening
//! the public lookup page.
//!
//! Rendering is CPU-bound: call [`Renderer::render`] from `spawn_blocking`.

pub mod forms;
pub mod sign;
mod templates;
pub mod verify;
mod world;

use std::path::Path;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use typst::foundations::{Datetime, Dict, IntoValue, Str};
use typst::text::Font;
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards, Timestamp};

pub use forms::{FormKind, FormSet, FormSets, FormSpec, Paper};

use crate::world::{Fonts, FormWorld};

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("không dựng được biểu mẫu: {0}")]
    Template(String),
    #[error("không tạo được PDF/A: {0}")]
    Pdf(String),
    #[error("không tạo được mã QR: {0}")]
    Qr(String),
    #[error("lỗi đọc phông chữ: {0}")]
    Font(String),
}

/// Lower-case hexadecimal, as the store keeps hashes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where the result template leaves room for the visible signature: 85 × 32 mm at the bottom
/// right of the last A4 page's text area (margins 15 mm right, 20 mm bottom), in PDF points
/// from the lower-left corner.
pub const RESULT_SIGNATURE_RECT: [f32; 4] = [311.8, 56.7, 552.8, 147.4];

/// The family forms are set in: Times New Roman when an operator installed it, else the
/// metric-compatible Liberation Serif we ship.
const PREFERRED: &str = "Times New Roman";
const SHIPPED: &str = "Liberation Serif";

/// Renders forms. Cheap to clone; fonts are loaded once.
#[derive(Clone)]
pub struct Renderer {
    fonts: Arc<Fonts>,
    family: &'static str,
}

impl Renderer {
    /// The shipped fonts, plus any `.ttf`/`.otf` in `extra_fonts` (for a licensed Times New Roman).
    pub fn new(extra_fonts: Option<&Path>) -> Result<Self, RenderError> {
        let mut fonts: Vec<Font> =
            templates::EMBEDDED_FONTS.iter().flat_map(|b| Font::iter(typst::foundations::Bytes::new(*b))).collect();
        if let Some(dir) = extra_fonts.filter(|d| d.is_dir()) {
            let entries = std::fs::read_dir(dir).map_err(|e| RenderError::Font(format!("{}: {e}", dir.display())))?;
            for e in entries.flatten() {
                let p = e.path();
                let ext = p.extension().and_then(|x| x.to_str()).unwrap_or_default().to_ascii_lowercase();
                if matches!(ext.as_str(), "ttf" | "otf" | "ttc") {
                    let bytes = std::fs::read(&p).map_err(|e| RenderError::Font(format!("{}: {e}", p.display())))?;
                    fonts.extend(Font::iter(typst::foundations::Bytes::new(bytes)));
                }
            }
        }
        let fonts = Fonts::new(fonts);
        let family = if fonts.has_family(PREFERRED) { PREFERRED } else { SHIPPED };
        Ok(Self { fonts: Arc::new(fonts), family })
    }

    /// The font family forms are set in.
    pub fn family(&self) -> &'static str {
        self.family
    }

    /// Renders `form` of `set` with `data` (the form's content, see templates/), dated `date`,
    /// its QR code opening `lookup_url`. Returns a PDF/A-2b document.
    pub fn render(
        &self,
        set: &FormSet,
        form: &FormSpec,
        mut data: serde_json::Value,
        lookup_url: &str,
        date: NaiveDate,
    ) -> Result<Vec<u8>, RenderError> {
        let obj =
            data.as_object_mut().ok_or_else(|| RenderError::Template("dữ liệu biểu mẫu phải là đối tượng".into()))?;
        obj.insert("title".into(), form.title.clone().into());
        obj.insert("paper".into(), serde_json::to_value(form.paper).expect("paper"));
        obj.insert("extension".into(), (form.kind == FormKind::Extension).into());
        obj.insert(
            "set".into(),
            serde_json::json!({
                "code": set.code,
                "legal_basis": set.legal_basis,
                "form_label": format!("Mẫu số {}", form.number),
            }),
        );
        self.compile(forms::template(form.kind), data, lookup_url, date)
    }

    /// Renders a dossier's electronic result (templates/result.typ, A4): `data` holds `title`,
    /// `header`, `dossier` and `result` (see the template). The visible signature goes in the
    /// box the template leaves at [`RESULT_SIGNATURE_RECT`].
    pub fn render_result(
        &self,
        mut data: serde_json::Value,
        lookup_url: &str,
        date: NaiveDate,
    ) -> Result<Vec<u8>, RenderError> {
        let obj =
            data.as_object_mut().ok_or_else(|| RenderError::Template("dữ liệu văn bản phải là đối tượng".into()))?;
        obj.insert("paper".into(), "a4".into());
        obj.insert("set".into(), serde_json::json!({"code": "", "legal_basis": "", "form_label": ""}));
        self.compile("result.typ", data, lookup_url, date)
    }

    fn compile(
        &self,
        template: &'static str,
        mut data: serde_json::Value,
        lookup_url: &str,
        date: NaiveDate,
    ) -> Result<Vec<u8>, RenderError> {
        let obj = data.as_object_mut().expect("checked by the callers");
        obj.insert("font".into(), self.family.into());
        obj.insert("lookup_url".into(), lookup_url.into());
        let qr = qrcode::QrCode::new(lookup_url.as_bytes()).map_err(|e| RenderError::Qr(e.to_string()))?;
        let svg = qr.render::<qrcode::render::svg::Color<'_>>().min_dimensions(160, 160).quiet_zone(true).build();
        let mut inputs = Dict::new();
        inputs.insert(Str::from("data"), Str::from(data.to_string()).into_value());
        inputs.insert(Str::from("qr"), Str::from(svg).into_value());
        let world = FormWorld::new(template, inputs, self.fonts.clone());
        let result = typst::compile::<PagedDocument>(&world).output;
        let out = result
            .map_err(|errs| {
                RenderError::Template(errs.iter().map(|e| e.message.to_string()).collect::<Vec<_>>().join("; "))
            })
            .and_then(|doc| {
                let standards =
                    PdfStandards::new(&[PdfStandard::A_2b]).map_err(|e| RenderError::Pdf(e.message().to_string()))?;
                let stamp = Datetime::from_ymd(date.year(), date.month() as u8, date.day() as u8)
                    .ok_or_else(|| RenderError::Pdf("ngày không hợp lệ".into()))?;
                let options = PdfOptions {
                    ident: typst::foundations::Smart::Auto,
                    timestamp: Some(Timestamp::new_utc(stamp)),
                    standards,
                    ..Default::default()
                };
                typst_pdf::pdf(&doc, &options).map_err(|errs| {
                    RenderError::Pdf(errs.iter().map(|e| e.message.to_string()).collect::<Vec<_>>().join("; "))
                })
            });
        // typst memoizes across compilations; drop what recent renders did not reuse.
        comemo::evict(10);
        out
    }
}
