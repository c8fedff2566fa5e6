//! The statistics part of the store: the facts of a unit's dossiers that may fall in a period.

use super::*;
use chrono::Duration;

pub async fn unit_facts_cover_the_period(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let mut made = Vec::new();
    for to in [Some(DossierState::Resolved), Some(DossierState::Withdrawn), None] {
        let new = new_dossier(&f, day());
        let r = receipt(store.create_dossier(&new).await.unwrap());
        let d = store.dossier_by_code(&r.code).await.unwrap().unwrap();
        if let Some(to) = to {
            let mut pos = d.position();
            pos.state = to;
            let action = if to == DossierState::Resolved { "record_result" } else { "withdraw" };
            store.apply_transition(&transition(&d, pos, action, None)).await.unwrap();
        }
        made.push(new);
    }
    let received = made[0].received_at;
    let ended = received + Duration::days(2);
    let nov = Utc.with_ymd_and_hms(2026, 10, 31, 17, 0, 0).unwrap();
    let dec = Utc.with_ymd_and_hms(2026, 11, 30, 17, 0, 0).unwrap();
    let facts = store.unit_facts(f.unit_id, nov, dec, 100).await.unwrap();
    assert_eq!(facts.len(), 3);
    assert_eq!((facts[0].state, facts[0].resolved_at, facts[0].closed_at), (DossierState::Resolved, Some(ended), None));
    assert_eq!(
        (facts[1].state, facts[1].resolved_at, facts[1].closed_at),
        (DossierState::Withdrawn, None, Some(ended))
    );
    assert_eq!((facts[2].resolved_at, facts[2].closed_at, facts[2].due_at), (None, None, made[2].due_at));
    assert_eq!((facts[2].procedure_code.as_str(), facts[2].received_at), ("1.001193", received));
    // Ended before the start: left out; received after the end: left out; another unit: none.
    let after = store.unit_facts(f.unit_id, ended + Duration::hours(1), dec, 100).await.unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].state, DossierState::Submitted);
    assert!(store.unit_facts(f.unit_id, nov, received, 100).await.unwrap().is_empty());
    assert!(store.unit_facts(Uuid::now_v7(), nov, dec, 100).await.unwrap().is_empty());
    assert_eq!(store.unit_facts(f.unit_id, nov, dec, 2).await.unwrap().len(), 2, "limited");
}
