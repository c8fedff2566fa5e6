//! The demo loader: idempotent, and every account it creates can sign in with the password it
//! wrote to `demo-credentials.txt`.

use cqs_domain::identity::CitizenLogin;

#[tokio::test]
async fn demo_accounts_sign_in_with_the_written_passwords() {
    let (store, dir) = cqs_store::testing::sqlite_store().await;
    let s = cqs::demo::load(store.as_ref(), dir.path()).await.unwrap();
    assert!(s.users_created > 0 && s.citizens_created == 3);
    let text = std::fs::read_to_string(dir.path().join("demo-credentials.txt")).unwrap();
    let password_of =
        |who: &str| text.lines().find(|l| l.starts_with(who)).and_then(|l| l.split('\t').nth(1)).unwrap().to_owned();
    let admin = store.user_by_username("quantri").await.unwrap().unwrap();
    let hash = store.user_password_hash(admin.id).await.unwrap();
    assert!(cqs_web::auth::password::verify(password_of("Cán bộ quantri\t"), hash.clone()).await.unwrap());
    assert!(!cqs_web::auth::password::verify("sai-mat-khau".into(), hash).await.unwrap());
    let citizen =
        store.citizen_credentials(&CitizenLogin::IdentityNumber("036095001234".into())).await.unwrap().unwrap();
    assert!(
        cqs_web::auth::password::verify(password_of("Công dân 036095001234"), citizen.password_hash).await.unwrap()
    );
    let again = cqs::demo::load(store.as_ref(), dir.path()).await.unwrap();
    assert_eq!((again.users_created, again.citizens_created, again.passwords_created.len()), (0, 0, 0));
}
