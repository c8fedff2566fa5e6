//! Dossiers (hồ sơ): states, intake channels, applicants and the check of a submission against
//! the procedure version it is pinned to.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::catalog::{FileType, OnlineLevel, ProcedureSpec};
use crate::form::{FieldError, FormSchema};
use crate::ids::{DossierCode, IdentityKind, IdentityNumber, ProcedureCode};
use crate::text;

/// Where a dossier is in its life. The national status codes (1–10) are mapped from these by
/// the configurable [`crate::status::StatusMapping`], not hard-wired here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DossierState {
    /// Submitted online or by post, not yet accepted at the desk.
    Submitted,
    Accepted,
    Refused,
    InProgress,
    NeedSupplement,
    NeedPayment,
    Withdrawn,
    Stopped,
    Resolved,
    Returned,
}

impl DossierState {
    pub const ALL: [DossierState; 10] = [
        Self::Submitted,
        Self::Accepted,
        Self::Refused,
        Self::InProgress,
        Self::NeedSupplement,
        Self::NeedPayment,
        Self::Withdrawn,
        Self::Stopped,
        Self::Resolved,
        Self::Returned,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Accepted => "accepted",
            Self::Refused => "refused",
            Self::InProgress => "in_progress",
            Self::NeedSupplement => "need_supplement",
            Self::NeedPayment => "need_payment",
            Self::Withdrawn => "withdrawn",
            Self::Stopped => "stopped",
            Self::Resolved => "resolved",
            Self::Returned => "returned",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
    /// Closed dossiers no longer run against a deadline.
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Refused | Self::Withdrawn | Self::Stopped | Self::Returned)
    }
}

/// How the dossier reached us (hình thức tiếp nhận).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Online,
    Counter,
    Post,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Counter => "counter",
            Self::Post => "post",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Online, Self::Counter, Self::Post].into_iter().find(|c| c.as_str() == s)
    }
    /// A dossier taken at the counter is accepted on the spot; others wait for the desk.
    pub fn initial_state(self) -> DossierState {
        match self {
            Self::Counter => DossierState::Accepted,
            Self::Online | Self::Post => DossierState::Submitted,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplicantKind {
    Person,
    Organization,
}

/// Applicant data as the caller sends it.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicantInput {
    pub kind: ApplicantKind,
    pub identity_kind: IdentityKind,
    pub identity_number: String,
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
}

/// A checked applicant: identity number of the right shape, NFC text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Applicant {
    pub kind: ApplicantKind,
    pub identity_kind: IdentityKind,
    pub identity_number: String,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
}

fn field_error(field: &str, label: &str, message: impl Into<String>) -> FieldError {
    FieldError { field: field.to_owned(), label: label.to_owned(), message: message.into() }
}

fn clean_text(errors: &mut Vec<FieldError>, field: &str, label: &str, v: &str, max: usize) -> String {
    let v = text::nfc(v);
    if v.is_empty() {
        errors.push(field_error(field, label, "Trường này là bắt buộc"));
    } else if v.chars().count() > max {
        errors.push(field_error(field, label, format!("Không được dài quá {max} ký tự")));
    } else if let Some(problem) = text::deceptive_text(&v) {
        errors.push(field_error(field, label, problem));
    }
    v
}

impl ApplicantInput {
    pub fn check(self) -> Result<Applicant, Vec<FieldError>> {
        let mut errors = Vec::new();
        if let Err(e) = IdentityNumber::parse(self.identity_kind, self.identity_number.trim()) {
            errors.push(field_error("/applicant/identity_number", "Số định danh", e.to_string()));
        }
        match (self.kind, self.identity_kind) {
            (ApplicantKind::Organization, IdentityKind::Enterprise)
            | (ApplicantKind::Person, IdentityKind::Citizen | IdentityKind::Passport) => {}
            _ => errors.push(field_error(
                "/applicant/identity_kind",
                "Loại giấy tờ định danh",
                "Không phù hợp với loại người nộp (cá nhân dùng CCCD/hộ chiếu, tổ chức dùng mã số doanh nghiệp)",
            )),
        }
        let name = clean_text(&mut errors, "/applicant/name", "Họ và tên / tên tổ chức", &self.name, 200);
        if let Some(why) = text::name_problem(&name).filter(|_| text::deceptive_text(&name).is_none()) {
            errors.push(field_error("/applicant/name", "Họ và tên / tên tổ chức", why));
        }
        let phone = self.phone.map(|p| p.trim().to_owned()).filter(|p| !p.is_empty());
        if let Some(p) = &phone {
            let digits = p.strip_prefix('+').unwrap_or(p);
            if !(9..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
                errors.push(field_error("/applicant/phone", "Số điện thoại", "Số điện thoại gồm 9 đến 15 chữ số"));
            }
        }
        let email = self.email.map(|e| e.trim().to_owned()).filter(|e| !e.is_empty());
        if let Some(e) = &email {
            let valid = e.len() <= 254
                && e.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'))
                && !e.chars().any(char::is_whitespace);
            if !valid {
                errors.push(field_error("/applicant/email", "Thư điện tử", "Địa chỉ thư điện tử không hợp lệ"));
            }
        }
        let address = self
            .address
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(|a| clean_text(&mut errors, "/applicant/address", "Địa chỉ", a, 500));
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Applicant {
            kind: self.kind,
            identity_kind: self.identity_kind,
            identity_number: self.identity_number.trim().to_owned(),
            name,
            phone,
            email,
            address,
        })
    }
}

/// An uploaded file as the intake check sees it: which component it is for, what its content
/// really is, and how big.
#[derive(Debug, Clone)]
pub struct UploadedFile {
    pub component: String,
    pub file_name: String,
    pub detected: Option<FileType>,
    pub size: u64,
}

/// Longest note a submission may carry.
pub const NOTE_MAX_CHARS: usize = 2000;

/// The note sent with a submission (the counter officer's note at intake): NFC, trimmed, line
/// breaks kept; an empty note is none. Too long, or with control or invisible characters, it is
/// refused.
pub fn check_note(note: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(v) = note.map(|n| text::nfc(&n.replace("\r\n", "\n"))).map(|n| n.trim().to_owned()) else {
        return Ok(None);
    };
    let err = |m: String| Err(field_error("/note", "Ghi chú", m));
    if v.is_empty() {
        return Ok(None);
    }
    if v.chars().count() > NOTE_MAX_CHARS {
        return err(format!("Không được dài quá {NOTE_MAX_CHARS} ký tự"));
    }
    if text::has_control_chars(&v.replace(['\n', '\t'], " ")) || text::has_invisible_chars(&v) {
        return err("Chứa ký tự điều khiển hoặc ký tự ẩn không hợp lệ".into());
    }
    Ok(Some(v))
}

/// Most files one component may carry (a scanned paper in several images).
pub const MAX_FILES_PER_COMPONENT: usize = 20;

/// Checks a submission against its procedure: channel allowed, form data valid, every required
/// component present, no unknown component, each file of an allowed type. All problems at once.
pub fn check_submission(
    spec: &ProcedureSpec,
    form: &FormSchema,
    channel: Channel,
    form_data: &serde_json::Value,
    files: &[UploadedFile],
) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    if channel == Channel::Online && spec.online_level == OnlineLevel::InfoOnly {
        errors.push(field_error(
            "/channel",
            "Hình thức nộp",
            "Thủ tục này chưa cho phép nộp hồ sơ trực tuyến; vui lòng nộp tại Bộ phận một cửa",
        ));
    }
    if let Err(e) = form.validate(form_data) {
        errors.extend(e.into_iter().map(|mut fe| {
            fe.field = format!("/form_data{}", fe.field);
            fe
        }));
    }
    let count = check_files(spec, files, &mut errors);
    for comp in &spec.components {
        let n = count.get(comp.code.as_str()).copied().unwrap_or(0);
        if comp.required && n == 0 {
            errors.push(field_error(&format!("/files/{}", comp.code), &comp.name, "Thiếu thành phần hồ sơ bắt buộc"));
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// Checks the documents an applicant sends when asked for a supplement: at least one file, each
/// for a component of the procedure, of an allowed type, not empty.
pub fn check_supplement(spec: &ProcedureSpec, files: &[UploadedFile]) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    if files.is_empty() {
        errors.push(field_error("/files", "Tài liệu bổ sung", "Chọn ít nhất một tệp để bổ sung"));
    }
    check_files(spec, files, &mut errors);
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// Checks each file (known component, allowed type, not empty, not too many per component) and
/// returns how many files each component got.
fn check_files<'a>(
    spec: &'a ProcedureSpec,
    files: &[UploadedFile],
    errors: &mut Vec<FieldError>,
) -> HashMap<&'a str, usize> {
    let mut count: HashMap<&str, usize> = HashMap::new();
    let known: HashSet<&str> = spec.components.iter().map(|c| c.code.as_str()).collect();
    for f in files {
        let at = format!("/files/{}", f.component);
        let Some(comp) = spec.components.iter().find(|c| c.code == f.component) else {
            errors.push(field_error(
                &at,
                &f.file_name,
                format!("Thủ tục không có thành phần hồ sơ \"{}\"", f.component),
            ));
            continue;
        };
        *count.entry(comp.code.as_str()).or_default() += 1;
        if f.size == 0 {
            errors.push(field_error(&at, &comp.name, format!("Tệp {} rỗng", f.file_name)));
        }
        match f.detected {
            Some(t) if comp.file_types.contains(&t) => {}
            _ => {
                let allowed: Vec<&str> = comp.file_types.iter().map(|t| t.extension()).collect();
                errors.push(field_error(
                    &at,
                    &comp.name,
                    format!("Tệp {} không đúng loại cho phép ({})", f.file_name, allowed.join(", ")),
                ));
            }
        }
    }
    for comp in &spec.components {
        let n = count.get(comp.code.as_str()).copied().unwrap_or(0);
        if n > MAX_FILES_PER_COMPONENT {
            errors.push(field_error(
                &format!("/files/{}", comp.code),
                &comp.name,
                format!("Tối đa {MAX_FILES_PER_COMPONENT} tệp cho một thành phần"),
            ));
        }
    }
    debug_assert!(count.keys().all(|k| known.contains(k)));
    count
}

/// Detects a file's real type from its first bytes; the declared name and content type are not
/// trusted.
pub fn sniff(head: &[u8]) -> Option<FileType> {
    // A PDF header at the very start settles it: `infer::get` tries every type it knows in its
    // own order, and tar's signature at byte 257 ("ustar") can occur in a PDF's bytes and win
    // (the crash run's random PDFs hit it once).
    if head.starts_with(b"%PDF-") {
        return Some(FileType::Pdf);
    }
    let kind = infer::get(head)?;
    match kind.mime_type() {
        "application/pdf" => Some(FileType::Pdf),
        "image/jpeg" => Some(FileType::Jpg),
        "image/png" => Some(FileType::Png),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => Some(FileType::Docx),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => Some(FileType::Xlsx),
        _ => None,
    }
}

/// A file name safe to store and show: the last path segment only, NFC, no control or
/// separator characters, at most 150 characters.
pub fn safe_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    // Characters are dropped before composing: dropping one between a letter and its accent
    // ("n\0\u{301}") after NFC left a decomposed name (a fuzzing finding).
    let kept: String = text::without_invisible_chars(last)
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, ':' | '*' | '?' | '"' | '<' | '>' | '|'))
        .collect();
    // A part of an NFC text is NFC, so the cut and the trim keep it composed.
    let cleaned: String = text::nfc(&kept).chars().take(150).collect();
    let trimmed = cleaned.trim_matches(|c: char| c == '.' || c.is_whitespace());
    if trimmed.is_empty() { "tep-dinh-kem".to_owned() } else { trimmed.to_owned() }
}

/// Who did something to a dossier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: Option<Uuid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    Staff,
    Client,
    Citizen,
    System,
}

/// One row of a dossier's append-only history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub seq: i32,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub org_unit_id: Option<Uuid>,
    pub action: String,
    pub from_state: Option<DossierState>,
    pub to_state: DossierState,
    pub note: Option<String>,
    /// The process step the dossier was at after this row (`None` before acceptance).
    pub step: Option<i32>,
    /// The due date the dossier had after this row (for replaying deadlines on a new calendar).
    #[serde(default)]
    pub due_at: Option<DateTime<Utc>>,
}

/// A history row for tests: a staff action with no actor or unit recorded.
#[cfg(test)]
pub(crate) fn history_row(
    seq: i32,
    at: DateTime<Utc>,
    action: &str,
    to_state: DossierState,
    step: Option<i32>,
    due_at: Option<DateTime<Utc>>,
) -> HistoryEntry {
    HistoryEntry {
        seq,
        at,
        actor: Actor { kind: ActorKind::Staff, id: None },
        org_unit_id: None,
        action: action.into(),
        from_state: None,
        to_state,
        note: None,
        step,
        due_at,
    }
}

/// A dossier as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Dossier {
    pub id: Uuid,
    pub code: DossierCode,
    pub procedure_id: Uuid,
    pub procedure_code: ProcedureCode,
    pub procedure_version: i32,
    pub receiving_unit_id: Uuid,
    pub state: DossierState,
    pub channel: Channel,
    pub applicant: Applicant,
    #[schema(value_type = Object)]
    pub form_data: serde_json::Value,
    pub received_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub submitted_by_client: Option<Uuid>,
    /// The citizen account that submitted it online, which may follow it and act for the applicant.
    pub owner_account_id: Option<Uuid>,
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version, bumped by every change.
    pub version: i32,
    /// Index of the process step that holds the dossier; `None` before acceptance.
    pub current_step: Option<i32>,
    /// The due date before any apology, kept for statistics.
    pub original_due_at: Option<DateTime<Utc>>,
    /// Set while the legal clock is stopped (supplement or payment requested).
    pub paused_at: Option<DateTime<Utc>>,
    /// The state to return to when the pause ends.
    pub resume_state: Option<DossierState>,
}

impl Dossier {
    /// The workflow view of this dossier.
    pub fn position(&self) -> crate::workflow::Position {
        crate::workflow::Position {
            state: self.state,
            step: self.current_step.and_then(|s| usize::try_from(s).ok()),
            due_at: self.due_at,
            original_due_at: self.original_due_at,
            paused_at: self.paused_at,
            resume_state: self.resume_state,
        }
    }

    /// Whom the dossier belongs to, for the access rules: the account that submitted it online,
    /// and the enterprise it names as applicant (whose members share it).
    pub fn owner(&self) -> crate::auth::Owner<'_> {
        let enterprise = (self.applicant.identity_kind == IdentityKind::Enterprise)
            .then_some(self.applicant.identity_number.as_str());
        crate::auth::Owner { account: self.owner_account_id, enterprise }
    }
}

/// An attachment of a dossier, with the hash recorded at upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attachment {
    pub id: Uuid,
    pub component: String,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: DateTime<Utc>,
}

/// The local (Asia/Ho_Chi_Minh) business date of an instant: dossier codes and deadlines use it.
pub fn local_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::tests::sample_spec;
    use serde_json::json;

    fn applicant() -> ApplicantInput {
        ApplicantInput {
            kind: ApplicantKind::Person,
            identity_kind: IdentityKind::Citizen,
            identity_number: "001203004567".into(),
            name: "  Nguyễn Văn An ".into(),
            phone: Some("0912345678".into()),
            email: Some("an@example.vn".into()),
            address: None,
        }
    }

    #[test]
    fn notes_are_trimmed_and_checked() {
        assert_eq!(check_note(None), Ok(None));
        assert_eq!(check_note(Some("  \r\n ")), Ok(None));
        assert_eq!(
            check_note(Some(" Mang bản chính\r\nđể đối chiếu ")),
            Ok(Some("Mang bản chính\nđể đối chiếu".into()))
        );
        assert_eq!(check_note(Some(&"a".repeat(NOTE_MAX_CHARS))).map(|n| n.map(|n| n.len())), Ok(Some(NOTE_MAX_CHARS)));
        assert_eq!(check_note(Some(&"a".repeat(NOTE_MAX_CHARS + 1))).unwrap_err().field, "/note");
        assert!(check_note(Some("có\u{202e}ẩn")).is_err());
        assert!(check_note(Some("có\u{7}chuông")).is_err());
    }

    #[test]
    fn applicant_is_cleaned_and_checked() {
        let a = applicant().check().unwrap();
        assert_eq!(a.name, "Nguyễn Văn An");
        let mut bad = applicant();
        bad.identity_number = "123".into();
        bad.kind = ApplicantKind::Organization;
        bad.email = Some("not-an-email".into());
        bad.phone = Some("12ab".into());
        let fields: Vec<String> = bad.check().unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            ["/applicant/identity_number", "/applicant/identity_kind", "/applicant/phone", "/applicant/email"]
        );
    }

    fn file(component: &str, t: Option<FileType>) -> UploadedFile {
        UploadedFile { component: component.into(), file_name: "a.pdf".into(), detected: t, size: 10 }
    }

    #[test]
    fn submission_checks_components_types_and_form() {
        let spec = sample_spec();
        let form = FormSchema::compile(&spec.form_schema).unwrap();
        let data = json!({"ho_ten_tre": "Bé Na", "ngay_sinh": "2026-01-02"});
        let good = [file("to-khai", Some(FileType::Pdf)), file("giay-chung-sinh", Some(FileType::Pdf))];
        assert_eq!(check_submission(&spec, &form, Channel::Online, &data, &good), Ok(()));

        let bad = [file("to-khai", Some(FileType::Png)), file("la", Some(FileType::Pdf))];
        let errs = check_submission(&spec, &form, Channel::Online, &json!({"ho_ten_tre": ""}), &bad).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"/form_data/ngay_sinh"), "{fields:?}");
        assert!(fields.contains(&"/files/to-khai"));
        assert!(fields.contains(&"/files/la"));
        assert!(fields.contains(&"/files/giay-chung-sinh"));
    }

    #[test]
    fn info_only_procedures_refuse_online_submission() {
        let mut spec = sample_spec();
        spec.online_level = OnlineLevel::InfoOnly;
        let form = FormSchema::compile(&spec.form_schema).unwrap();
        let data = json!({"ho_ten_tre": "Bé Na", "ngay_sinh": "2026-01-02"});
        let files = [file("to-khai", Some(FileType::Pdf)), file("giay-chung-sinh", Some(FileType::Pdf))];
        assert!(check_submission(&spec, &form, Channel::Online, &data, &files).is_err());
        assert!(check_submission(&spec, &form, Channel::Counter, &data, &files).is_ok());
    }

    #[test]
    fn a_pdf_stays_a_pdf_whatever_lies_deeper_in_it() {
        let mut pdf = b"%PDF-1.7\n".to_vec();
        pdf.resize(600, b'a');
        pdf[257..262].copy_from_slice(b"ustar");
        assert_eq!(sniff(&pdf), Some(FileType::Pdf), "tar's signature at 257 does not make it a tar");
        let mut tar = vec![b'a'; 600];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(sniff(&tar), None, "a tar is still refused");
    }

    #[test]
    fn sniffs_real_content_and_cleans_names() {
        assert_eq!(sniff(b"%PDF-1.7\n%\xe2\xe3"), Some(FileType::Pdf));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some(FileType::Png));
        assert_eq!(sniff(b"MZ\x90\0\x03\0\0\0"), None);
        assert_eq!(sniff(b"hello"), None);
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("C:\\Users\\a\\Tờ khai.pdf"), "Tờ khai.pdf");
        assert_eq!(safe_file_name("..."), "tep-dinh-kem");
        assert_eq!(safe_file_name("a\u{0}b<c>.pdf"), "abc.pdf");
        // A right-to-left override would show "hoá đơn\u{202E}fdp.exe" as "hoá đơnexe.pdf".
        assert_eq!(safe_file_name("hoá đơn\u{202E}fdp.exe"), "hoá đơnfdp.exe");
        assert_eq!(safe_file_name("x\u{200B}.pdf\u{FEFF}"), "x.pdf");
        // Decomposed (NFD) names are stored composed.
        assert_eq!(safe_file_name("To\u{302}\u{300} khai.pdf"), "Tồ khai.pdf");
    }

    /// Fuzzing finding: a character dropped between a letter and its accent after composing
    /// left the name decomposed ("n\0\u{301}c" stayed "n\u{301}c", not "ńc").
    #[test]
    fn names_are_composed_after_characters_are_dropped() {
        for name in
            ["n\0\u{301}c.jpg", "Ca\u{200D}\u{300}n cu\u{31B}o\u{31B}\u{301}c.jpg", "e\u{202E}\u{302}\u{301}.pdf"]
        {
            let safe = safe_file_name(name);
            assert!(text::is_nfc(&safe), "{safe:?}");
            assert_eq!(safe_file_name(&safe), safe);
        }
        assert_eq!(safe_file_name("n\0\u{301}c.jpg"), "ńc.jpg");
        assert_eq!(safe_file_name("Ca\u{200D}\u{300}n cu\u{31B}o\u{31B}\u{301}c.jpg"), "Càn cước.jpg");
        assert_eq!(safe_file_name(&format!("{}\u{301}.pdf", "a".repeat(150))).chars().count(), 150);
    }

    #[test]
    fn states_round_trip_and_counter_accepts() {
        for s in DossierState::ALL {
            assert_eq!(DossierState::parse(s.as_str()), Some(s));
        }
        assert_eq!(Channel::Counter.initial_state(), DossierState::Accepted);
        assert_eq!(Channel::Online.initial_state(), DossierState::Submitted);
    }
}
