//! Tells applicants about their dossiers' deadlines: the sweeper's `dossier.due_soon` and
//! `dossier.overdue` events become a notice to the citizen account that owns the dossier, at its
//! verified e-mail (else its verified phone). Unverified addresses get nothing: they may not be
//! the applicant's. Each event is claimed in the store before the notice leaves, so a
//! redelivered event (or the same event on two nodes) sends no second notice. A notice the
//! notifier cannot take is logged, counted (`cqs_notices_failed_total`) and given up, with its
//! claim given back: an unreachable mail server must not hold up the outbox relay, which on a
//! single node hands every consumer the same batch.

use std::sync::Arc;

use cqs_store::{CitizenAccount, Store};

use super::bus::Event;
use super::consumers::Consumer;
use crate::notify::{Destination, Notice, Notifier};

pub struct ApplicantNotices {
    pub store: Arc<dyn Store>,
    pub notifier: Arc<dyn Notifier>,
}

impl ApplicantNotices {
    pub const NAME: &'static str = "applicant-notices";
}

/// Where a citizen's notices about their dossiers go.
pub fn verified_destination(a: &CitizenAccount) -> Option<Destination> {
    match (&a.email, a.email_verified_at, &a.phone, a.phone_verified_at) {
        (Some(e), Some(_), _, _) => Some(Destination::Email(e.clone())),
        (_, _, Some(p), Some(_)) => Some(Destination::Phone(p.clone())),
        _ => None,
    }
}

/// The notice for a deadline event, if it is one.
fn notice_for(e: &Event, to: Destination) -> Option<Notice> {
    let code = e.payload.get("code")?.as_str()?;
    let due: chrono::DateTime<chrono::Utc> = serde_json::from_value(e.payload.get("due_at")?.clone()).ok()?;
    let due = crate::ui::fmt::datetime(due);
    let (subject, text) = match e.topic.as_str() {
        "dossier.due_soon" => (
            format!("Hồ sơ {code} sắp đến hạn trả kết quả"),
            format!(
                "Hồ sơ {code} của bạn có hạn trả kết quả lúc {due}.\n\
                 Bạn có thể theo dõi tình trạng hồ sơ tại mục Tra cứu hồ sơ của Cổng Dịch vụ công với mã {code}."
            ),
        ),
        "dossier.overdue" => (
            format!("Hồ sơ {code} đã quá hạn giải quyết"),
            format!(
                "Hồ sơ {code} của bạn đã quá hạn trả kết quả ({due}).\n\
                 Cơ quan giải quyết sẽ gửi văn bản xin lỗi và hẹn lại thời gian trả kết quả theo quy định.\n\
                 Bạn có thể theo dõi tình trạng hồ sơ tại mục Tra cứu hồ sơ của Cổng Dịch vụ công với mã {code}."
            ),
        ),
        _ => return None,
    };
    Some(Notice { to, subject, text, kind: e.topic.clone() })
}

impl ApplicantNotices {
    /// The notice an event calls for: the dossier's owner, with a verified address.
    async fn notice(&self, e: &Event) -> Result<Option<Notice>, String> {
        let Some(code) = e.payload.get("code").and_then(|c| c.as_str()) else { return Ok(None) };
        let Some(dossier) = self.store.dossier_by_code(code).await.map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let Some(owner) = dossier.owner_account_id else { return Ok(None) };
        let Some(account) = self.store.citizen_by_id(owner).await.map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        Ok(verified_destination(&account).and_then(|to| notice_for(e, to)))
    }
}

#[async_trait::async_trait]
impl Consumer for ApplicantNotices {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn topics(&self) -> &'static str {
        "dossier.*"
    }

    async fn handle(&self, events: &[Event]) -> Result<(), String> {
        for e in events.iter().filter(|e| matches!(e.topic.as_str(), "dossier.due_soon" | "dossier.overdue")) {
            let Some(notice) = self.notice(e).await? else { continue };
            // Claims are stamped with the wall clock: only their retention depends on it.
            if !self.store.claim_event(Self::NAME, e.event_id, chrono::Utc::now()).await.map_err(|e| e.to_string())? {
                continue;
            }
            if let Err(err) = self.notifier.send(&notice).await {
                tracing::error!(error = %err, kind = notice.kind.as_str(), "a deadline notice to an applicant was not sent");
                metrics::counter!("cqs_notices_failed_total", "kind" => notice.kind.clone()).increment(1);
                self.store.release_event(Self::NAME, e.event_id).await.map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }
}
