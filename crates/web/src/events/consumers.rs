//! Consumers of events. Delivery is at least once, so a consumer must make a repeated event a
//! no-op; the ones here claim each event in the store in the transaction that applies it.

use std::sync::Arc;

use cqs_domain::dossier::DossierState;
use cqs_store::{StateChange, Store};

use super::bus::Event;

/// The consumers every node runs (in-process, or each on its durable JetStream consumer).
pub fn standard(store: &Arc<dyn Store>, notifier: &Arc<dyn crate::notify::Notifier>) -> Vec<Arc<dyn Consumer>> {
    vec![
        Arc::new(DossierStateCounts { store: store.clone() }),
        Arc::new(super::applicant_notices::ApplicantNotices { store: store.clone(), notifier: notifier.clone() }),
    ]
}

/// Something that acts on events.
#[async_trait::async_trait]
pub trait Consumer: Send + Sync {
    /// Stable name, `[a-z0-9-]`: the claim key in the store and the durable JetStream consumer.
    fn name(&self) -> &'static str;
    /// The topics it wants, as a NATS subject pattern (`*` one word, `>` the rest), e.g.
    /// `dossier.>`.
    fn topics(&self) -> &'static str;
    /// Handles a batch of events. Called again with some of the same events after a failure or
    /// a redelivery: must be idempotent. An error leaves the batch for redelivery.
    async fn handle(&self, events: &[Event]) -> Result<(), String>;
}

/// Whether `topic` matches a NATS-style `pattern`.
pub fn topic_matches(pattern: &str, topic: &str) -> bool {
    let mut words = topic.split('.');
    for p in pattern.split('.') {
        match (p, words.next()) {
            (">", Some(_)) => return true,
            ("*", Some(_)) => {}
            (p, Some(w)) if p == w => {}
            _ => return false,
        }
    }
    words.next().is_none()
}

/// Keeps the count of dossiers in each state (`dossier_state_counts`) from the dossier events:
/// a submission adds one to its state, a transition moves one from its `from_state` to its
/// `state`. Metrics and statistics read the counts instead of counting every dossier.
pub struct DossierStateCounts {
    pub store: Arc<dyn Store>,
}

impl DossierStateCounts {
    pub const NAME: &'static str = "dossier-state-counts";

    /// What an event does to the counts; `None` for events that move no dossier (deadline
    /// notices) or that this version cannot read.
    fn change(e: &Event) -> Option<StateChange> {
        let state = |key: &str| -> Option<DossierState> { serde_json::from_value(e.payload.get(key)?.clone()).ok() };
        let to = state("state")?;
        let from = if e.topic == "dossier.submitted" { None } else { Some(state("from_state")?) };
        Some(StateChange { event_id: e.event_id, from, to })
    }
}

#[async_trait::async_trait]
impl Consumer for DossierStateCounts {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn topics(&self) -> &'static str {
        "dossier.>"
    }

    async fn handle(&self, events: &[Event]) -> Result<(), String> {
        let changes: Vec<StateChange> = events.iter().filter_map(Self::change).collect();
        // Claims are stamped with the wall clock: only their retention depends on it.
        self.store.apply_state_changes(Self::NAME, &changes, chrono::Utc::now()).await.map_err(|e| e.to_string())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_like_nats_subjects() {
        assert!(topic_matches("dossier.>", "dossier.submitted"));
        assert!(topic_matches("dossier.>", "dossier.a.b"));
        assert!(!topic_matches("dossier.>", "dossier"));
        assert!(topic_matches("dossier.*", "dossier.overdue"));
        assert!(!topic_matches("dossier.*", "dossier.a.b"));
        assert!(topic_matches("dossier.overdue", "dossier.overdue"));
        assert!(!topic_matches("dossier.overdue", "dossier.due_soon"));
        assert!(!topic_matches("catalog.>", "dossier.submitted"));
    }

    #[test]
    fn dossier_events_become_state_changes() {
        let event = |topic: &str, payload: serde_json::Value| Event {
            event_id: uuid::Uuid::now_v7(),
            topic: topic.into(),
            aggregate_id: uuid::Uuid::now_v7(),
            created_at: chrono::Utc::now(),
            payload,
        };
        let submitted = event("dossier.submitted", serde_json::json!({"state": "submitted"}));
        let c = DossierStateCounts::change(&submitted).unwrap();
        assert_eq!((c.from, c.to), (None, DossierState::Submitted));
        let accept = event("dossier.accept", serde_json::json!({"from_state": "submitted", "state": "accepted"}));
        let c = DossierStateCounts::change(&accept).unwrap();
        assert_eq!((c.from, c.to), (Some(DossierState::Submitted), DossierState::Accepted));
        assert!(
            DossierStateCounts::change(&event("dossier.overdue", serde_json::json!({"kind": "overdue"}))).is_none()
        );
        assert!(
            DossierStateCounts::change(&event("dossier.accept", serde_json::json!({"state": "nonsense"}))).is_none()
        );
    }
}
