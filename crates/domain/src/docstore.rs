//! Each person's electronic document store (kho quản lý dữ liệu điện tử của tổ chức, cá nhân;
//! Decree 45/2020, TT 01/2023/TT-VPCP): the signed results issued to them and the components an
//! officer verified, kept with their type, issuer, validity and hash, so that a later dossier
//! needing a document of the same type reuses it instead of asking for it again. Reuse is what
//! the digitisation group of the QĐ 766 index counts.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::catalog::{ComponentSpec, FileType};
use crate::dossier::UploadedFile;
use crate::form::FieldError;

/// How a document entered the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// An electronic result the platform signed and issued.
    Result,
    /// A submitted component an officer checked against the original (digitised).
    VerifiedComponent,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Result => "result",
            Self::VerifiedComponent => "verified_component",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Result, Self::VerifiedComponent].into_iter().find(|x| x.as_str() == s)
    }
}

/// One document in a person's store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StoredDocument {
    pub id: Uuid,
    /// The identity number (CCCD / tax code) of the person or organisation it belongs to.
    #[serde(skip)]
    pub owner_identity: String,
    /// The kind of paper across procedures (a component's or result's `document_type`).
    pub document_type: String,
    pub title: String,
    /// The agency that issued or verified it.
    pub issuer: String,
    pub source: Source,
    pub valid_from: NaiveDate,
    /// Last day it may be used; `None` for no limit.
    pub valid_until: Option<NaiveDate>,
    /// SHA-256 of the file, hexadecimal.
    pub sha256: String,
    pub content_type: String,
    pub size: i64,
    /// The dossier it was issued or verified in.
    pub dossier_code: String,
    pub created_at: DateTime<Utc>,
}

impl StoredDocument {
    pub fn valid_on(&self, day: NaiveDate) -> bool {
        self.valid_from <= day && self.valid_until.is_none_or(|u| day <= u)
    }

    fn file_type(&self) -> Option<FileType> {
        FileType::ALL.into_iter().find(|t| t.mime() == self.content_type)
    }
}

/// The stored documents that can stand in for one component of a procedure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Offer {
    pub component: String,
    pub component_name: String,
    /// Newest first.
    pub documents: Vec<StoredDocument>,
}

fn fits(c: &ComponentSpec, d: &StoredDocument, day: NaiveDate) -> bool {
    !c.document_type.is_empty()
        && c.document_type == d.document_type
        && d.valid_on(day)
        && d.file_type().is_some_and(|t| c.file_types.contains(&t))
}

/// For each component of a procedure, the documents of `store` (one person's) of its type, valid
/// on `day` and of a file type the component accepts, newest first. Components nothing fits are
/// left out.
pub fn offers(components: &[ComponentSpec], store: &[StoredDocument], day: NaiveDate) -> Vec<Offer> {
    components
        .iter()
        .filter_map(|c| {
            let mut documents: Vec<StoredDocument> = store.iter().filter(|d| fits(c, d, day)).cloned().collect();
            documents.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
            (!documents.is_empty()).then(|| Offer {
                component: c.code.clone(),
                component_name: c.name.clone(),
                documents,
            })
        })
        .collect()
}

/// A component a submission fills from the store instead of an upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reuse {
    pub component: String,
    pub document_id: Uuid,
}

fn reuse_error(component: &str, message: impl Into<String>) -> FieldError {
    FieldError { field: format!("/reuse/{component}"), label: component.to_owned(), message: message.into() }
}

/// Checks that each reused document belongs to the applicant, is of the component's type, valid
/// on `day` and of an accepted file type; each component at most once. On success, the reused
/// components as the uploads the intake check counts (so a required component is present).
pub fn check_reuse(
    components: &[ComponentSpec],
    requested: &[(Reuse, Option<StoredDocument>)],
    applicant_identity: &str,
    day: NaiveDate,
) -> Result<Vec<UploadedFile>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut files = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (r, doc) in requested {
        if !seen.insert(r.component.as_str()) {
            errors.push(reuse_error(&r.component, "Mỗi thành phần chỉ dùng lại một giấy tờ"));
            continue;
        }
        let Some(c) = components.iter().find(|c| c.code == r.component) else {
            errors.push(reuse_error(&r.component, format!("Thủ tục không có thành phần hồ sơ \"{}\"", r.component)));
            continue;
        };
        // A document of someone else is reported as missing: its existence is not disclosed.
        let Some(d) = doc.as_ref().filter(|d| d.owner_identity == applicant_identity) else {
            errors.push(reuse_error(&c.code, "Không tìm thấy giấy tờ này trong kho dữ liệu của người nộp"));
            continue;
        };
        if !fits(c, d, day) {
            let why = if !d.valid_on(day) {
                "Giấy tờ đã hết hiệu lực"
            } else {
                "Giấy tờ không đúng loại của thành phần này"
            };
            errors.push(reuse_error(&c.code, why));
            continue;
        }
        files.push(UploadedFile {
            component: c.code.clone(),
            file_name: d.title.clone(),
            detected: d.file_type(),
            size: d.size.max(1) as u64,
        });
    }
    if errors.is_empty() { Ok(files) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn component(code: &str, kind: &str) -> ComponentSpec {
        ComponentSpec {
            code: code.into(),
            name: format!("Giấy {code}"),
            required: true,
            file_types: vec![FileType::Pdf, FileType::Jpg],
            originals: 1,
            copies: 0,
            document_type: kind.into(),
        }
    }

    fn doc(kind: &str, until: Option<&str>, owner: &str, minute: u32) -> StoredDocument {
        StoredDocument {
            id: Uuid::now_v7(),
            owner_identity: owner.into(),
            document_type: kind.into(),
            title: "Giấy khai sinh".into(),
            issuer: "UBND xã Lạc Sơn".into(),
            source: Source::Result,
            valid_from: "2026-01-01".parse().unwrap(),
            valid_until: until.map(|u| u.parse().unwrap()),
            sha256: "ab".repeat(32),
            content_type: "application/pdf".into(),
            size: 1000,
            dossier_code: "000.00.31.H99-260101-0001".into(),
            created_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, minute, 0).unwrap(),
        }
    }

    #[test]
    fn offers_match_type_validity_and_file_type() {
        let day = "2026-06-01".parse().unwrap();
        let comps =
            [component("giay-khai-sinh", "giay-khai-sinh"), component("cccd", "can-cuoc"), component("khac", "")];
        let old = doc("giay-khai-sinh", None, "001", 1);
        let new = doc("giay-khai-sinh", None, "001", 2);
        let expired = doc("can-cuoc", Some("2026-05-31"), "001", 3);
        let mut docx = doc("can-cuoc", None, "001", 4);
        docx.content_type = FileType::Docx.mime().into();
        let o = offers(&comps, &[old.clone(), new.clone(), expired, docx], day);
        assert_eq!(o.len(), 1, "the ID card offers are expired or of a refused file type; no type, no offer");
        assert_eq!(o[0].component, "giay-khai-sinh");
        assert_eq!(o[0].documents, vec![new, old], "newest first");
    }

    #[test]
    fn reuse_is_checked_and_counts_as_the_component() {
        let day = "2026-06-01".parse().unwrap();
        let comps = [component("giay-khai-sinh", "giay-khai-sinh")];
        let mine = doc("giay-khai-sinh", None, "001", 1);
        let r = |d: &StoredDocument| Reuse { component: "giay-khai-sinh".into(), document_id: d.id };
        let files = check_reuse(&comps, &[(r(&mine), Some(mine.clone()))], "001", day).unwrap();
        assert_eq!(files[0].component, "giay-khai-sinh");
        assert_eq!(files[0].detected, Some(FileType::Pdf));
        // Someone else's, missing, expired, twice, unknown component: each refused with its reason.
        let err = |req: &[(Reuse, Option<StoredDocument>)]| {
            check_reuse(&comps, req, "001", day).unwrap_err()[0].message.clone()
        };
        let theirs = doc("giay-khai-sinh", None, "002", 1);
        assert!(err(&[(r(&theirs), Some(theirs.clone()))]).contains("Không tìm thấy"));
        assert!(err(&[(r(&mine), None)]).contains("Không tìm thấy"));
        let expired = doc("giay-khai-sinh", Some("2026-05-01"), "001", 1);
        assert!(err(&[(r(&expired), Some(expired.clone()))]).contains("hết hiệu lực"));
        assert!(err(&[(r(&mine), Some(mine.clone())), (r(&mine), Some(mine.clone()))]).contains("một giấy tờ"));
        let unknown = Reuse { component: "khac".into(), document_id: mine.id };
        assert!(err(&[(unknown, Some(mine.clone()))]).contains("không có thành phần"));
    }
}
