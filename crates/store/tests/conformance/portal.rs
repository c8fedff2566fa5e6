//! The portal's part of the store: a citizen's submission drafts with their files, and files an
//! action adds to a dossier in its transaction.

use super::*;
use chrono::Duration;

pub async fn drafts_are_kept_per_account_and_procedure_and_purged(store: Arc<dyn Store>) {
    let me = store.create_citizen(&super::identity::citizen("001203004567", None, None)).await.unwrap().id;
    let other = store.create_citizen(&super::identity::citizen("001203007654", None, None)).await.unwrap().id;
    let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap();
    assert_eq!(store.draft(me, "1.001193").await.unwrap(), None);
    let id = store.save_draft(me, "1.001193", &json!({"form_data": {"ho_ten_tre": "Na"}}), t0).await.unwrap();
    // Saving again replaces the answers of the same draft.
    let again = store
        .save_draft(me, "1.001193", &json!({"form_data": {"ho_ten_tre": "Bảo Na"}}), t0 + Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(again, id);
    let theirs = store.save_draft(other, "1.001193", &json!({}), t0).await.unwrap();
    assert_ne!(theirs, id);
    let file = |component: &str, key: &str, at| DraftFile {
        id: Uuid::now_v7(),
        component: component.into(),
        file_name: "giấy chứng sinh.pdf".into(),
        content_type: "application/pdf".into(),
        size: 42,
        sha256: "ab".repeat(32),
        storage_key: key.into(),
        created_at: at,
    };
    let a = file("giay-chung-sinh", "draft-key-1", t0 + Duration::minutes(6));
    let b = file("cccd", "draft-key-2", t0 + Duration::minutes(7));
    store.add_draft_file(id, &a).await.unwrap();
    store.add_draft_file(id, &b).await.unwrap();
    assert!(matches!(store.add_draft_file(Uuid::now_v7(), &file("x", "k-x", t0)).await, Err(StoreError::NotFound(_))));
    assert!(store.storage_key_exists("draft-key-1").await.unwrap(), "the start-up sweep keeps a draft's files");
    let d = store.draft(me, "1.001193").await.unwrap().unwrap();
    assert_eq!((d.id, d.account_id, d.procedure_code.as_str()), (id, me, "1.001193"));
    assert_eq!(d.answers, json!({"form_data": {"ho_ten_tre": "Bảo Na"}}));
    assert_eq!(d.files, vec![a.clone(), b.clone()]);
    assert_eq!(d.updated_at, t0 + Duration::minutes(7), "a file touches its draft");
    assert_eq!(store.drafts_of(me).await.unwrap(), vec![("1.001193".to_owned(), t0 + Duration::minutes(7))]);
    // A file is removed only through its own draft.
    assert_eq!(store.remove_draft_file(theirs, a.id).await.unwrap(), None);
    assert_eq!(store.remove_draft_file(id, a.id).await.unwrap().as_deref(), Some("draft-key-1"));
    assert_eq!(store.draft(me, "1.001193").await.unwrap().unwrap().files, vec![b.clone()]);
    // Old drafts go with their files; newer ones stay.
    let (n, keys) = store.purge_drafts(t0 + Duration::minutes(1), 10).await.unwrap();
    assert_eq!((n, keys), (1, vec![]));
    assert_eq!(store.draft(other, "1.001193").await.unwrap(), None);
    assert!(store.draft(me, "1.001193").await.unwrap().is_some());
    let (n, keys) = store.purge_drafts(t0 + Duration::days(30), 10).await.unwrap();
    assert_eq!((n, keys), (1, vec!["draft-key-2".to_owned()]));
    assert_eq!(store.draft(me, "1.001193").await.unwrap(), None);
    // Deleting (after submission) returns the keys of the files to remove.
    let id = store.save_draft(me, "1.001193", &json!({}), t0).await.unwrap();
    store.add_draft_file(id, &file("cccd", "draft-key-3", t0)).await.unwrap();
    assert_eq!(store.delete_draft(id).await.unwrap(), vec!["draft-key-3".to_owned()]);
    assert_eq!(store.draft(me, "1.001193").await.unwrap(), None);
}

pub async fn an_action_adds_its_files_in_its_transaction(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let CreateOutcome::Created(r) = store.create_dossier(&new_dossier(&f, day())).await.unwrap() else {
        panic!("created")
    };
    let d = store.dossier_by_code(&r.code).await.unwrap().unwrap();
    let supplied = NewAttachment {
        id: Uuid::now_v7(),
        component: "giay-chung-sinh".into(),
        file_name: "bổ sung.pdf".into(),
        content_type: "application/pdf".into(),
        size: 10,
        sha256: "cd".repeat(32),
        storage_key: "supplied-1".into(),
    };
    let mut t = transition(&d, d.position(), "supply_supplement", None);
    t.attachments = vec![supplied.clone()];
    // A stale version writes nothing, the file row included.
    let stale = Transition { expected_version: d.version + 5, ..t.clone() };
    assert!(store.apply_transition(&stale).await.is_err());
    assert!(!store.storage_key_exists("supplied-1").await.unwrap());
    store.apply_transition(&t).await.unwrap();
    let files = store.attachments(d.id).await.unwrap();
    let added = files.iter().find(|a| a.storage_key == "supplied-1").expect("the supplied file");
    assert_eq!((added.attachment.component.as_str(), added.attachment.created_at), ("giay-chung-sinh", t.at));
}

pub async fn ratings_are_given_once_with_their_event(store: Arc<dyn Store>) {
    use cqs_domain::rating::{CRITERIA, Level, Rating};
    let f = fixture(&store).await;
    let CreateOutcome::Created(r) = store.create_dossier(&new_dossier(&f, day())).await.unwrap() else {
        panic!("created")
    };
    let d = store.dossier_by_code(&r.code).await.unwrap().unwrap();
    let me = store.create_citizen(&super::identity::citizen("001203004568", None, None)).await.unwrap().id;
    let other = store.create_citizen(&super::identity::citizen("001203008654", None, None)).await.unwrap().id;
    let rating = Rating {
        criteria: CRITERIA.iter().map(|(k, _)| ((*k).to_owned(), Level::Satisfied)).collect(),
        overall: Level::VerySatisfied,
        comment: Some("Cán bộ hướng dẫn tận tình".into()),
    };
    let at = Utc.with_ymd_and_hms(2026, 11, 30, 3, 0, 0).unwrap();
    assert_eq!(store.dossier_rating(d.id, me).await.unwrap(), None);
    let before = store.pending_events(100).await.unwrap().len();
    assert!(store.rate_dossier(d.id, me, &rating, at).await.unwrap());
    // Given once: a second rating changes nothing and adds no event.
    let changed = Rating { overall: Level::Dissatisfied, ..rating.clone() };
    assert!(!store.rate_dossier(d.id, me, &changed, at + Duration::hours(1)).await.unwrap());
    assert_eq!(store.dossier_rating(d.id, me).await.unwrap(), Some((rating.clone(), at)));
    assert_eq!(store.dossier_rating(d.id, other).await.unwrap(), None, "ratings are per account");
    let events = store.pending_events(100).await.unwrap();
    assert_eq!(events.len(), before + 1);
    let e = events.last().unwrap();
    assert_eq!(
        (e.topic.as_str(), e.payload["code"].as_str(), e.payload["overall"].as_str()),
        ("dossier.rated", Some(r.code.as_str()), Some("very_satisfied"))
    );
    assert!(e.payload.get("comment").is_none(), "the comment stays out of events");
    assert!(matches!(store.rate_dossier(Uuid::now_v7(), me, &rating, at).await, Err(StoreError::NotFound(_))));
}
