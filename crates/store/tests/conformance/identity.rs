//! Conformance tests of the identity part of the store (run on both backends by the macros in
//! `conformance.rs`).

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use cqs_domain::identity::{AccountRef, CitizenLogin, Email, Phone, SessionStage};
use cqs_store::*;
use uuid::Uuid;

use super::{day, fixture, new_dossier};

pub(crate) fn citizen(identity: &str, phone: Option<&str>, email: Option<&str>) -> NewCitizen {
    NewCitizen {
        id: Uuid::now_v7(),
        identity_number: identity.into(),
        full_name: "Phạm Thị Hoa".into(),
        phone: phone.map(Into::into),
        email: email.map(Into::into),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        created_at: Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap(),
    }
}

pub async fn citizens_register_once_and_are_found_by_any_login(store: Arc<dyn Store>) {
    let a = store.create_citizen(&citizen("001203004567", Some("+84912345678"), Some("hoa@example.vn"))).await.unwrap();
    assert!(!a.disabled && a.phone_verified_at.is_none());
    for (dup, field) in [
        (citizen("001203004567", None, Some("khac@example.vn")), "identity_number"),
        (citizen("001203009999", Some("+84912345678"), None), "phone"),
        (citizen("001203009999", None, Some("hoa@example.vn")), "email"),
    ] {
        assert!(matches!(store.create_citizen(&dup).await, Err(StoreError::Taken(f)) if f == field), "{field}");
    }
    // Accounts without a phone or e-mail do not collide on the missing value.
    store.create_citizen(&citizen("001203000001", None, Some("b@example.vn"))).await.unwrap();
    store.create_citizen(&citizen("001203000002", None, Some("c@example.vn"))).await.unwrap();
    for login in [
        CitizenLogin::IdentityNumber("001203004567".into()),
        CitizenLogin::Phone(Phone::parse("0912345678").unwrap()),
        CitizenLogin::Email(Email::parse("HOA@example.vn").unwrap()),
    ] {
        let c = store.citizen_credentials(&login).await.unwrap().unwrap();
        assert_eq!(c.account, a);
        assert!(c.password_hash.unwrap().starts_with("$argon2id$"));
    }
    assert!(store.citizen_credentials(&CitizenLogin::IdentityNumber("001203007777".into())).await.unwrap().is_none());
    assert_eq!(store.citizen_by_id(a.id).await.unwrap(), Some(a));
    assert_eq!(store.citizen_by_id(Uuid::now_v7()).await.unwrap(), None);
}

pub async fn staff_passwords_are_stored_as_given_hashes(store: Arc<dyn Store>) {
    let u = store
        .create_user(&NewUser { username: "can.bo".into(), full_name: "Cán Bộ".into(), email: None, grants: vec![] })
        .await
        .unwrap();
    assert_eq!(store.user_password_hash(u.id).await.unwrap(), None);
    assert!(store.set_user_password(u.id, "$argon2id$first").await.unwrap());
    assert!(store.set_user_password(u.id, "$argon2id$second").await.unwrap());
    assert_eq!(store.user_password_hash(u.id).await.unwrap().as_deref(), Some("$argon2id$second"));
    assert!(!store.set_user_password(Uuid::now_v7(), "$argon2id$x").await.unwrap());
    assert_eq!(store.user_password_hash(Uuid::now_v7()).await.unwrap(), None);
}

fn session(account: AccountRef, hash: &str, at: chrono::DateTime<Utc>) -> NewSession {
    NewSession {
        id: Uuid::now_v7(),
        token_hash: hash.into(),
        account,
        created_at: at,
        expires_at: at + Duration::hours(12),
        ip: Some("192.0.2.7".into()),
        user_agent: Some("Mozilla/5.0".into()),
        stage: SessionStage::Active,
    }
}

pub async fn sessions_rotate_expire_and_revoke(store: Arc<dyn Store>) {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap();
    let me = AccountRef::citizen(Uuid::now_v7());
    let other = AccountRef::staff(Uuid::now_v7());
    let first = session(me, &"a".repeat(64), t0);
    store.create_session(&first, None).await.unwrap();
    let got = store.session_by_token_hash(&first.token_hash).await.unwrap().unwrap();
    assert_eq!((got.id, got.account, got.last_seen_at, got.expires_at), (first.id, me, t0, first.expires_at));
    assert_eq!(got.ip.as_deref(), Some("192.0.2.7"));
    store.touch_session(first.id, t0 + Duration::minutes(5)).await.unwrap();
    // A late, older touch never moves last use backwards.
    store.touch_session(first.id, t0 + Duration::minutes(1)).await.unwrap();
    let got = store.session_by_token_hash(&first.token_hash).await.unwrap().unwrap();
    assert_eq!(got.last_seen_at, t0 + Duration::minutes(5));

    // Signing in again from the same browser rotates: the old session ends in the same write.
    let second = session(me, &"b".repeat(64), t0 + Duration::minutes(6));
    store.create_session(&second, Some(first.id)).await.unwrap();
    let old = store.session_by_token_hash(&first.token_hash).await.unwrap().unwrap();
    assert_eq!(old.revoked_at, Some(second.created_at));
    let third = session(me, &"c".repeat(64), t0 + Duration::minutes(7));
    store.create_session(&third, None).await.unwrap();
    store.create_session(&session(other, &"d".repeat(64), t0), None).await.unwrap();
    let now = t0 + Duration::minutes(8);
    let open: Vec<Uuid> = store.sessions_of(me, now).await.unwrap().iter().map(|s| s.id).collect();
    assert_eq!(open, [third.id, second.id], "newest first, revoked ones left out");
    // Past the absolute end nothing is listed.
    assert!(store.sessions_of(me, t0 + Duration::hours(13)).await.unwrap().is_empty());

    assert!(!store.revoke_session(other, second.id, now).await.unwrap(), "not theirs");
    assert!(store.revoke_session(me, second.id, now).await.unwrap());
    assert!(!store.revoke_session(me, second.id, now).await.unwrap(), "already ended");
    let fourth = session(me, &"e".repeat(64), now);
    store.create_session(&fourth, None).await.unwrap();
    assert_eq!(store.revoke_sessions_of(me, Some(fourth.id), now).await.unwrap(), 1);
    let open: Vec<Uuid> = store.sessions_of(me, now).await.unwrap().iter().map(|s| s.id).collect();
    assert_eq!(open, [fourth.id]);
    assert_eq!(store.revoke_sessions_of(me, None, now).await.unwrap(), 1);
    assert_eq!(store.sessions_of(other, now).await.unwrap().len(), 1, "other accounts untouched");
    assert!(store.session_by_token_hash(&"f".repeat(64)).await.unwrap().is_none());

    // A sign-in waiting for its second step is found by its token but listed nowhere.
    let pending = NewSession { stage: SessionStage::MfaCode, ..session(me, &"7".repeat(64), now) };
    store.create_session(&pending, None).await.unwrap();
    assert_eq!(store.session_by_token_hash(&pending.token_hash).await.unwrap().unwrap().stage, SessionStage::MfaCode);
    assert!(store.sessions_of(me, now).await.unwrap().is_empty());
    let done = session(me, &"8".repeat(64), now);
    store.create_session(&done, Some(pending.id)).await.unwrap();
    assert!(store.session_by_token_hash(&pending.token_hash).await.unwrap().unwrap().revoked_at.is_some());
    assert_eq!(store.sessions_of(me, now).await.unwrap()[0].stage, SessionStage::Active);
}

pub async fn mfa_is_confirmed_once_and_each_step_is_taken_once(store: Arc<dyn Store>) {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap();
    let u = store
        .create_user(&NewUser {
            username: "lanh.dao".into(),
            full_name: "Lãnh Đạo".into(),
            email: None,
            grants: vec![],
        })
        .await
        .unwrap();
    assert_eq!(store.mfa_of(u.id).await.unwrap(), None);
    assert!(!store.accept_mfa_step(u.id, 5).await.unwrap(), "no authenticator");
    assert!(store.put_pending_mfa(u.id, "sealed-1", t0).await.unwrap());
    assert!(store.put_pending_mfa(u.id, "sealed-2", t0).await.unwrap(), "an unconfirmed secret is replaced");
    assert!(!store.accept_mfa_step(u.id, 5).await.unwrap(), "not confirmed yet");
    let hashes: Vec<String> = (0..3).map(|i| format!("h{i}")).collect();
    assert!(store.confirm_mfa(u.id, 100, &hashes, t0).await.unwrap());
    assert!(!store.confirm_mfa(u.id, 101, &hashes, t0).await.unwrap(), "confirmed once");
    let m = store.mfa_of(u.id).await.unwrap().unwrap();
    assert_eq!((m.sealed_secret.as_str(), m.confirmed_at, m.last_step), ("sealed-2", Some(t0), 100));
    assert!(!store.put_pending_mfa(u.id, "sealed-3", t0).await.unwrap(), "a confirmed secret stays");
    // Steps: never the same or an older one again.
    assert!(!store.accept_mfa_step(u.id, 100).await.unwrap());
    assert!(store.accept_mfa_step(u.id, 101).await.unwrap());
    assert!(!store.accept_mfa_step(u.id, 101).await.unwrap());
    assert!(!store.accept_mfa_step(u.id, 99).await.unwrap());
    // Recovery codes: each once.
    assert_eq!(store.recovery_codes_left(u.id).await.unwrap(), 3);
    assert!(store.use_recovery_code(u.id, "h1", t0).await.unwrap());
    assert!(!store.use_recovery_code(u.id, "h1", t0).await.unwrap());
    assert!(!store.use_recovery_code(u.id, "nope", t0).await.unwrap());
    assert_eq!(store.recovery_codes_left(u.id).await.unwrap(), 2);
    assert!(store.replace_recovery_codes(u.id, &["n1".into(), "n2".into()]).await.unwrap());
    assert!(!store.use_recovery_code(u.id, "h0", t0).await.unwrap(), "old codes are gone");
    assert_eq!(store.recovery_codes_left(u.id).await.unwrap(), 2);
    assert!(store.remove_mfa(u.id).await.unwrap());
    assert!(!store.remove_mfa(u.id).await.unwrap());
    assert_eq!((store.mfa_of(u.id).await.unwrap(), store.recovery_codes_left(u.id).await.unwrap()), (None, 0));
    assert!(!store.replace_recovery_codes(u.id, &["x".into()]).await.unwrap(), "no authenticator");
}

pub async fn mfa_steps_are_claimed_once_across_nodes(nodes: Vec<Arc<dyn Store>>) {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap();
    let u = nodes[0]
        .create_user(&NewUser {
            username: "quan.tri".into(),
            full_name: "Quản Trị".into(),
            email: None,
            grants: vec![],
        })
        .await
        .unwrap();
    nodes[0].put_pending_mfa(u.id, "sealed", t0).await.unwrap();
    nodes[1].confirm_mfa(u.id, 10, &["r".into()], t0).await.unwrap();
    // The same code presented to four nodes at once is accepted by exactly one.
    let tries = nodes.iter().map(|n| {
        let n = n.clone();
        tokio::spawn(async move { n.accept_mfa_step(u.id, 11).await.unwrap() })
    });
    let mut accepted = 0;
    for t in tries {
        accepted += usize::from(t.await.unwrap());
    }
    assert_eq!(accepted, 1);
    let spends = nodes.iter().map(|n| {
        let n = n.clone();
        tokio::spawn(async move { n.use_recovery_code(u.id, "r", t0).await.unwrap() })
    });
    let mut spent = 0;
    for t in spends {
        spent += usize::from(t.await.unwrap());
    }
    assert_eq!(spent, 1);
}

pub async fn sessions_are_shared_by_nodes(nodes: Vec<Arc<dyn Store>>) {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap();
    let me = AccountRef::staff(Uuid::now_v7());
    let s = session(me, &"9".repeat(64), t0);
    nodes[0].create_session(&s, None).await.unwrap();
    assert_eq!(nodes[1].session_by_token_hash(&s.token_hash).await.unwrap().unwrap().id, s.id);
    assert!(nodes[2].revoke_session(me, s.id, t0 + Duration::minutes(1)).await.unwrap());
    assert!(nodes[3].session_by_token_hash(&s.token_hash).await.unwrap().unwrap().revoked_at.is_some());
}

pub async fn citizens_list_only_their_own_dossiers(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let (me, other) = (Uuid::now_v7(), Uuid::now_v7());
    let mut mine = Vec::new();
    for i in 0..3 {
        let mut n = new_dossier(&f, day());
        n.owner_account = Some(me);
        n.received_at += Duration::minutes(i);
        let CreateOutcome::Created(r) = store.create_dossier(&n).await.unwrap() else { panic!("created") };
        mine.push(r.code);
        let mut theirs = new_dossier(&f, day());
        theirs.owner_account = Some(other);
        store.create_dossier(&theirs).await.unwrap();
    }
    store.create_dossier(&new_dossier(&f, day())).await.unwrap();
    mine.reverse();
    let page = store.owned_dossiers(me, None, 2).await.unwrap();
    assert_eq!(page.iter().map(|d| d.code.as_str()).collect::<Vec<_>>(), [&mine[0], &mine[1]]);
    let last = page.last().unwrap();
    let rest = store.owned_dossiers(me, Some((last.received_at, last.id)), 2).await.unwrap();
    assert_eq!(rest.iter().map(|d| d.code.as_str()).collect::<Vec<_>>(), [&mine[2]]);
    let d = store.dossier_by_code(&mine[0]).await.unwrap().unwrap();
    assert_eq!(d.owner_account_id, Some(me));
    assert!(store.owned_dossiers(Uuid::now_v7(), None, 10).await.unwrap().is_empty());
}

pub async fn sign_in_failures_are_counted_per_key_and_forgotten(store: Arc<dyn Store>) {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap();
    let (account, address) = ("account:staff:x".to_owned(), "address:192.0.2.7".to_owned());
    for i in 0..3 {
        store.record_auth_failure(&[account.clone(), address.clone()], t0 + Duration::minutes(i)).await.unwrap();
    }
    store.record_auth_failure(std::slice::from_ref(&address), t0 + Duration::minutes(5)).await.unwrap();
    let a = store.auth_failures(&account, t0).await.unwrap();
    assert_eq!((a.count, a.latest), (3, Some(t0 + Duration::minutes(2))));
    assert_eq!(store.auth_failures(&account, t0 + Duration::minutes(1)).await.unwrap().count, 2, "only since");
    assert_eq!(store.auth_failures(&address, t0).await.unwrap().count, 4);
    store.clear_auth_failures(&account).await.unwrap();
    assert_eq!(store.auth_failures(&account, t0).await.unwrap(), Default::default());
    assert_eq!(store.auth_failures(&address, t0).await.unwrap().count, 4, "other keys kept");
    // A failure a day later forgets the old ones of its key.
    store.record_auth_failure(std::slice::from_ref(&address), t0 + Duration::days(2)).await.unwrap();
    assert_eq!(store.auth_failures(&address, t0 - Duration::days(9)).await.unwrap().count, 1);
}

pub async fn security_events_filter_and_page(store: Arc<dyn Store>) {
    use cqs_domain::identity::SecurityEventKind as K;
    let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap();
    let me = AccountRef::citizen(Uuid::now_v7());
    let mut ids = Vec::new();
    for (i, kind) in [K::SignInFailed, K::SignInSucceeded, K::AccessDenied, K::SignedOut].into_iter().enumerate() {
        let e = SecurityEvent {
            id: Uuid::now_v7(),
            at: t0 + Duration::seconds(i as i64),
            kind,
            account: (kind != K::SignInFailed).then_some(me),
            ip: Some("192.0.2.7".into()),
            route: (kind == K::AccessDenied).then(|| "/api/v1/dossiers/{code}".into()),
            detail: Some("lý do".into()),
        };
        store.record_security_event(&e).await.unwrap();
        ids.push(e);
    }
    let all = store.security_events(&SecurityEventQuery { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [K::SignedOut, K::AccessDenied, K::SignInSucceeded, K::SignInFailed]
    );
    assert_eq!(all[1], ids[2]);
    let page = store
        .security_events(&SecurityEventQuery { limit: 2, before: Some(all[1].id), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(page.iter().map(|e| e.kind).collect::<Vec<_>>(), [K::SignInSucceeded, K::SignInFailed]);
    let mine = store
        .security_events(&SecurityEventQuery { account_id: Some(me.id), limit: 10, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(mine.len(), 3);
    let denied = store
        .security_events(&SecurityEventQuery { kind: Some(K::AccessDenied), limit: 10, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(denied, [ids[2].clone()]);
}

pub async fn ended_sessions_and_old_failures_are_purged(store: Arc<dyn Store>) {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap();
    let me = AccountRef::staff(Uuid::now_v7());
    let (old, revoked, live) = (
        session(me, &"1".repeat(64), t0),
        session(me, &"2".repeat(64), t0),
        session(me, &"3".repeat(64), t0 + Duration::hours(20)),
    );
    for s in [&old, &revoked, &live] {
        store.create_session(s, None).await.unwrap();
    }
    store.revoke_session(me, revoked.id, t0 + Duration::hours(1)).await.unwrap();
    store.record_auth_failure(&["k".to_owned()], t0).await.unwrap();
    store.record_auth_failure(&["k".to_owned()], t0 + Duration::hours(20)).await.unwrap();
    // Purge what ended before t0 + 13 h: the expired and the revoked session, the old failure.
    assert_eq!(store.purge_identity(t0 + Duration::hours(13)).await.unwrap(), 3);
    assert!(store.session_by_token_hash(&old.token_hash).await.unwrap().is_none());
    assert!(store.session_by_token_hash(&revoked.token_hash).await.unwrap().is_none());
    assert!(store.session_by_token_hash(&live.token_hash).await.unwrap().is_some());
    assert_eq!(store.auth_failures("k", t0 - Duration::days(1)).await.unwrap().count, 1);
}

fn code(
    account: AccountRef,
    purpose: cqs_domain::identity::CodePurpose,
    at: chrono::DateTime<Utc>,
    hash: &str,
) -> NewCode {
    NewCode {
        id: Uuid::now_v7(),
        purpose,
        account,
        destination: "hoa@example.vn".into(),
        code_hash: hash.into(),
        created_at: at,
        expires_at: at + Duration::minutes(10),
    }
}

pub async fn one_time_codes_are_counted_superseded_and_spent_once(store: Arc<dyn Store>) {
    use cqs_domain::identity::CodePurpose::{ResetPassword, VerifyEmail};
    let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap();
    let c = store.create_citizen(&citizen("001203004567", Some("+84912345678"), Some("hoa@example.vn"))).await.unwrap();
    let me = AccountRef::citizen(c.id);
    assert_eq!(store.code_sends(VerifyEmail, c.id, t0 - Duration::hours(1)).await.unwrap().last_hour, 0);
    let first = code(me, VerifyEmail, t0, "h1");
    assert!(store.issue_code(&first).await.unwrap());
    // Another code in the same minute is refused, whichever node makes it.
    assert!(!store.issue_code(&code(me, VerifyEmail, t0 + Duration::seconds(20), "h2")).await.unwrap());
    // Other purposes are counted apart.
    assert!(store.issue_code(&code(me, ResetPassword, t0, "r1")).await.unwrap());
    let second = code(me, VerifyEmail, t0 + Duration::seconds(61), "h3");
    assert!(store.issue_code(&second).await.unwrap());
    let sends = store.code_sends(VerifyEmail, c.id, t0 - Duration::minutes(30)).await.unwrap();
    assert_eq!((sends.last_hour, sends.latest, sends.oldest_in_hour), (2, Some(second.created_at), Some(t0)));
    // Only the newest code is open: the first was closed by the second.
    let open = store.open_code(VerifyEmail, c.id).await.unwrap().unwrap();
    assert_eq!((open.id, open.code_hash.as_str(), open.attempts), (second.id, "h3", 0));
    assert!(!store.consume_code(first.id, t0).await.unwrap());
    assert_eq!(store.open_code(ResetPassword, c.id).await.unwrap().unwrap().code_hash, "r1");
    // Tries are spent up to the allowance.
    for _ in 0..3 {
        assert!(store.spend_code_attempt(second.id, 3).await.unwrap());
    }
    assert!(!store.spend_code_attempt(second.id, 3).await.unwrap());
    assert_eq!(store.open_code(VerifyEmail, c.id).await.unwrap().unwrap().attempts, 3);
    assert!(store.consume_code(second.id, t0).await.unwrap());
    assert!(!store.consume_code(second.id, t0).await.unwrap(), "once");
    assert!(store.open_code(VerifyEmail, c.id).await.unwrap().is_none());

    // What a code proves: the contact it went to, if the account still has it.
    assert!(!store.mark_contact_verified(c.id, Contact::Email, "khac@example.vn", t0).await.unwrap());
    assert!(store.mark_contact_verified(c.id, Contact::Email, "hoa@example.vn", t0).await.unwrap());
    assert!(store.mark_contact_verified(c.id, Contact::Phone, "+84912345678", t0).await.unwrap());
    let c2 = store.citizen_by_id(c.id).await.unwrap().unwrap();
    assert_eq!((c2.email_verified_at, c2.phone_verified_at), (Some(t0), Some(t0)));
    assert!(store.set_citizen_password(c.id, "$argon2id$new").await.unwrap());
    let login = CitizenLogin::IdentityNumber("001203004567".into());
    assert_eq!(
        store.citizen_credentials(&login).await.unwrap().unwrap().password_hash.as_deref(),
        Some("$argon2id$new")
    );
    assert!(!store.set_citizen_password(Uuid::now_v7(), "$argon2id$x").await.unwrap());
    // Expired codes go with the purge.
    assert!(store.purge_identity(t0 + Duration::hours(1)).await.unwrap() >= 3);
    assert!(store.open_code(ResetPassword, c.id).await.unwrap().is_none());
}

fn company(code: &str) -> Organization {
    Organization {
        id: Uuid::now_v7(),
        enterprise_code: code.into(),
        name: "Công ty TNHH Sông Hồng".into(),
        created_at: Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap(),
    }
}

pub async fn organizations_keep_an_admin_and_list_their_dossiers(store: Arc<dyn Store>) {
    use cqs_domain::identity::organization::MemberRole::{Admin, Member as Plain};
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap();
    let a = store.create_citizen(&citizen("001203004567", None, Some("a@example.vn"))).await.unwrap();
    let b = store.create_citizen(&citizen("001203007654", None, Some("b@example.vn"))).await.unwrap();
    let org = company("0101234567");
    store.create_organization(&org, a.id).await.unwrap();
    assert!(matches!(store.create_organization(&company("0101234567"), b.id).await, Err(StoreError::Taken(_))));
    assert_eq!(store.organization(org.id).await.unwrap(), Some(org.clone()));
    assert_eq!(store.remove_member(org.id, a.id).await.unwrap(), MemberChange::LastAdmin);
    assert_eq!(store.put_member(org.id, a.id, Plain, at).await.unwrap(), MemberChange::LastAdmin, "no demotion either");
    assert_eq!(store.put_member(org.id, b.id, Plain, at).await.unwrap(), MemberChange::Done);
    assert_eq!(store.put_member(Uuid::now_v7(), b.id, Plain, at).await.unwrap(), MemberChange::NotFound);
    let members = store.members(org.id).await.unwrap();
    assert_eq!(members.iter().map(|m| (m.account_id, m.role)).collect::<Vec<_>>(), [(a.id, Admin), (b.id, Plain)]);
    assert_eq!(members[1].identity_number, "001203007654");
    let mine = store.memberships_of(b.id).await.unwrap();
    assert_eq!(
        (mine[0].organization_id, mine[0].enterprise_code.as_str(), mine[0].role),
        (org.id, "0101234567", Plain)
    );
    assert_eq!(store.put_member(org.id, b.id, Admin, at).await.unwrap(), MemberChange::Done);
    assert_eq!(store.remove_member(org.id, a.id).await.unwrap(), MemberChange::Done);
    assert_eq!(store.remove_member(org.id, a.id).await.unwrap(), MemberChange::NotFound);
    assert!(store.memberships_of(a.id).await.unwrap().is_empty());

    // Its dossiers: submitted online through an account, naming the enterprise as applicant.
    let f = fixture(&store).await;
    let mut online = new_dossier(&f, day());
    online.applicant.identity_kind = cqs_domain::ids::IdentityKind::Enterprise;
    online.applicant.identity_number = "0101234567".into();
    online.owner_account = Some(b.id);
    let CreateOutcome::Created(r) = store.create_dossier(&online).await.unwrap() else { panic!("created") };
    let mut counter = new_dossier(&f, day());
    counter.applicant.identity_number = "0101234567".into();
    store.create_dossier(&counter).await.unwrap();
    let listed = store.enterprise_dossiers("0101234567", None, 10).await.unwrap();
    assert_eq!(listed.iter().map(|d| d.code.as_str()).collect::<Vec<_>>(), [r.code.as_str()]);
}

pub async fn two_admins_removing_each_other_leave_one(nodes: Vec<Arc<dyn Store>>) {
    use cqs_domain::identity::organization::MemberRole::Admin;
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap();
    let a = nodes[0].create_citizen(&citizen("001203004567", None, Some("a@example.vn"))).await.unwrap();
    let b = nodes[0].create_citizen(&citizen("001203007654", None, Some("b@example.vn"))).await.unwrap();
    let org = company("0109876543");
    nodes[0].create_organization(&org, a.id).await.unwrap();
    nodes[1].put_member(org.id, b.id, Admin, at).await.unwrap();
    let (one, two) = (nodes[2].clone(), nodes[3].clone());
    let (x, y) = tokio::join!(
        tokio::spawn(async move { one.remove_member(org.id, a.id).await.unwrap() }),
        tokio::spawn(async move { two.remove_member(org.id, b.id).await.unwrap() }),
    );
    let outcomes = [x.unwrap(), y.unwrap()];
    assert_eq!(outcomes.iter().filter(|o| **o == MemberChange::Done).count(), 1, "{outcomes:?}");
    assert_eq!(nodes[0].members(org.id).await.unwrap().len(), 1);
}

pub async fn api_keys_rotate_keeping_the_old_secret_for_a_while(store: Arc<dyn Store>) {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap();
    let key = NewApiKey {
        id: Uuid::now_v7(),
        prefix: "abcd1234".into(),
        secret_hash: "first".into(),
        name: "Cổng quốc gia".into(),
        user_id: None,
        scopes: vec![cqs_domain::auth::Scope::DossiersRead],
        org_unit_id: None,
        created_at: t0,
    };
    store.create_api_key(&key).await.unwrap();
    assert!(store.rotate_api_key("abcd1234", "second", t0 + Duration::hours(24), t0).await.unwrap());
    let r = store.api_key_by_prefix("abcd1234").await.unwrap().unwrap();
    assert_eq!(r.key.secret_hash, "second");
    assert_eq!(r.previous_secret_hash.as_deref(), Some("first"));
    assert_eq!((r.previous_valid_until, r.rotated_at), (Some(t0 + Duration::hours(24)), Some(t0)));
    assert!(store.rotate_api_key("abcd1234", "third", t0, t0 + Duration::minutes(1)).await.unwrap());
    let r = store.api_key_by_prefix("abcd1234").await.unwrap().unwrap();
    assert_eq!((r.key.secret_hash.as_str(), r.previous_secret_hash.as_deref()), ("third", Some("second")));
    assert!(!store.rotate_api_key("nokey123", "x", t0, t0).await.unwrap());
    assert!(store.revoke_api_key("abcd1234", t0).await.unwrap());
    assert!(!store.rotate_api_key("abcd1234", "fourth", t0, t0).await.unwrap(), "a revoked key stays revoked");
    let all = store.api_keys().await.unwrap();
    assert_eq!(all.len(), 1);
    assert!(all[0].revoked_at.is_some());
}

pub async fn eid_sign_ins_are_taken_once_and_subjects_link_once(store: Arc<dyn Store>) {
    let t0 = Utc.with_ymd_and_hms(2026, 12, 2, 2, 0, 0).unwrap();
    let login = |state: &str, expires: chrono::DateTime<Utc>| NewEidLogin {
        state_hash: state.into(),
        login: EidLogin {
            provider: "vneid".into(),
            browser_hash: "b".repeat(64),
            nonce: "nonce-1".into(),
            pkce_verifier: "verifier-1".into(),
            return_to: Some("/tai-khoan".into()),
            created_at: t0,
            expires_at: expires,
        },
    };
    store.begin_eid_login(&login("s1", t0 + Duration::minutes(10))).await.unwrap();
    store.begin_eid_login(&login("s2", t0 + Duration::minutes(10))).await.unwrap();
    store.begin_eid_login(&login("old", t0 + Duration::minutes(1))).await.unwrap();
    // Taken once, whatever node asks again.
    let taken = store.take_eid_login("s1", t0 + Duration::minutes(5)).await.unwrap().unwrap();
    assert_eq!(taken, login("s1", t0 + Duration::minutes(10)).login);
    assert_eq!(store.take_eid_login("s1", t0 + Duration::minutes(5)).await.unwrap(), None);
    assert_eq!(store.take_eid_login("unknown", t0).await.unwrap(), None);
    // Expired: not returned, and gone.
    assert_eq!(store.take_eid_login("old", t0 + Duration::minutes(2)).await.unwrap(), None);
    assert_eq!(store.take_eid_login("old", t0).await.unwrap(), None);
    // Purged with the other identity rows once expired.
    assert!(store.purge_identity(t0 + Duration::minutes(11)).await.unwrap() >= 1);
    assert_eq!(store.take_eid_login("s2", t0).await.unwrap(), None);

    // A subject links once; the account it names is found afterwards.
    let a = store.create_citizen(&citizen("001203004567", None, None)).await.unwrap();
    let link = |subject: &str, account: AccountRef| EidLink {
        provider: "vneid".into(),
        subject: subject.into(),
        account,
        linked_at: t0,
        last_used_at: t0,
    };
    assert_eq!(store.use_eid_link("vneid", "sub-a", t0).await.unwrap(), None);
    assert!(store.link_eid(&link("sub-a", AccountRef::citizen(a.id))).await.unwrap());
    assert!(!store.link_eid(&link("sub-a", AccountRef::citizen(Uuid::now_v7()))).await.unwrap());
    let later = t0 + Duration::hours(1);
    assert_eq!(store.use_eid_link("vneid", "sub-a", later).await.unwrap(), Some(AccountRef::citizen(a.id)));
    assert_eq!(store.use_eid_link("other", "sub-a", later).await.unwrap(), None);
    let links = store.eid_links_of(AccountRef::citizen(a.id)).await.unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].last_used_at, later);

    // An account opened through a provider comes with its link, in one transaction.
    let mut new = citizen("079301001234", None, None);
    new.password_hash = None;
    let b = store.create_eid_citizen(&new, &link("sub-b", AccountRef::citizen(new.id))).await.unwrap();
    assert_eq!(store.use_eid_link("vneid", "sub-b", t0).await.unwrap(), Some(AccountRef::citizen(b.id)));
    let creds = store.citizen_credentials(&CitizenLogin::IdentityNumber("079301001234".into())).await.unwrap().unwrap();
    assert_eq!(creds.password_hash, None);
    // The number taken: nothing written, not even the link.
    let dup = citizen("079301001234", None, None);
    let err = store.create_eid_citizen(&dup, &link("sub-c", AccountRef::citizen(dup.id))).await.unwrap_err();
    assert!(matches!(err, StoreError::Taken("identity_number")), "{err:?}");
    assert_eq!(store.use_eid_link("vneid", "sub-c", t0).await.unwrap(), None);
    // A subject linked already: the new account is not kept either.
    let other = citizen("079301005555", None, None);
    assert!(store.create_eid_citizen(&other, &link("sub-b", AccountRef::citizen(other.id))).await.is_err());
    assert_eq!(store.citizen_by_id(other.id).await.unwrap(), None);
}
