//! The documents part of the store on both backends: the one-stop register, issued documents.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use cqs_domain::auth::Role;
use cqs_domain::dossier::DossierState;
use cqs_store::*;
use uuid::Uuid;

use super::{day, fixture, new_dossier};

pub(crate) async fn register_lists_a_units_dossiers_of_a_period(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let mut codes = Vec::new();
    for hours in [0, 1, 30] {
        let mut d = new_dossier(&f, day());
        d.received_at = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap() + chrono::Duration::hours(hours);
        let CreateOutcome::Created(r) = store.create_dossier(&d).await.unwrap() else { panic!("new") };
        codes.push(r.code);
    }
    // The second one is returned to the applicant.
    let d = store.dossier_by_code(&codes[1]).await.unwrap().unwrap();
    let mut pos = d.position();
    pos.state = DossierState::Returned;
    let returned_at = d.received_at + chrono::Duration::hours(3);
    store
        .apply_transition(&Transition {
            dossier_id: d.id,
            code: d.code.to_string(),
            expected_version: d.version,
            from_state: d.state,
            position: pos,
            action: "return_result".into(),
            note: None,
            actor: cqs_domain::dossier::Actor { kind: cqs_domain::dossier::ActorKind::Staff, id: None },
            actor_unit_id: Some(f.unit_id),
            at: returned_at,
            holder: None::<(Uuid, Role)>,
            issued: Vec::new(),
            attachments: Vec::new(),
        })
        .await
        .unwrap();

    let from = Utc.with_ymd_and_hms(2026, 11, 22, 17, 0, 0).unwrap();
    let to = from + chrono::Duration::days(1);
    let rows = store.register(f.unit_id, from, to, 100).await.unwrap();
    assert_eq!(rows.iter().map(|r| r.code.as_str()).collect::<Vec<_>>(), vec![&codes[0], &codes[1]], "in order");
    assert_eq!(rows[0].applicant.name, "Trần Thị Bình");
    assert_eq!(rows[0].procedure_name, "Đăng ký khai sinh");
    assert_eq!(rows[0].procedure_version_id, f.version_id);
    assert_eq!(rows[0].returned_at, None);
    assert_eq!(rows[1].returned_at, Some(returned_at));
    assert_eq!(rows[1].state, DossierState::Returned);
    assert_eq!(store.register(f.unit_id, from, to, 1).await.unwrap().len(), 1, "limited");
    assert!(store.register(Uuid::now_v7(), from, to, 100).await.unwrap().is_empty(), "one unit only");
    let later = store.register(f.unit_id, to, to + chrono::Duration::days(1), 100).await.unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].code, codes[2]);
}

fn issued(unit: Uuid, sha: &str) -> NewIssuedDocument {
    NewIssuedDocument {
        id: Uuid::now_v7(),
        kind: "result".into(),
        document_type: "giay-khai-sinh".into(),
        title: "Giấy khai sinh".into(),
        issuer_unit_id: unit,
        file_name: "ket-qua.pdf".into(),
        size: 4321,
        sha256: sha.into(),
        storage_key: Uuid::now_v7().to_string(),
        signer_subject: "CN=Ủy ban nhân dân xã Lạc Sơn".into(),
        signer_fingerprint: "ab".repeat(32),
        pades_level: "B-T".into(),
        signed_at: Utc.with_ymd_and_hms(2026, 11, 24, 3, 0, 0).unwrap(),
        timestamped_at: Some(Utc.with_ymd_and_hms(2026, 11, 24, 3, 0, 1).unwrap()),
    }
}

pub(crate) async fn issued_documents_commit_with_their_action(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let CreateOutcome::Created(r) = store.create_dossier(&new_dossier(&f, day())).await.unwrap() else { panic!("new") };
    let d = store.dossier_by_code(&r.code).await.unwrap().unwrap();
    let doc = issued(f.unit_id, &"c".repeat(64));
    let mut pos = d.position();
    pos.state = DossierState::Resolved;
    let t = Transition {
        dossier_id: d.id,
        code: d.code.to_string(),
        expected_version: d.version,
        from_state: d.state,
        position: pos,
        action: "record_result".into(),
        note: None,
        actor: cqs_domain::dossier::Actor { kind: cqs_domain::dossier::ActorKind::Staff, id: None },
        actor_unit_id: Some(f.unit_id),
        at: Utc.with_ymd_and_hms(2026, 11, 24, 3, 0, 2).unwrap(),
        holder: None,
        issued: vec![doc.clone()],
        attachments: Vec::new(),
    };
    // A stale action writes nothing, its document included.
    let stale = Transition { expected_version: d.version + 5, ..t.clone() };
    assert!(matches!(store.apply_transition(&stale).await, Err(StoreError::Conflict(_))));
    assert!(store.issued_documents(d.id).await.unwrap().is_empty());
    assert!(!store.storage_key_exists(&doc.storage_key).await.unwrap(), "its file is an orphan to sweep");

    store.apply_transition(&t).await.unwrap();
    let found = store.issued_documents(d.id).await.unwrap();
    assert_eq!(found.len(), 1);
    let got = &found[0];
    assert_eq!((got.id, got.dossier_id, got.dossier_code.as_str()), (doc.id, d.id, r.code.as_str()));
    assert_eq!((got.title.as_str(), got.document_type.as_str()), ("Giấy khai sinh", "giay-khai-sinh"));
    assert_eq!(
        (got.pades_level.as_str(), got.signed_at, got.timestamped_at),
        ("B-T", doc.signed_at, doc.timestamped_at)
    );
    assert_eq!(got.signer_subject, doc.signer_subject);
    assert_eq!(got.created_at, t.at);
    assert!(store.storage_key_exists(&doc.storage_key).await.unwrap(), "kept by the start-up sweep");
    let by_hash = store.issued_documents_by_sha256(&doc.sha256).await.unwrap();
    assert_eq!(by_hash, found);
    assert!(store.issued_documents_by_sha256(&"d".repeat(64)).await.unwrap().is_empty());
}

pub(crate) async fn document_store_keeps_results_and_verified_components(store: Arc<dyn Store>) {
    use cqs_domain::docstore::Source;
    let f = fixture(&store).await;
    let mut new = new_dossier(&f, day());
    let attachment = NewAttachment {
        id: Uuid::now_v7(),
        component: "to-khai".into(),
        file_name: "Tờ khai.pdf".into(),
        content_type: "application/pdf".into(),
        size: 1234,
        sha256: "ab".repeat(32),
        storage_key: Uuid::now_v7().to_string(),
    };
    new.attachments.push(attachment.clone());
    let CreateOutcome::Created(r) = store.create_dossier(&new).await.unwrap() else { panic!("new") };
    let d = store.dossier_by_code(&r.code).await.unwrap().unwrap();
    let result = issued(f.unit_id, &"e".repeat(64));
    let mut pos = d.position();
    pos.state = DossierState::Resolved;
    store
        .apply_transition(&Transition {
            dossier_id: d.id,
            code: d.code.to_string(),
            expected_version: d.version,
            from_state: d.state,
            position: pos,
            action: "record_result".into(),
            note: None,
            actor: cqs_domain::dossier::Actor { kind: cqs_domain::dossier::ActorKind::Staff, id: None },
            actor_unit_id: Some(f.unit_id),
            at: Utc.with_ymd_and_hms(2026, 11, 24, 3, 0, 2).unwrap(),
            holder: None,
            issued: vec![result.clone()],
            attachments: Vec::new(),
        })
        .await
        .unwrap();
    let owner = "001203004567";
    let docs = store.stored_documents(owner).await.unwrap();
    assert_eq!(docs.len(), 1, "the result went to the applicant's store");
    let stored_result = docs[0].clone();
    assert_eq!((stored_result.source, stored_result.document_type.as_str()), (Source::Result, "giay-khai-sinh"));
    assert_eq!(
        (stored_result.sha256.as_str(), stored_result.dossier_code.as_str()),
        (result.sha256.as_str(), r.code.as_str())
    );
    assert!(stored_result.issuer.ends_with("000.00.31.H99"), "the issuing unit's name: {}", stored_result.issuer);
    assert_eq!(stored_result.valid_from, "2026-11-24".parse().unwrap());
    assert!(store.stored_documents("001203007654").await.unwrap().is_empty());

    let verify = |attachment_id, dossier_id| VerifiedComponent {
        id: Uuid::now_v7(),
        dossier_id,
        attachment_id,
        document_type: "to-khai".into(),
        title: "Tờ khai".into(),
        issuer: "Bản điện tử được UBND xã xác thực".into(),
        issuer_unit_id: f.unit_id,
        valid_until: Some("2030-12-31".parse().unwrap()),
        at: Utc.with_ymd_and_hms(2026, 11, 24, 4, 0, 0).unwrap(),
    };
    let kept = store.store_verified_component(&verify(attachment.id, d.id)).await.unwrap().unwrap();
    assert_eq!(
        (kept.source, kept.sha256.as_str(), kept.valid_until),
        (Source::VerifiedComponent, attachment.sha256.as_str(), Some("2030-12-31".parse().unwrap()))
    );
    let again = store.store_verified_component(&verify(attachment.id, d.id)).await.unwrap().unwrap();
    assert_eq!(again.id, kept.id, "kept once");
    assert!(
        store.store_verified_component(&verify(attachment.id, Uuid::now_v7())).await.unwrap().is_none(),
        "not that dossier's"
    );
    let docs = store.stored_documents(owner).await.unwrap();
    assert_eq!(docs.iter().map(|d| d.id).collect::<Vec<_>>(), vec![kept.id, stored_result.id], "newest first");
    let by_id = store.stored_documents_by_id(&[stored_result.id, Uuid::now_v7()]).await.unwrap();
    assert_eq!(by_id.len(), 1);
    assert_eq!(by_id[0].1, result.storage_key, "the issued file");

    // A later dossier reuses the stored result.
    let mut later = new_dossier(&f, day());
    later.reused = vec![("giay-khai-sinh".into(), stored_result.id)];
    let CreateOutcome::Created(r2) = store.create_dossier(&later).await.unwrap() else { panic!("new") };
    assert_eq!(
        store.reused_documents(r2.id).await.unwrap(),
        vec![("giay-khai-sinh".to_owned(), stored_result.clone())]
    );
    assert!(store.reused_documents(d.id).await.unwrap().is_empty());
    // ...also when submitted in a group with others.
    let batch: Vec<_> = (0..3)
        .map(|_| {
            let mut n = new_dossier(&f, day());
            n.reused = vec![("giay-khai-sinh".into(), stored_result.id)];
            n
        })
        .collect();
    let created = futures_util::future::join_all(batch.iter().map(|n| store.create_dossier(n))).await;
    for c in created {
        let CreateOutcome::Created(c) = c.unwrap() else { panic!("new") };
        assert_eq!(store.reused_documents(c.id).await.unwrap().len(), 1);
    }
}
