//! The one-stop workflow: what each action does to a dossier, decided by pure functions. An
//! action takes the dossier's current state, its position in the procedure's process and the
//! legal clock, and returns the new state or a typed refusal. Who may act is decided here too,
//! from the step that holds the dossier.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::{Principal, Role};
use crate::calendar::WorkingCalendar;
use crate::catalog::{ProcessStep, StepKind, UnitRef};
use crate::dossier::DossierState;

/// An action an officer (or the applicant's system) takes on a dossier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Tiếp nhận: the desk accepts an online or postal dossier (receipt, Mẫu 01); the legal
    /// clock starts now.
    Accept,
    /// Từ chối tiếp nhận (Mẫu 03).
    Refuse {
        reason: String,
    },
    /// Chuyển bước: hand the dossier to the next step of the process.
    Forward,
    /// Yêu cầu bổ sung, hoàn thiện (Mẫu 02): stops the clock until the documents arrive.
    RequestSupplement {
        reason: String,
    },
    /// The applicant supplied what was asked: the clock resumes.
    SupplySupplement,
    /// Yêu cầu thực hiện nghĩa vụ tài chính: stops the clock until paid.
    RequestPayment {
        amount: u64,
    },
    ConfirmPayment,
    /// Công dân rút hồ sơ.
    Withdraw {
        reason: String,
    },
    /// Dừng xử lý, with the legal reason.
    Stop {
        reason: String,
    },
    /// Phê duyệt at the approval step.
    Approve,
    /// The result is ready (Đã xử lý xong).
    RecordResult,
    /// Trả kết quả.
    ReturnResult {
        channel: crate::catalog::ReturnChannel,
    },
    /// Xin lỗi và hẹn lại (Mẫu 04): a new due date; the first one is kept for statistics.
    ApologizeAndReschedule {
        new_due_at: DateTime<Utc>,
        reason: String,
    },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Refuse { .. } => "refuse",
            Action::Forward => "forward",
            Action::RequestSupplement { .. } => "request_supplement",
            Action::SupplySupplement => "supply_supplement",
            Action::RequestPayment { .. } => "request_payment",
            Action::ConfirmPayment => "confirm_payment",
            Action::Withdraw { .. } => "withdraw",
            Action::Stop { .. } => "stop",
            Action::Approve => "approve",
            Action::RecordResult => "record_result",
            Action::ReturnResult { .. } => "return_result",
            Action::ApologizeAndReschedule { .. } => "apologize_and_reschedule",
        }
    }

    /// The reason or note the action carries, recorded in the history.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Action::Refuse { reason }
            | Action::RequestSupplement { reason }
            | Action::Withdraw { reason }
            | Action::Stop { reason }
            | Action::ApologizeAndReschedule { reason, .. } => Some(reason),
            _ => None,
        }
    }
}

/// Where a dossier stands, as far as the workflow is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub state: DossierState,
    /// Index into the process steps; `None` before acceptance.
    pub step: Option<usize>,
    pub due_at: Option<DateTime<Utc>>,
    /// The due date before any apology, kept for statistics.
    pub original_due_at: Option<DateTime<Utc>>,
    /// Set while the clock is stopped (supplement or payment requested).
    pub paused_at: Option<DateTime<Utc>>,
    /// The state to resume to when a pause ends.
    pub resume_state: Option<DossierState>,
}

/// The units a dossier's steps can name, resolved to ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Units {
    pub receiving: Uuid,
    pub deciding: Uuid,
}

/// Who is acting, and for the applicant's side, whether it is the dossier's own submitter.
#[derive(Debug, Clone)]
pub struct Acting<'a> {
    pub principal: &'a Principal,
    /// True when the caller is the client that submitted the dossier (the applicant's channel).
    pub is_submitter: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    #[error("Không thể {action} khi hồ sơ đang ở trạng thái {state}")]
    NotAllowedInState { action: &'static str, state: &'static str },
    #[error("Bước hiện tại ({0}) không cho phép thao tác này")]
    WrongStep(&'static str),
    #[error("Hồ sơ đã ở bước cuối của quy trình")]
    NoNextStep,
    #[error("Phải nêu lý do")]
    ReasonRequired,
    #[error("Ngày hẹn mới phải sau ngày hẹn hiện tại")]
    NewDueNotLater,
    #[error("Thủ tục này không có thời hạn giải quyết")]
    NoDeadline,
    #[error("{0}")]
    Denied(#[from] crate::auth::Denied),
}

/// What an action did: the new position and whether the clock restarted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub position: Position,
    /// The org unit acting, for the history row.
    pub acting_unit: Option<Uuid>,
}

fn unit_of(
    step: &ProcessStep,
    units: Units,
    resolve: &dyn Fn(&crate::ids::AgencyCode) -> Option<Uuid>,
) -> Option<Uuid> {
    match &step.unit {
        UnitRef::Receiving => Some(units.receiving),
        UnitRef::Deciding => Some(units.deciding),
        UnitRef::Code(c) => resolve(c),
    }
}

fn require(ok: bool, denied: crate::auth::Denied) -> Result<(), WorkflowError> {
    if ok { Ok(()) } else { Err(denied.into()) }
}

/// Who must act next on a dossier at `pos`: the unit and role of its current step; the desk of
/// the receiving unit before acceptance and once the result is ready; nobody once closed.
pub fn holder(
    pos: &Position,
    process: &[ProcessStep],
    units: Units,
    resolve: &dyn Fn(&crate::ids::AgencyCode) -> Option<Uuid>,
) -> Option<(Uuid, Role)> {
    use DossierState as S;
    match pos.state {
        S::Submitted | S::Resolved => Some((units.receiving, Role::DeskOfficer)),
        S::Refused | S::Withdrawn | S::Stopped | S::Returned => None,
        S::Accepted | S::InProgress | S::NeedSupplement | S::NeedPayment => {
            let step = process.get(pos.step.unwrap_or(0))?;
            Some((unit_of(step, units, resolve)?, step.role))
        }
    }
}

/// A history row's action in plain words for the applicant and the public lookup.
pub fn describe_action(action: &str) -> &'static str {
    match action {
        "submit" => "Hồ sơ được nộp",
        "accept" => "Bộ phận một cửa tiếp nhận hồ sơ",
        "refuse" => "Hồ sơ không được tiếp nhận",
        "forward" => "Hồ sơ được chuyển sang bước xử lý tiếp theo",
        "request_supplement" => "Cơ quan yêu cầu bổ sung, hoàn thiện hồ sơ",
        "supply_supplement" => "Người nộp đã bổ sung hồ sơ",
        "request_payment" => "Cơ quan đề nghị nộp phí, lệ phí",
        "confirm_payment" => "Đã xác nhận nộp phí, lệ phí",
        "withdraw" => "Người nộp rút hồ sơ",
        "stop" => "Cơ quan dừng giải quyết hồ sơ",
        "approve" => "Lãnh đạo đã phê duyệt",
        "record_result" => "Đã có kết quả giải quyết",
        "return_result" => "Đã trả kết quả",
        "apologize_and_reschedule" => "Cơ quan xin lỗi và hẹn lại ngày trả kết quả",
        "recompute_deadline" => "Ngày hẹn trả được tính lại theo lịch làm việc",
        _ => "Hồ sơ được cập nhật",
    }
}

/// The inbox sort key of a due date: dossiers without one come last.
pub fn due_sort(due: Option<DateTime<Utc>>) -> DateTime<Utc> {
    due.unwrap_or_else(|| {
        chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
            .expect("valid date")
            .and_hms_opt(0, 0, 0)
            .expect("valid time")
            .and_utc()
    })
}

/// Decides an action. `now` is when it happens; `deadline` is the procedure's legal time, from
/// which acceptance computes the due date on `calendar`.
#[allow(clippy::too_many_arguments)]
pub fn decide(
    pos: &Position,
    process: &[ProcessStep],
    units: Units,
    resolve: &dyn Fn(&crate::ids::AgencyCode) -> Option<Uuid>,
    acting: &Acting<'_>,
    action: &Action,
    now: DateTime<Utc>,
    calendar: &WorkingCalendar,
    deadline: crate::catalog::Deadline,
) -> Result<Outcome, WorkflowError> {
    use DossierState as S;
    let p = acting.principal;
    let not_allowed = || WorkflowError::NotAllowedInState { action: action.name(), state: pos.state.as_str() };
    if action.reason().is_some_and(|r| r.trim().is_empty()) {
        return Err(WorkflowError::ReasonRequired);
    }
    let current = pos.step.and_then(|i| process.get(i));
    let current_unit = current.and_then(|s| unit_of(s, units, resolve));
    // The holder of the current step: its role at its unit (an admin there may act too).
    let holds_step = || match (current, current_unit) {
        (Some(s), Some(u)) => p.has_role_in(u, &[s.role]),
        _ => false,
    };
    let desk = || p.has_role_in(units.receiving, &[Role::DeskOfficer]);
    let mut next = pos.clone();
    let mut acting_unit = current_unit;
    match action {
        Action::Accept => {
            if pos.state != S::Submitted {
                return Err(not_allowed());
            }
            require(desk(), crate::auth::Denied::NoRoleInUnit)?;
            next.state = S::Accepted;
            next.step = Some(0);
            // The legal clock starts at acceptance; a procedure without a deadline has none.
            next.due_at = calendar.due_at(now, deadline);
            acting_unit = Some(units.receiving);
        }
        Action::Refuse { .. } => {
            if pos.state != S::Submitted {
                return Err(not_allowed());
            }
            require(desk(), crate::auth::Denied::NoRoleInUnit)?;
            next.state = S::Refused;
            acting_unit = Some(units.receiving);
        }
        Action::Forward => {
            if !matches!(pos.state, S::Accepted | S::InProgress) {
                return Err(not_allowed());
            }
            require(holds_step(), crate::auth::Denied::NoRoleInUnit)?;
            let i = pos.step.unwrap_or(0);
            let here = &process[i];
            if matches!(here.step, StepKind::Approval) {
                return Err(WorkflowError::WrongStep(here.step.label_vi()));
            }
            // Steps of one parallel group are handed over together: skip to after the group.
            let mut j = i + 1;
            if let Some(g) = here.parallel_group {
                while process.get(j).is_some_and(|s| s.parallel_group == Some(g)) {
                    j += 1;
                }
            }
            if j >= process.len() {
                return Err(WorkflowError::NoNextStep);
            }
            next.state = S::InProgress;
            next.step = Some(j);
        }
        Action::Approve => {
            if pos.state != S::InProgress {
                return Err(not_allowed());
            }
            let here = current.ok_or_else(not_allowed)?;
            if here.step != StepKind::Approval {
                return Err(WorkflowError::WrongStep(here.step.label_vi()));
            }
            require(
                current_unit.is_some_and(|u| p.has_role_in(u, &[Role::Leader])),
                crate::auth::Denied::NoRoleInUnit,
            )?;
            next.step = Some((pos.step.unwrap_or(0) + 1).min(process.len() - 1));
        }
        Action::RecordResult => {
            if pos.state != S::InProgress {
                return Err(not_allowed());
            }
            let here = current.ok_or_else(not_allowed)?;
            if !matches!(here.step, StepKind::Signing | StepKind::Returning) {
                return Err(WorkflowError::WrongStep(here.step.label_vi()));
            }
            require(holds_step() || desk(), crate::auth::Denied::NoRoleInUnit)?;
            next.state = S::Resolved;
        }
        Action::ReturnResult { .. } => {
            if pos.state != S::Resolved {
                return Err(not_allowed());
            }
            require(desk(), crate::auth::Denied::NoRoleInUnit)?;
            next.state = S::Returned;
            acting_unit = Some(units.receiving);
        }
        Action::RequestSupplement { .. } | Action::RequestPayment { .. } => {
            if !matches!(pos.state, S::Accepted | S::InProgress) {
                return Err(not_allowed());
            }
            require(holds_step() || desk(), crate::auth::Denied::NoRoleInUnit)?;
            next.resume_state = Some(pos.state);
            next.paused_at = Some(now);
            next.state =
                if matches!(action, Action::RequestPayment { .. }) { S::NeedPayment } else { S::NeedSupplement };
        }
        Action::SupplySupplement | Action::ConfirmPayment => {
            let expected = if matches!(action, Action::ConfirmPayment) { S::NeedPayment } else { S::NeedSupplement };
            if pos.state != expected {
                return Err(not_allowed());
            }
            require(acting.is_submitter || desk(), crate::auth::Denied::NoRoleInUnit)?;
            // The clock stood still from the request until now: the due date moves by exactly
            // the working time that passed.
            if let (Some(paused), Some(due)) = (pos.paused_at, pos.due_at) {
                let remaining = calendar.working_minutes_between(paused, due);
                next.due_at = Some(calendar.add_working_minutes(now, remaining));
            }
            next.paused_at = None;
            next.state = pos.resume_state.unwrap_or(S::InProgress);
            next.resume_state = None;
            acting_unit = if acting.is_submitter { None } else { Some(units.receiving) };
        }
        Action::Withdraw { .. } => {
            if pos.state.is_closed() || pos.state == S::Resolved {
                return Err(not_allowed());
            }
            require(acting.is_submitter || desk(), crate::auth::Denied::NoRoleInUnit)?;
            next.state = S::Withdrawn;
            next.paused_at = None;
            acting_unit = if acting.is_submitter { None } else { Some(units.receiving) };
        }
        Action::Stop { .. } => {
            if !matches!(pos.state, S::Accepted | S::InProgress | S::NeedSupplement | S::NeedPayment) {
                return Err(not_allowed());
            }
            require(p.has_role_in(units.deciding, &[Role::Leader]), crate::auth::Denied::NoRoleInUnit)?;
            next.state = S::Stopped;
            next.paused_at = None;
            acting_unit = Some(units.deciding);
        }
        Action::ApologizeAndReschedule { new_due_at, .. } => {
            if !matches!(pos.state, S::Accepted | S::InProgress | S::NeedSupplement | S::NeedPayment) {
                return Err(not_allowed());
            }
            let due = pos.due_at.ok_or(WorkflowError::NoDeadline)?;
            if *new_due_at <= due {
                return Err(WorkflowError::NewDueNotLater);
            }
            require(holds_step() || p.has_role_in(units.deciding, &[Role::Leader]), crate::auth::Denied::NoRoleInUnit)?;
            next.original_due_at = Some(pos.original_due_at.unwrap_or(due));
            next.due_at = Some(*new_due_at);
        }
    }
    Ok(Outcome { position: next, acting_unit })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::RoleGrant;
    use crate::catalog::tests::sample_spec;
    use crate::dossier::local_date;
    use chrono::TimeZone;

    struct World {
        units: Units,
        desk: Principal,
        specialist: Principal,
        leader: Principal,
        other_desk: Principal,
        cal: WorkingCalendar,
    }

    fn staff(role: Role, unit: Uuid) -> Principal {
        Principal::Staff { user_id: Uuid::now_v7(), grants: vec![RoleGrant { role, org_unit_id: unit }] }
    }

    fn world() -> World {
        let (r, other) = (Uuid::now_v7(), Uuid::now_v7());
        World {
            units: Units { receiving: r, deciding: r },
            desk: staff(Role::DeskOfficer, r),
            specialist: staff(Role::Specialist, r),
            leader: staff(Role::Leader, r),
            other_desk: staff(Role::DeskOfficer, other),
            cal: crate::calendar::embedded_calendar().unwrap(),
        }
    }

    fn vn(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Ho_Chi_Minh.with_ymd_and_hms(y, m, d, h, mi, 0).unwrap().with_timezone(&Utc)
    }

    fn start() -> Position {
        Position {
            state: DossierState::Submitted,
            step: None,
            due_at: None,
            original_due_at: None,
            paused_at: None,
            resume_state: None,
        }
    }

    fn act(
        w: &World,
        pos: &Position,
        who: &Principal,
        a: Action,
        now: DateTime<Utc>,
    ) -> Result<Position, WorkflowError> {
        let spec = sample_spec();
        decide(
            pos,
            &spec.process,
            w.units,
            &|_| None,
            &Acting { principal: who, is_submitter: false },
            &a,
            now,
            &w.cal,
            crate::catalog::Deadline::WorkingHours { hours: 8 },
        )
        .map(|o| o.position)
    }

    #[test]
    fn happy_path_accept_process_approve_return() {
        let w = world();
        let t = vn(2026, 11, 23, 8, 0);
        let p = act(&w, &start(), &w.desk, Action::Accept, t).unwrap();
        assert_eq!((p.state, p.step), (DossierState::Accepted, Some(0)));
        // 08:00–11:30 and 13:30–17:00 make 7 hours; the eighth is Tuesday 07:00–08:00.
        assert_eq!(p.due_at, Some(vn(2026, 11, 24, 8, 0)));
        let p = act(&w, &p, &w.desk, Action::Forward, t).unwrap();
        assert_eq!((p.state, p.step), (DossierState::InProgress, Some(1)));
        assert!(
            matches!(act(&w, &p, &w.desk, Action::Forward, t), Err(WorkflowError::Denied(_))),
            "appraisal belongs to the specialist"
        );
        let p = act(&w, &p, &w.specialist, Action::Forward, t).unwrap();
        assert_eq!(p.step, Some(2));
        assert!(
            matches!(act(&w, &p, &w.leader, Action::Forward, t), Err(WorkflowError::WrongStep(_))),
            "approval is approved, not forwarded"
        );
        assert!(matches!(act(&w, &p, &w.specialist, Action::Approve, t), Err(WorkflowError::Denied(_))));
        let p = act(&w, &p, &w.leader, Action::Approve, t).unwrap();
        assert_eq!(p.step, Some(3));
        let p = act(&w, &p, &w.desk, Action::RecordResult, t).unwrap();
        assert_eq!(p.state, DossierState::Resolved);
        let p =
            act(&w, &p, &w.desk, Action::ReturnResult { channel: crate::catalog::ReturnChannel::Counter }, t).unwrap();
        assert_eq!(p.state, DossierState::Returned);
        assert!(act(&w, &p, &w.desk, Action::Withdraw { reason: "muộn".into() }, t).is_err());
    }

    #[test]
    fn acceptance_starts_a_calendar_day_clock_too() {
        let w = world();
        let spec = sample_spec();
        let accept = |deadline| {
            decide(
                &start(),
                &spec.process,
                w.units,
                &|_| None,
                &Acting { principal: &w.desk, is_submitter: false },
                &Action::Accept,
                vn(2026, 11, 23, 9, 0),
                &w.cal,
                deadline,
            )
            .unwrap()
            .position
            .due_at
        };
        // 5 calendar days from Monday 23/11 is Saturday 28/11: moved to Monday 30/11, end of day.
        assert_eq!(accept(crate::catalog::Deadline::CalendarDays { days: 5 }), Some(vn(2026, 11, 30, 17, 0)));
        assert_eq!(accept(crate::catalog::Deadline::None), None);
    }

    #[test]
    fn refusal_needs_a_reason_and_the_right_desk() {
        let w = world();
        let t = vn(2026, 11, 23, 8, 0);
        assert_eq!(
            act(&w, &start(), &w.desk, Action::Refuse { reason: " ".into() }, t),
            Err(WorkflowError::ReasonRequired)
        );
        assert!(matches!(
            act(&w, &start(), &w.other_desk, Action::Refuse { reason: "Sai thẩm quyền".into() }, t),
            Err(WorkflowError::Denied(_))
        ));
        let p = act(&w, &start(), &w.desk, Action::Refuse { reason: "Không thuộc thẩm quyền".into() }, t).unwrap();
        assert_eq!(p.state, DossierState::Refused);
        assert!(act(&w, &p, &w.desk, Action::Accept, t).is_err());
    }

    #[test]
    fn supplement_stops_the_clock_for_exactly_the_working_time_it_took() {
        let w = world();
        // Accepted Friday 20/11/2026 08:00 with 8 working hours: due Monday 08:00.
        let p = act(&w, &start(), &w.desk, Action::Accept, vn(2026, 11, 20, 8, 0)).unwrap();
        assert_eq!(p.due_at, Some(vn(2026, 11, 23, 8, 0)));
        let p = act(&w, &p, &w.desk, Action::Forward, vn(2026, 11, 20, 8, 30)).unwrap();
        // At 10:00 (6 working hours left) the specialist asks for a supplement.
        let paused = act(
            &w,
            &p,
            &w.specialist,
            Action::RequestSupplement { reason: "Thiếu giấy chứng sinh".into() },
            vn(2026, 11, 20, 10, 0),
        )
        .unwrap();
        assert_eq!(paused.state, DossierState::NeedSupplement);
        // Supplied Monday 23/11 at 09:00: the 6 hours left run 09:00–11:30 and 13:30–17:00.
        let resumed = act(&w, &paused, &w.desk, Action::SupplySupplement, vn(2026, 11, 23, 9, 0)).unwrap();
        assert_eq!(resumed.state, DossierState::InProgress);
        assert_eq!(resumed.paused_at, None);
        assert_eq!(resumed.due_at, Some(vn(2026, 11, 23, 17, 0)));
        assert_eq!(w.cal.working_minutes_between(vn(2026, 11, 23, 9, 0), resumed.due_at.unwrap()), 6 * 60);
    }

    #[test]
    fn apology_keeps_the_original_due_date() {
        let w = world();
        let p = act(&w, &start(), &w.desk, Action::Accept, vn(2026, 11, 23, 8, 0)).unwrap();
        let first = p.due_at.unwrap();
        let later = vn(2026, 11, 26, 17, 0);
        assert_eq!(
            act(&w, &p, &w.desk, Action::ApologizeAndReschedule { new_due_at: first, reason: "Quá tải".into() }, first),
            Err(WorkflowError::NewDueNotLater)
        );
        let p = act(
            &w,
            &p,
            &w.desk,
            Action::ApologizeAndReschedule { new_due_at: later, reason: "Chờ xác minh".into() },
            first,
        )
        .unwrap();
        assert_eq!((p.due_at, p.original_due_at), (Some(later), Some(first)));
        let p = act(
            &w,
            &p,
            &w.leader,
            Action::ApologizeAndReschedule { new_due_at: later + chrono::Duration::days(1), reason: "Thêm".into() },
            first,
        )
        .unwrap();
        assert_eq!(p.original_due_at, Some(first), "the first due date stays the reference");
        assert_eq!(local_date(p.due_at.unwrap()), chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap());
    }

    #[test]
    fn withdraw_and_stop() {
        let w = world();
        let t = vn(2026, 11, 23, 8, 0);
        let p = act(&w, &start(), &w.desk, Action::Accept, t).unwrap();
        let spec = sample_spec();
        let applicant = Principal::Client { client_id: Uuid::now_v7(), scopes: vec![], org_unit_id: None };
        let by_applicant = decide(
            &p,
            &spec.process,
            w.units,
            &|_| None,
            &Acting { principal: &applicant, is_submitter: true },
            &Action::Withdraw { reason: "Không còn nhu cầu".into() },
            t,
            &w.cal,
            crate::catalog::Deadline::WorkingHours { hours: 8 },
        )
        .unwrap();
        assert_eq!(by_applicant.position.state, DossierState::Withdrawn);
        let stranger = decide(
            &p,
            &spec.process,
            w.units,
            &|_| None,
            &Acting { principal: &applicant, is_submitter: false },
            &Action::Withdraw { reason: "x".into() },
            t,
            &w.cal,
            crate::catalog::Deadline::WorkingHours { hours: 8 },
        );
        assert!(matches!(stranger, Err(WorkflowError::Denied(_))));
        assert!(matches!(
            act(&w, &p, &w.specialist, Action::Stop { reason: "Căn cứ khoản 2".into() }, t),
            Err(WorkflowError::Denied(_))
        ));
        assert_eq!(
            act(&w, &p, &w.leader, Action::Stop { reason: "Theo yêu cầu của Tòa án".into() }, t).unwrap().state,
            DossierState::Stopped
        );
    }

    proptest::proptest! {
        /// Whatever actions a dossier goes through, replaying its history on the same calendar
        /// gives back the due dates the workflow stored (so a recomputation changes nothing
        /// unless the calendar did).
        #[test]
        fn replaying_history_reproduces_the_stored_due_dates(
            steps in proptest::collection::vec((0usize..7, 1i64..(60 * 24 * 6)), 1..25),
            hours in 1u32..200,
        ) {
            let w = world();
            let spec = sample_spec();
            let unit = w.units.receiving;
            let everyone = Principal::Staff {
                user_id: Uuid::now_v7(),
                grants: [Role::DeskOfficer, Role::Specialist, Role::Leader]
                    .into_iter()
                    .map(|role| RoleGrant { role, org_unit_id: unit })
                    .collect(),
            };
            let deadline = crate::catalog::Deadline::WorkingHours { hours };
            let mut t = vn(2025, 12, 29, 9, 0);
            let mut pos = start();
            pos.due_at = w.cal.due_at(t, deadline);
            let mut history = vec![row(1, t, "submit", pos.due_at)];
            for (choice, gap) in steps {
                t += chrono::Duration::minutes(gap);
                let action = match choice {
                    0 => Action::Accept,
                    1 => Action::Forward,
                    2 => Action::RequestSupplement { reason: "Thiếu giấy tờ".into() },
                    3 => Action::SupplySupplement,
                    4 => Action::RequestPayment { amount: 50_000 },
                    5 => Action::ConfirmPayment,
                    _ => Action::ApologizeAndReschedule {
                        new_due_at: pos.due_at.unwrap_or(t) + chrono::Duration::days(3),
                        reason: "Cần xác minh thêm".into(),
                    },
                };
                let Ok(out) = decide(
                    &pos,
                    &spec.process,
                    w.units,
                    &|_| None,
                    &Acting { principal: &everyone, is_submitter: false },
                    &action,
                    t,
                    &w.cal,
                    deadline,
                ) else {
                    continue;
                };
                pos = out.position;
                history.push(row(history.len() as i32 + 1, t, action.name(), pos.due_at));
            }
            let replayed = crate::deadline::replay_due(&history, deadline, &w.cal).unwrap();
            proptest::prop_assert_eq!(replayed.due_at, pos.due_at);
            proptest::prop_assert_eq!(replayed.original_due_at, pos.original_due_at);
        }
    }

    #[test]
    fn every_action_has_plain_words() {
        let names = [
            Action::Accept,
            Action::Refuse { reason: "x".into() },
            Action::Forward,
            Action::RequestSupplement { reason: "x".into() },
            Action::SupplySupplement,
            Action::RequestPayment { amount: 1 },
            Action::ConfirmPayment,
            Action::Withdraw { reason: "x".into() },
            Action::Stop { reason: "x".into() },
            Action::Approve,
            Action::RecordResult,
            Action::ReturnResult { channel: crate::catalog::ReturnChannel::Online },
            Action::ApologizeAndReschedule { new_due_at: Utc::now(), reason: "x".into() },
        ];
        let fallback = describe_action("no-such-action");
        for a in names {
            assert_ne!(describe_action(a.name()), fallback, "{}", a.name());
        }
        assert_ne!(describe_action("submit"), fallback);
    }

    fn row(seq: i32, at: DateTime<Utc>, action: &str, due_at: Option<DateTime<Utc>>) -> crate::dossier::HistoryEntry {
        crate::dossier::history_row(seq, at, action, DossierState::InProgress, None, due_at)
    }
}
