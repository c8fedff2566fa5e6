//! Signed electronic results: when the result of a dossier is recorded, the deciding agency's
//! result document is laid out (PDF/A), signed with that agency's certificate as PAdES (B-T when
//! a timestamp authority is configured, else B-B) and kept with the action that issued it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use cqs_documents::sign::{Placement, block_lines, sign_pdf};
use cqs_domain::forms::{date_text, time_text};
use cqs_domain::org::OrgUnit;
use cqs_pki::tsp::TsaClient;
use cqs_pki::{CertificateDer, CertificateInfo, KeySource, PkiError, SharedSigner};
use cqs_store::NewIssuedDocument;
use cqs_store::files::PendingFile;
use serde_json::json;
use uuid::Uuid;

use crate::AppState;
use crate::api::workflow::Context;
use crate::error::ApiError;

/// How a node signs what it issues, and which roots it trusts when it verifies.
#[derive(Default)]
pub struct Signing {
    /// Configured keys by the agency code they sign for.
    keys: HashMap<String, SharedSigner>,
    /// A development CA that issues a key to any unit without one (the demo and tests only).
    dev_ca: Option<(PathBuf, String)>,
    issued: Mutex<HashMap<String, SharedSigner>>,
    pub tsa: Option<TsaClient>,
    /// Roots a signature must chain to be called trusted.
    pub trust: Vec<CertificateDer<'static>>,
}

impl Signing {
    /// Keys from configuration (each checked by a test signature as it loads), an optional
    /// timestamp authority, and the trusted roots.
    pub fn new(
        keys: &HashMap<String, KeySource>,
        tsa: Option<TsaClient>,
        trust: Vec<CertificateDer<'static>>,
    ) -> Result<Self, PkiError> {
        let keys = keys
            .iter()
            .map(|(code, source)| {
                source.load().map(|k| (code.clone(), k)).map_err(|e| PkiError::Invalid(format!("khóa của {code}: {e}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { keys, tsa, trust, ..Default::default() })
    }

    /// Also sign for every unit without a configured key with certificates from the
    /// development CA in `dir` (created if missing), whose root becomes trusted. For the demo
    /// and tests: these certificates mean nothing outside them.
    pub fn with_dev_ca(mut self, dir: PathBuf, province: &str) -> Result<Self, PkiError> {
        let (ca, _) = cqs_pki::devca::DevCa::open_or_create(&dir, province)?;
        self.trust.push(ca.root()?);
        self.dev_ca = Some((dir, province.to_owned()));
        Ok(self)
    }

    /// The key that signs for `unit`, if this node has one. Blocking (files, key generation).
    pub fn signer_for(&self, unit: &OrgUnit) -> Result<Option<SharedSigner>, PkiError> {
        if let Some(k) = self.keys.get(unit.code.as_str()) {
            return Ok(Some(k.clone()));
        }
        let Some((dir, province)) = &self.dev_ca else { return Ok(None) };
        let mut issued = self.issued.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(k) = issued.get(unit.code.as_str()) {
            return Ok(Some(k.clone()));
        }
        let (ca, _) = cqs_pki::devca::DevCa::open_or_create(dir, province)?;
        let files = ca.issue_agency(
            &cqs_pki::devca::AgencySpec { code: unit.code.to_string(), name: unit.name.clone() },
            province,
        )?;
        let key = KeySource::Pem { certificate: files.chain_pem, key: files.key_pem }.load()?;
        issued.insert(unit.code.to_string(), key.clone());
        Ok(Some(key))
    }
}

/// A signed result ready to be recorded with its action: the row, and its file written under
/// pending/ (promoted after the commit, discarded if the action fails).
pub struct IssuedResult {
    pub record: NewIssuedDocument,
    pub file: PendingFile,
}

/// Lays out and signs the result of the dossier in `ctx` as its deciding agency, at `now`.
/// `None` when this node has no key for that agency: the result is then recorded without an
/// electronic document (as a paper result would be).
pub async fn issue(
    state: &AppState,
    ctx: &Context,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<IssuedResult>, ApiError> {
    let d = &ctx.dossier;
    let spec = &ctx.version.spec;
    let units: HashMap<Uuid, OrgUnit> = state.store.org_units().await?.into_iter().map(|u| (u.id, u)).collect();
    let unit = units.get(&ctx.units.deciding).ok_or_else(ApiError::internal)?.clone();
    let signing = state.signing.clone();
    let who = unit.clone();
    let signer = tokio::task::spawn_blocking(move || signing.signer_for(&who))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|e| {
            tracing::error!(error = %e, unit = %unit.code, "the agency's signing key is unusable");
            ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "signing_unavailable",
                "Chưa ký số được kết quả: khóa ký của cơ quan không dùng được, vui lòng báo quản trị hệ thống",
            )
        })?;
    let Some(signer) = signer else {
        tracing::info!(unit = %unit.code, "no signing key for the deciding unit: result recorded without an electronic document");
        return Ok(None);
    };
    let history = state.store.history(d.id).await?;
    let approver = match history.iter().rev().find(|e| e.action == "approve").and_then(|e| e.actor.id) {
        Some(id) => state.store.user_by_id(id).await?.map(|u| u.full_name),
        None => None,
    };
    let parent = unit.parent_id.and_then(|p| units.get(&p));
    let seq = d.code.as_str().rsplit('-').next().unwrap_or_default();
    let content = note
        .filter(|n| !n.trim().is_empty())
        .map_or_else(|| "Hồ sơ đã được giải quyết xong theo quy định.".to_owned(), str::to_owned);
    let channels: Vec<&str> = spec.return_channels.iter().map(|c| c.label_vi()).collect();
    let data = json!({
        "title": "Kết quả giải quyết thủ tục hành chính",
        "header": super::forms::header(&unit, parent, format!("Số: {seq}/KQGQ"), cqs_domain::dossier::local_date(now)),
        "dossier": {
            "code": d.code.as_str(),
            "procedure_name": spec.name,
            "applicant_name": d.applicant.name,
            "applicant_identity": d.applicant.identity_number,
            "received_text": time_text(d.received_at),
        },
        "result": {
            "name": spec.result.name,
            "content": content,
            "approver": approver.map_or_else(|| format!("Lãnh đạo {}", unit.name), |n| format!("{n}, lãnh đạo {}", unit.name)),
            "channels": if channels.is_empty() { "Theo quy định".to_owned() } else { channels.join("; ") },
            "verify_url": format!("{}/xac-thuc", state.documents.public_url()),
        },
    });
    let lookup = state.documents.lookup_url(d.code.as_str());
    let pdf = state.documents.render_result(data, lookup, cqs_domain::dossier::local_date(now)).await?;
    let lines = block_lines(signer.as_ref(), now).map_err(sign_failed)?;
    let placement = Placement { page: None, rect: cqs_documents::RESULT_SIGNATURE_RECT };
    let signed =
        sign_pdf(pdf, signer.clone(), lines, placement, state.signing.tsa.as_ref()).await.map_err(sign_failed)?;
    let info = CertificateInfo::parse(signer.certificate()).map_err(|e| sign_failed(e.into()))?;
    let size = signed.pdf.len() as i64;
    let file = state.files.put_pending(signed.pdf).await.map_err(|e| {
        tracing::error!(error = %e, "writing the signed result failed");
        ApiError::internal()
    })?;
    let record = NewIssuedDocument {
        id: Uuid::now_v7(),
        kind: "result".into(),
        document_type: spec.result.document_type.clone(),
        title: spec.result.name.clone(),
        issuer_unit_id: unit.id,
        file_name: format!("ket-qua-{}-{}.pdf", d.code, date_text(now).replace('/', "")),
        size,
        sha256: file.sha256.clone(),
        storage_key: file.key.clone(),
        signer_subject: info.subject,
        signer_fingerprint: info.fingerprint_sha256,
        pades_level: signed.level.as_str().to_owned(),
        signed_at: now,
        timestamped_at: signed.timestamp.map(|t| t.gen_time),
    };
    Ok(Some(IssuedResult { record, file }))
}

fn sign_failed(e: cqs_documents::sign::SignError) -> ApiError {
    tracing::error!(error = %e, "signing the result failed");
    ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "signing_unavailable",
        "Chưa ký số được kết quả, vui lòng thử lại sau",
    )
}
