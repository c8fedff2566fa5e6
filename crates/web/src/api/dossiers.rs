//! Dossier intake and the full (authorized) view of a dossier.

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use cqs_domain::auth::Principal;
use cqs_domain::catalog::select_in_force;
use cqs_domain::dossier::{
    Actor, ActorKind, ApplicantInput, Attachment, Channel, Dossier, DossierState, HistoryEntry, UploadedFile,
    check_note, check_submission, local_date, safe_file_name, sniff,
};
use cqs_domain::ids::{AgencyCode, ProcedureCode};
use cqs_store::files::PendingFile;
use cqs_store::{CreateOutcome, IdempotencyKey, NewAttachment, NewDossier, SubmissionReceipt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::AppState;
use crate::api::catalog::receives_at;
use crate::auth::Caller;
use crate::error::{ApiError, ApiPath, body_too_large, parse_json, read_json};

/// A dossier submission. Sent as `application/json` when there are no files, or as
/// `multipart/form-data` with this object in a part named `dossier` followed by one part per
/// file, named by the component code.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    #[schema(value_type = String, example = "1.001193")]
    pub procedure_code: String,
    /// Agency code of the unit the dossier is submitted to.
    #[schema(value_type = String, example = "000.00.31.H99")]
    pub receiving_unit: String,
    pub channel: Channel,
    pub applicant: ApplicantInput,
    #[schema(value_type = Object)]
    pub form_data: serde_json::Value,
    /// Components filled from the applicant's document store instead of an upload (see
    /// `GET /api/v1/me/documents/offers`): each names a stored document of the applicant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reuse: Vec<cqs_domain::docstore::Reuse>,
    /// A note kept with the first history row, for staff (the counter officer's note at
    /// intake); never shown to the public or the applicant. At most 2,000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Multipart body for documentation: the JSON part and the files.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Only describes the multipart body in the OpenAPI document; never built.
pub struct SubmitMultipart {
    dossier: SubmitRequest,
    /// One part per file, the part name being the component code.
    #[schema(value_type = Vec<String>, format = Binary)]
    files: Vec<String>,
}

/// A file received with a submission, for the component its part was named after.
pub struct ReceivedFile {
    pub component: String,
    pub file_name: String,
    pub bytes: Vec<u8>,
}

fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"))
}

async fn read_request(state: &AppState, req: Request) -> Result<(SubmitRequest, Vec<ReceivedFile>), ApiError> {
    if !is_multipart(req.headers()) {
        return Ok((read_json(req, state.limits.json_body).await?, Vec::new()));
    }
    let mut mp = Multipart::from_request(req, state).await.map_err(|e| {
        ApiError::bad_request("malformed_multipart", "Dữ liệu multipart không hợp lệ").detail(e.body_text())
    })?;
    let mut dossier: Option<SubmitRequest> = None;
    let mut files = Vec::new();
    let multipart_err = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            body_too_large()
        } else {
            ApiError::bad_request("malformed_multipart", "Dữ liệu multipart không hợp lệ").detail(e.body_text())
        }
    };
    while let Some(mut field) = mp.next_field().await.map_err(multipart_err)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "dossier" {
            if dossier.is_some() {
                return Err(ApiError::bad_request("malformed_multipart", "Phần \"dossier\" xuất hiện hai lần"));
            }
            let bytes = field.bytes().await.map_err(multipart_err)?;
            dossier = Some(parse_json(&bytes)?);
            continue;
        }
        if files.len() >= state.limits.files_per_submission {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_many_files",
                format!("Tối đa {} tệp trong một hồ sơ", state.limits.files_per_submission),
            ));
        }
        let file_name = safe_file_name(field.file_name().unwrap_or(&name));
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(multipart_err)? {
            if bytes.len() + chunk.len() > state.limits.attachment {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "attachment_too_large",
                    format!("Tệp {file_name} vượt quá {} MB", state.limits.attachment / (1024 * 1024)),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        files.push(ReceivedFile { component: name, file_name, bytes });
    }
    let dossier = dossier.ok_or_else(|| {
        ApiError::bad_request("malformed_multipart", "Thiếu phần \"dossier\" chứa thông tin hồ sơ (JSON)")
    })?;
    Ok((dossier, files))
}

/// Hash of what makes two submissions "the same request" for idempotency.
fn request_hash(req: &SubmitRequest, files: &[(String, String)]) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(req).expect("request serializes"));
    for (component, sha) in files {
        h.update(component.as_bytes());
        h.update(b"\0");
        h.update(sha.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Submit a dossier. A client with `dossiers:submit` submits online or by post; a desk officer of
/// the receiving unit submits at the counter (accepted at once); a signed-in citizen submits
/// online for themselves and owns the dossier. With `Idempotency-Key`, a retry
/// returns the first receipt (200, `Idempotent-Replayed: true`) instead of a second dossier.
#[utoipa::path(post, path = "/api/v1/dossiers", tag = "dossiers",
    request_body(content((SubmitRequest = "application/json"), (SubmitMultipart = "multipart/form-data"))),
    params(crate::idempotency::IdempotencyKeyHeader),
    responses(
        (status = 201, body = SubmissionReceipt, description = "Đã tạo hồ sơ"),
        (status = 200, body = SubmissionReceipt, description = "Gửi lại với cùng Idempotency-Key"),
        (status = 400, body = crate::error::Problem), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 413, body = crate::error::Problem), (status = 415, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)),
    security(("api_key" = []), ("session" = [])))]
pub async fn submit(State(state): State<AppState>, caller: Caller, req: Request) -> Result<Response, ApiError> {
    caller.require_authenticated()?;
    let idem = crate::idempotency::key_of(req.headers())?;
    let (body, received) = read_request(&state, req).await?;
    match create(&state, &caller, idem, body, received).await? {
        Submitted::Created(receipt) => {
            let mut res = (StatusCode::CREATED, Json(&receipt)).into_response();
            if let Ok(loc) = HeaderValue::from_str(&format!("/api/v1/dossiers/{}", receipt.code)) {
                res.headers_mut().insert(header::LOCATION, loc);
            }
            Ok(res)
        }
        Submitted::Replayed(receipt) => {
            let mut res = (StatusCode::OK, Json(&receipt)).into_response();
            res.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(res)
        }
    }
}

/// What a submission came to: a new dossier, or (the same `Idempotency-Key` again) the first one.
pub enum Submitted {
    Created(SubmissionReceipt),
    Replayed(SubmissionReceipt),
}

/// Checks a parsed submission and creates its dossier: the one path behind
/// `POST /api/v1/dossiers` and the portal's online submission. `idem` is the request's
/// `Idempotency-Key`, scoped to the caller.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    idem: Option<String>,
    mut body: SubmitRequest,
    received: Vec<ReceivedFile>,
) -> Result<Submitted, ApiError> {
    let state = state.clone();
    cqs_domain::text::nfc_json(&mut body.form_data);

    let unit_code = AgencyCode::parse(&body.receiving_unit).map_err(|e| {
        ApiError::validation(vec![cqs_domain::form::FieldError {
            field: "/receiving_unit".into(),
            label: "Đơn vị tiếp nhận".into(),
            message: e.to_string(),
        }])
    })?;
    // Microsecond precision: what both backends store, so a replayed receipt matches the row.
    let now = state.clock.now();
    let today = local_date(now);
    let unit = state
        .store
        .org_unit_by_code(unit_code.as_str())
        .await?
        .filter(|u| u.is_valid_on(today))
        .ok_or_else(|| ApiError::not_found("đơn vị tiếp nhận (hoặc đơn vị đã ngừng hoạt động)"))?;
    caller.0.may_submit(unit.id)?;
    match (&caller.0, body.channel) {
        (Principal::Staff { .. }, Channel::Online) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "channel_not_allowed",
                "Cán bộ tiếp nhận chỉ nhập hồ sơ nộp trực tiếp hoặc qua bưu chính",
            ));
        }
        (Principal::Client { .. }, Channel::Counter) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "channel_not_allowed",
                "Hồ sơ nộp tại quầy phải do cán bộ một cửa tiếp nhận",
            ));
        }
        (Principal::Citizen { .. }, Channel::Counter | Channel::Post) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "channel_not_allowed",
                "Tài khoản công dân nộp hồ sơ trực tuyến",
            ));
        }
        _ => {}
    }
    caller.0.may_apply_as(body.applicant.identity_number.trim())?;

    let code = ProcedureCode::parse(&body.procedure_code)
        .map_err(|e| ApiError::bad_request("invalid_procedure_code", e.to_string()))?;
    let versions = state.store.procedure_versions(code.as_str()).await?;
    let version = select_in_force(&versions, today)
        .ok_or_else(|| ApiError::not_found("thủ tục đang có hiệu lực với mã này"))?
        .clone();
    if !receives_at(&version.spec, &unit) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unit_does_not_receive",
            format!("{} không tiếp nhận thủ tục \"{}\"", unit.name, version.spec.name),
        ));
    }
    let form = state.forms.get(&version)?;
    let reused = reused_components(&state, &body, &version.spec, today).await?;
    let mut uploaded: Vec<UploadedFile> = received
        .iter()
        .map(|f| UploadedFile {
            component: f.component.clone(),
            file_name: f.file_name.clone(),
            detected: sniff(&f.bytes),
            size: f.bytes.len() as u64,
        })
        .collect();
    uploaded.extend(reused);
    let applicant = body.applicant.clone().check();
    let form_check = check_submission(&version.spec, &form, body.channel, &body.form_data, &uploaded);
    let note = check_note(body.note.as_deref());
    let (applicant, note) = match (applicant, form_check, note) {
        (Ok(a), Ok(()), Ok(n)) => (a, n),
        (a, f, n) => {
            let mut errors = a.err().unwrap_or_default();
            errors.extend(f.err().unwrap_or_default());
            errors.extend(n.err());
            return Err(ApiError::validation(errors));
        }
    };

    // Write the files durably before the transaction; promote after commit, discard on failure.
    let bytes: Vec<Vec<u8>> = received.iter().map(|f| f.bytes.clone()).collect();
    let pending: Vec<PendingFile> = state.files.put_all_pending(bytes).await.map_err(|e| {
        tracing::error!(error = %e, "writing attachment failed");
        ApiError::internal()
    })?;

    let hashes: Vec<(String, String)> =
        received.iter().zip(&pending).map(|(f, p)| (f.component.clone(), p.sha256.clone())).collect();
    let due_at = state.rules.due_at(now, version.spec.deadline);
    let (actor, actor_unit, client) = match &caller.0 {
        Principal::Staff { user_id, .. } => (Actor { kind: ActorKind::Staff, id: Some(*user_id) }, Some(unit.id), None),
        Principal::Client { client_id, .. } => {
            (Actor { kind: ActorKind::Client, id: Some(*client_id) }, None, Some(*client_id))
        }
        Principal::Citizen { account_id, .. } => {
            (Actor { kind: ActorKind::Citizen, id: Some(*account_id) }, None, None)
        }
        Principal::Anonymous => unreachable!("checked above"),
    };
    let owner = match &caller.0 {
        Principal::Citizen { account_id, .. } => Some(*account_id),
        _ => None,
    };
    let new = NewDossier {
        id: Uuid::now_v7(),
        procedure_version_id: version.id,
        procedure_code: version.spec.code.to_string(),
        procedure_version: version.version,
        procedure_name: version.spec.name.clone(),
        receiving_unit_id: unit.id,
        receiving_unit_code: unit.code.clone(),
        local_day: today,
        channel: body.channel,
        applicant,
        form_data: body.form_data.clone(),
        received_at: now,
        due_at,
        submitted_by_client: client,
        owner_account: owner,
        actor,
        actor_unit_id: actor_unit,
        attachments: received
            .iter()
            .zip(&pending)
            .map(|(f, p)| NewAttachment {
                id: Uuid::now_v7(),
                component: f.component.clone(),
                file_name: f.file_name.clone(),
                content_type: sniff(&f.bytes).map_or("application/octet-stream", |t| t.mime()).to_owned(),
                size: p.size as i64,
                sha256: p.sha256.clone(),
                storage_key: p.key.clone(),
            })
            .collect(),
        reused: body.reuse.iter().map(|r| (r.component.clone(), r.document_id)).collect(),
        holder: initial_holder(&state, &version, &unit, body.channel).await?,
        note,
        idempotency: idem.map(|key| IdempotencyKey {
            scope: caller.scope_key(),
            key,
            request_hash: request_hash(&body, &hashes),
        }),
    };
    match state.store.create_dossier(&new).await {
        Ok(CreateOutcome::Created(receipt)) => {
            for p in &pending {
                if let Err(e) = state.files.promote(&p.key).await {
                    // The row is committed; the start-up sweep promotes the file later.
                    tracing::warn!(error = %e, "promoting attachment failed");
                }
            }
            Ok(Submitted::Created(receipt))
        }
        Ok(CreateOutcome::Replayed(receipt)) => {
            state.files.discard_all(&pending).await;
            Ok(Submitted::Replayed(receipt))
        }
        Err(e) => {
            state.files.discard_all(&pending).await;
            Err(e.into())
        }
    }
}

/// The components the submission fills from the applicant's document store, checked (the
/// applicant's own documents, of the component's type, valid today), as the uploads the intake
/// check counts.
async fn reused_components(
    state: &AppState,
    body: &SubmitRequest,
    spec: &cqs_domain::catalog::ProcedureSpec,
    today: chrono::NaiveDate,
) -> Result<Vec<UploadedFile>, ApiError> {
    if body.reuse.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = body.reuse.iter().map(|r| r.document_id).collect();
    let found = state.store.stored_documents_by_id(&ids).await?;
    let requested: Vec<_> = body
        .reuse
        .iter()
        .map(|r| (r.clone(), found.iter().find(|(d, _)| d.id == r.document_id).map(|(d, _)| d.clone())))
        .collect();
    cqs_domain::docstore::check_reuse(&spec.components, &requested, body.applicant.identity_number.trim(), today)
        .map_err(ApiError::validation)
}

/// Who must act first on a new dossier: the desk before acceptance; for a counter dossier,
/// accepted on the spot, the first step of its process.
async fn initial_holder(
    state: &AppState,
    version: &cqs_domain::catalog::ProcedureVersion,
    unit: &cqs_domain::org::OrgUnit,
    channel: Channel,
) -> Result<Option<(Uuid, cqs_domain::auth::Role)>, ApiError> {
    use cqs_domain::catalog::UnitRef;
    let spec = &version.spec;
    // Only a counter dossier starts inside the process, where a step may name another unit.
    let needs_lookup = channel.initial_state() == DossierState::Accepted
        && (spec.process.first().is_some_and(|s| !matches!(s.unit, UnitRef::Receiving))
            || matches!(spec.deciding_unit, UnitRef::Code(_)));
    let codes: std::collections::HashMap<String, Uuid> = if needs_lookup {
        state.store.org_units().await?.into_iter().map(|u| (u.code.to_string(), u.id)).collect()
    } else {
        Default::default()
    };
    let deciding = match &spec.deciding_unit {
        UnitRef::Code(c) => codes.get(c.as_str()).copied().unwrap_or(unit.id),
        _ => unit.id,
    };
    let initial = channel.initial_state();
    let position = cqs_domain::workflow::Position {
        state: initial,
        step: (initial == DossierState::Accepted).then_some(0),
        due_at: None,
        original_due_at: None,
        paused_at: None,
        resume_state: None,
    };
    let units = cqs_domain::workflow::Units { receiving: unit.id, deciding };
    Ok(cqs_domain::workflow::holder(&position, &spec.process, units, &|c| codes.get(c.as_str()).copied()))
}

/// Status as the national portal numbers it, with its Vietnamese name.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatusView {
    pub state: DossierState,
    pub national_code: u8,
    pub name: String,
}

impl StatusView {
    pub fn of(state: &AppState, s: DossierState, on: DateTime<Utc>) -> Result<Self, ApiError> {
        let mapping = state.rules.statuses.on(local_date(on)).map_err(|e| {
            tracing::error!(error = %e, "no status mapping");
            ApiError::internal()
        })?;
        let e = mapping.entry(s);
        Ok(Self { state: s, national_code: e.code, name: e.name.clone() })
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DossierView {
    #[serde(flatten)]
    pub dossier: Dossier,
    pub status: StatusView,
    pub deadline: cqs_domain::calendar::DeadlineFlags,
    pub procedure_name: String,
    pub attachments: Vec<Attachment>,
    /// Set when the dossier went past due and its unit still owes the apology (Mẫu 04).
    pub apology_task: Option<cqs_store::ApologyTask>,
}

/// Overdue and due-soon flags of a dossier in `s`.
pub fn flags(
    state: &AppState,
    s: DossierState,
    due: Option<DateTime<Utc>>,
    paused_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> cqs_domain::calendar::DeadlineFlags {
    cqs_domain::calendar::deadline_flags(
        &state.rules.calendar,
        cqs_domain::deadline::clock_runs(s),
        due,
        paused_at,
        now,
    )
}

async fn load_authorized(state: &AppState, caller: &Caller, code: &str) -> Result<Dossier, ApiError> {
    caller.require_authenticated()?;
    let ctx = crate::api::workflow::Context::load(state, code).await?;
    caller.0.may_read_dossier(&ctx.involved_units(), ctx.dossier.submitted_by_client, ctx.dossier.owner())?;
    Ok(ctx.dossier)
}

/// The full dossier, for staff of a unit that holds it, authorized clients, and its owner.
#[utoipa::path(get, path = "/api/v1/dossiers/{code}", tag = "dossiers",
    params(("code" = String, Path, description = "Mã hồ sơ")),
    responses((status = 200, body = DossierView), (status = 400, body = crate::error::Problem),
        (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem)),
    security(("api_key" = []), ("session" = [])))]
pub async fn get_dossier(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<DossierView>, ApiError> {
    let d = load_authorized(&state, &caller, &code).await?;
    let attachments = state.store.attachments(d.id).await?.into_iter().map(|a| a.attachment).collect();
    let procedure_name =
        state.store.public_status(d.code.as_str()).await?.map(|p| p.procedure_name).unwrap_or_default();
    let now = state.clock.now();
    let status = StatusView::of(&state, d.state, now)?;
    let deadline = flags(&state, d.state, d.due_at, d.paused_at, now);
    let apology_task = state.store.open_apology_task(d.id).await?;
    Ok(Json(DossierView { dossier: d, status, deadline, procedure_name, attachments, apology_task }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryView {
    #[serde(flatten)]
    pub entry: HistoryEntry,
    pub to_status: StatusView,
}

/// The dossier's append-only history.
#[utoipa::path(get, path = "/api/v1/dossiers/{code}/history", tag = "dossiers",
    params(("code" = String, Path, description = "Mã hồ sơ")),
    responses((status = 200, body = Vec<HistoryView>), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)),
    security(("api_key" = []), ("session" = [])))]
pub async fn get_history(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<Vec<HistoryView>>, ApiError> {
    let d = load_authorized(&state, &caller, &code).await?;
    let rows = state.store.history(d.id).await?;
    rows.into_iter()
        .map(|entry| Ok(HistoryView { to_status: StatusView::of(&state, entry.to_state, entry.at)?, entry }))
        .collect::<Result<Vec<_>, ApiError>>()
        .map(Json)
}

/// Download one attachment; its content is checked against the hash recorded at upload.
#[utoipa::path(get, path = "/api/v1/dossiers/{code}/attachments/{id}", tag = "dossiers",
    params(("code" = String, Path), ("id" = Uuid, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem)),
    security(("api_key" = []), ("session" = [])))]
pub async fn download_attachment(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((code, id)): ApiPath<(String, Uuid)>,
) -> Result<Response, ApiError> {
    let d = load_authorized(&state, &caller, &code).await?;
    let a = state
        .store
        .attachments(d.id)
        .await?
        .into_iter()
        .find(|a| a.attachment.id == id)
        .ok_or_else(|| ApiError::not_found("tệp đính kèm"))?;
    let bytes = state.files.read_checked(&a.storage_key, &a.attachment.sha256).await.map_err(|e| {
        tracing::error!(error = %e, "attachment unreadable");
        ApiError::internal()
    })?;
    let disposition = format!("attachment; filename*=UTF-8''{}", percent_encode(&a.attachment.file_name));
    Response::builder()
        .header(header::CONTENT_TYPE, a.attachment.content_type)
        .header(header::CONTENT_DISPOSITION, disposition)
        .header("x-content-type-options", "nosniff")
        .body(Body::from(bytes))
        .map_err(|_| ApiError::internal())
}

/// RFC 5987 encoding of a file name for Content-Disposition.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The control sheet (phiếu kiểm soát, Mẫu 05): one row per step with the time it was allowed,
/// the working time it used and whether it was early, on time or late.
#[utoipa::path(get, path = "/api/v1/dossiers/{code}/control-sheet", tag = "dossiers",
    params(("code" = String, Path, description = "Mã hồ sơ")),
    responses((status = 200, body = Vec<cqs_domain::control::ControlRow>), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)),
    security(("api_key" = []), ("session" = [])))]
pub async fn get_control_sheet(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<Vec<cqs_domain::control::ControlRow>>, ApiError> {
    caller.require_authenticated()?;
    let ctx = crate::api::workflow::Context::load(&state, &code).await?;
    caller.0.may_read_dossier(&ctx.involved_units(), ctx.dossier.submitted_by_client, ctx.dossier.owner())?;
    let history = state.store.history(ctx.dossier.id).await?;
    Ok(Json(cqs_domain::control::control_sheet(
        &ctx.version.spec.process,
        &history,
        &state.rules.calendar,
        state.clock.now(),
    )))
}
