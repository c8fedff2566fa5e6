//! `POST /api/v1/dossiers/{code}/actions`: one endpoint for every workflow action. The handler
//! loads the dossier with its pinned procedure version, asks `domain::workflow::decide`, and
//! persists the decision only if nobody changed the dossier meanwhile.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use cqs_domain::auth::Principal;
use cqs_domain::catalog::{ProcedureVersion, UnitRef};
use cqs_domain::dossier::{Actor, ActorKind, Dossier};
use cqs_domain::ids::DossierCode;
use cqs_domain::workflow::{Acting, Action, Units, WorkflowError, decide};
use cqs_store::{HeldKey, StoredAnswer, Transition};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AppState;
use crate::api::dossiers::StatusView;
use crate::auth::Caller;
use crate::error::{ApiError, ApiPath, read_json};
use crate::idempotency::Idempotency;

/// A dossier with what the workflow needs to judge it.
pub struct Context {
    pub dossier: Dossier,
    pub version: ProcedureVersion,
    pub units: Units,
    codes: UnitCodes,
}

/// Agency code → unit id, shared by the contexts built from one load.
pub type UnitCodes = Arc<HashMap<String, Uuid>>;

impl Context {
    pub async fn load(state: &AppState, code: &str) -> Result<Self, ApiError> {
        let code =
            DossierCode::parse(code).map_err(|e| ApiError::bad_request("invalid_dossier_code", e.to_string()))?;
        let dossier = state.store.dossier_by_code(code.as_str()).await?.ok_or_else(|| ApiError::not_found("hồ sơ"))?;
        let version = pinned_version(state, &dossier).await?;
        let codes = unit_codes(state).await?;
        Ok(Self::new(dossier, version, codes))
    }

    /// A context from parts already loaded (`codes` maps agency codes to unit ids).
    pub fn new(dossier: Dossier, version: ProcedureVersion, codes: UnitCodes) -> Self {
        let deciding = match &version.spec.deciding_unit {
            UnitRef::Code(c) => codes.get(c.as_str()).copied().unwrap_or(dossier.receiving_unit_id),
            _ => dossier.receiving_unit_id,
        };
        Self { units: Units { receiving: dossier.receiving_unit_id, deciding }, dossier, version, codes }
    }

    /// The agency-code map the context was built with.
    pub fn codes_map(&self) -> UnitCodes {
        self.codes.clone()
    }

    /// Who must act next on the dossier at `position`.
    pub fn holder(&self, position: &cqs_domain::workflow::Position) -> Option<(Uuid, cqs_domain::auth::Role)> {
        let resolve = |c: &cqs_domain::ids::AgencyCode| self.codes.get(c.as_str()).copied();
        cqs_domain::workflow::holder(position, &self.version.spec.process, self.units, &resolve)
    }

    /// Every unit the dossier's process involves: their staff may see it.
    pub fn involved_units(&self) -> Vec<Uuid> {
        let mut out = vec![self.units.receiving, self.units.deciding];
        for s in &self.version.spec.process {
            if let UnitRef::Code(c) = &s.unit {
                out.extend(self.codes.get(c.as_str()));
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

/// Agency code → unit id, for resolving the units a process names.
pub async fn unit_codes(state: &AppState) -> Result<UnitCodes, ApiError> {
    Ok(Arc::new(state.store.org_units().await?.into_iter().map(|u| (u.code.to_string(), u.id)).collect()))
}

/// The procedure version a dossier was received under (it keeps it for life).
pub async fn pinned_version(state: &AppState, dossier: &Dossier) -> Result<ProcedureVersion, ApiError> {
    state
        .store
        .procedure_versions(dossier.procedure_code.as_str())
        .await?
        .into_iter()
        .find(|v| v.id == dossier.procedure_id)
        .ok_or_else(|| {
            tracing::error!(code = %dossier.code, "dossier points at a missing procedure version");
            ApiError::internal()
        })
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    /// The dossier version the caller saw; the action fails with 409 if it changed since.
    pub expected_version: i32,
    pub action: Action,
    /// A note for the history.
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ActionResult {
    pub code: String,
    pub version: i32,
    pub status: StatusView,
    pub current_step: Option<usize>,
    pub due_at: Option<chrono::DateTime<Utc>>,
    pub original_due_at: Option<chrono::DateTime<Utc>>,
    pub clock_paused: bool,
}

fn workflow_error(e: WorkflowError) -> ApiError {
    match e {
        WorkflowError::Denied(d) => d.into(),
        e @ (WorkflowError::ReasonRequired | WorkflowError::NewDueNotLater) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_action", e.to_string())
        }
        e => ApiError::new(StatusCode::CONFLICT, "invalid_transition", e.to_string()),
    }
}

/// Take a workflow action on a dossier: accept, refuse, forward, request or supply a
/// supplement, request or confirm payment, withdraw, stop, approve, record or return the result,
/// apologize and reschedule. Staff act by their role at the unit of the current step; the
/// submitting client may supply documents, confirm payment and withdraw.
#[utoipa::path(post, path = "/api/v1/dossiers/{code}/actions", tag = "dossiers", request_body = ActionRequest,
    params(("code" = String, Path, description = "Mã hồ sơ"), crate::idempotency::IdempotencyKeyHeader),
    responses((status = 200, body = ActionResult), (status = 400, body = crate::error::Problem),
        (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)),
    security(("api_key" = []), ("session" = [])))]
pub async fn act(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
    Idempotency(held): Idempotency,
    req: Request,
) -> Result<Response, ApiError> {
    caller.require_authenticated()?;
    let ctx = Context::load(&state, &code).await?;
    let is_submitter = acting_side(&caller, &ctx)?;
    let body: ActionRequest = read_json(req, state.limits.json_body).await?;
    let (result, answer) = apply_answered(&state, &caller, &ctx, is_submitter, &body, held.as_ref()).await?;
    Ok(match answer {
        Some(answer) => crate::idempotency::answer_response(&answer, false),
        None => Json(result).into_response(),
    })
}

/// Whether the caller acts as the dossier's submitter (the applicant's side of the desk):
/// machine clients act only on dossiers they submitted, citizens only on dossiers they own.
pub fn acting_side(caller: &Caller, ctx: &Context) -> Result<bool, ApiError> {
    let is_submitter = matches!(&caller.0, Principal::Client { client_id, .. } if Some(*client_id) == ctx.dossier.submitted_by_client)
        || caller.0.owns(ctx.dossier.owner());
    match &caller.0 {
        Principal::Client { .. } if !is_submitter => return Err(cqs_domain::auth::Denied::NoRoleInUnit.into()),
        Principal::Citizen { .. } if !is_submitter => return Err(cqs_domain::auth::Denied::NotOwner.into()),
        _ => {}
    }
    Ok(is_submitter)
}

/// Decides the action and persists it if the dossier is still at the version the caller saw.
/// The API and the console's action forms both act through here.
pub async fn apply(
    state: &AppState,
    caller: &Caller,
    ctx: &Context,
    is_submitter: bool,
    body: &ActionRequest,
) -> Result<ActionResult, ApiError> {
    apply_answered(state, caller, ctx, is_submitter, body, None).await.map(|(result, _)| result)
}

/// [`apply`] for a request holding an `Idempotency-Key` claim: the answer is written in the
/// action's transaction (and returned), so a retry gets it even if the server died right after.
pub async fn apply_answered(
    state: &AppState,
    caller: &Caller,
    ctx: &Context,
    is_submitter: bool,
    body: &ActionRequest,
    held: Option<&HeldKey>,
) -> Result<(ActionResult, Option<StoredAnswer>), ApiError> {
    apply_with_files(state, caller, ctx, is_submitter, body, held, Vec::new()).await
}

/// [`apply_answered`] with files the action adds to the dossier in its transaction (the
/// documents an applicant supplies with `supply_supplement`). The files are written pending
/// beforehand; they are promoted when the action commits and discarded when it fails.
pub async fn apply_with_files(
    state: &AppState,
    caller: &Caller,
    ctx: &Context,
    is_submitter: bool,
    body: &ActionRequest,
    held: Option<&HeldKey>,
    files: Vec<(cqs_store::NewAttachment, cqs_store::files::PendingFile)>,
) -> Result<(ActionResult, Option<StoredAnswer>), ApiError> {
    match decide_and_write(state, caller, ctx, is_submitter, body, held, &files).await {
        Ok(done) => {
            for (_, p) in &files {
                if let Err(e) = state.files.promote(&p.key).await {
                    // The rows are committed; the start-up sweep promotes the file later.
                    tracing::warn!(error = %e, "promoting a supplied document failed");
                }
            }
            Ok(done)
        }
        Err(e) => {
            let pending: Vec<_> = files.into_iter().map(|(_, p)| p).collect();
            state.files.discard_all(&pending).await;
            Err(e)
        }
    }
}

async fn decide_and_write(
    state: &AppState,
    caller: &Caller,
    ctx: &Context,
    is_submitter: bool,
    body: &ActionRequest,
    held: Option<&HeldKey>,
    files: &[(cqs_store::NewAttachment, cqs_store::files::PendingFile)],
) -> Result<(ActionResult, Option<StoredAnswer>), ApiError> {
    caller.require_authenticated()?;
    let d = &ctx.dossier;
    if body.expected_version != d.version {
        return Err(stale(state, d)?);
    }
    let now = state.clock.now();
    let resolve = |c: &cqs_domain::ids::AgencyCode| ctx.codes.get(c.as_str()).copied();
    let outcome = decide(
        &d.position(),
        &ctx.version.spec.process,
        ctx.units,
        &resolve,
        &Acting { principal: &caller.0, is_submitter },
        &body.action,
        now,
        &state.rules.calendar,
        ctx.version.spec.deadline,
    )
    .map_err(workflow_error)?;
    let actor = match &caller.0 {
        Principal::Staff { user_id, .. } => Actor { kind: ActorKind::Staff, id: Some(*user_id) },
        Principal::Client { client_id, .. } => Actor { kind: ActorKind::Client, id: Some(*client_id) },
        Principal::Citizen { account_id, .. } => Actor { kind: ActorKind::Citizen, id: Some(*account_id) },
        Principal::Anonymous => return Err(cqs_domain::auth::Denied::Unauthenticated.into()),
    };
    // The amount asked for is part of the record: the applicant and the forms read it there.
    let amount = match body.action {
        Action::RequestPayment { amount } => Some(format!("Số tiền phải nộp: {}", crate::ui::fmt::money(amount))),
        _ => None,
    };
    let note = [amount.as_deref(), body.action.reason(), body.note.as_deref()]
        .into_iter()
        .flatten()
        .map(cqs_domain::text::nfc)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" — ");
    let position = outcome.position;
    // Recording the result issues the signed electronic result, in the same transaction.
    let issued = match body.action {
        Action::RecordResult => crate::documents::results::issue(state, ctx, body.note.as_deref(), now).await?,
        _ => None,
    };
    let result = ActionResult {
        code: d.code.to_string(),
        version: d.version + 1,
        status: StatusView::of(state, position.state, now)?,
        current_step: position.step,
        due_at: position.due_at,
        original_due_at: position.original_due_at,
        clock_paused: position.paused_at.is_some(),
    };
    let answer = held.map(|_| Idempotency::json_answer(StatusCode::OK, &result)).transpose()?;
    let written = state
        .store
        .apply_transition_answered(
            &Transition {
                dossier_id: d.id,
                code: d.code.to_string(),
                expected_version: d.version,
                from_state: d.state,
                position: position.clone(),
                action: body.action.name().to_owned(),
                note: (!note.is_empty()).then_some(note),
                actor,
                actor_unit_id: outcome.acting_unit,
                at: now,
                holder: ctx.holder(&position),
                issued: issued.iter().map(|i| i.record.clone()).collect(),
                attachments: files.iter().map(|(a, _)| a.clone()).collect(),
            },
            held.zip(answer.as_ref()),
        )
        .await;
    if let Some(i) = &issued {
        match &written {
            // The row is committed; a failed promotion is redone by the start-up sweep.
            Ok(_) => {
                if let Err(e) = state.files.promote(&i.file.key).await {
                    tracing::warn!(error = %e, "promoting the signed result failed");
                }
            }
            Err(_) => state.files.discard(&i.file.key).await,
        }
    }
    let version = written.map_err(|e| match e {
        cqs_store::StoreError::Conflict(msg) => ApiError::new(StatusCode::CONFLICT, "stale_version", msg),
        other => other.into(),
    })?;
    debug_assert_eq!(version, result.version);
    Ok((result, answer))
}

/// The actions the caller could take on the dossier now: each candidate is put to the same
/// `decide` the action itself goes through (with stand-in reasons and amounts), so the console
/// offers exactly what would be accepted.
pub fn available_actions(state: &AppState, caller: &Caller, ctx: &Context, is_submitter: bool) -> Vec<Action> {
    let d = &ctx.dossier;
    let now = state.clock.now();
    let reason = || "-".to_owned();
    let channel =
        ctx.version.spec.return_channels.first().copied().unwrap_or(cqs_domain::catalog::ReturnChannel::Counter);
    let later = d.due_at.map_or(now, |due| due.max(now)) + chrono::Duration::days(1);
    let candidates = [
        Action::Accept,
        Action::Refuse { reason: reason() },
        Action::Forward,
        Action::Approve,
        Action::RecordResult,
        Action::ReturnResult { channel },
        Action::RequestSupplement { reason: reason() },
        Action::SupplySupplement,
        Action::RequestPayment { amount: 1 },
        Action::ConfirmPayment,
        Action::ApologizeAndReschedule { new_due_at: later, reason: reason() },
        Action::Stop { reason: reason() },
        Action::Withdraw { reason: reason() },
    ];
    let resolve = |c: &cqs_domain::ids::AgencyCode| ctx.codes.get(c.as_str()).copied();
    candidates
        .into_iter()
        .filter(|a| {
            decide(
                &d.position(),
                &ctx.version.spec.process,
                ctx.units,
                &resolve,
                &Acting { principal: &caller.0, is_submitter },
                a,
                now,
                &state.rules.calendar,
                ctx.version.spec.deadline,
            )
            .is_ok()
        })
        .collect()
}

fn stale(state: &AppState, d: &Dossier) -> Result<ApiError, ApiError> {
    let status = StatusView::of(state, d.state, state.clock.now())?;
    Ok(ApiError::new(StatusCode::CONFLICT, "stale_version", "Hồ sơ đã được cập nhật bởi người khác, vui lòng tải lại")
        .detail(format!("Phiên bản hiện tại: {}; trạng thái: {}", d.version, status.name)))
}
