//! Organization accounts: the province's admin opens one for an enterprise code with its first
//! admin; its admins add and remove members; members submit for the organization and share its
//! dossiers; an organization never loses its last admin; outsiders see nothing.

use serde_json::{Value, json};

use super::identity_support::citizen;
use super::*;

fn for_the_company() -> Value {
    let mut body = submission("000.00.31.H99", "online");
    body["applicant"] = json!({"kind": "organization", "identity_kind": "enterprise", "identity_number": "0101234567",
        "name": "Công ty TNHH Sông Hồng"});
    body
}

#[tokio::test]
async fn members_act_for_their_organization_and_admins_manage_them() {
    let app = app().await;
    let a = citizen(&app, "001203004567", "0912345678").await;
    let b = citizen(&app, "001203007654", "0977000111").await;
    let c = citizen(&app, "001203001111", "0988000222").await;
    let new = json!({"enterprise_code": "0101234567", "name": "Công ty TNHH Sông Hồng", "admin_identity_number": "001203004567"});
    // Only the province's admins open organizations.
    assert_eq!(app.as_citizen(&a, "POST", "/api/v1/organizations", Some(&new)).await.status, StatusCode::FORBIDDEN);
    let r = app.post_json("/api/v1/organizations", Some(&app.admin), &new, None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    let org = r.json();
    let id = org["id"].as_str().unwrap().to_owned();
    assert_eq!(org["members"][0]["role"], "admin");
    assert_eq!(app.post_json("/api/v1/organizations", Some(&app.admin), &new, None).await.status, StatusCode::CONFLICT);
    let mut bad = new.clone();
    bad["enterprise_code"] = json!("12345");
    bad["admin_identity_number"] = json!("001203009999");
    let r = app.post_json("/api/v1/organizations", Some(&app.admin), &bad, None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"].as_array().unwrap().len(), 2);

    // Before joining, B may not apply for the company.
    let r = app.as_citizen(&b, "POST", "/api/v1/dossiers", Some(&for_the_company())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let members = format!("/api/v1/organizations/{id}/members");
    let add_b = json!({"identity_number": "001203007654", "role": "member"});
    assert_eq!(app.as_citizen(&c, "POST", &members, Some(&add_b)).await.status, StatusCode::FORBIDDEN);
    let r = app.as_citizen(&a, "POST", &members, Some(&add_b)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["members"].as_array().unwrap().len(), 2);
    let mine = app.as_citizen(&b, "GET", "/api/v1/me/organizations", None).await.json();
    assert_eq!(mine[0]["enterprise_code"], "0101234567");
    assert_eq!(mine[0]["role"], "member");
    // A member may not manage members.
    let add_c = json!({"identity_number": "001203001111", "role": "member"});
    assert_eq!(app.as_citizen(&b, "POST", &members, Some(&add_c)).await.status, StatusCode::FORBIDDEN);

    // B submits for the company; A (a member) follows it, C (not) does not.
    let r = app.as_citizen(&b, "POST", "/api/v1/dossiers", Some(&for_the_company())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    let code = r.json()["code"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/dossiers/{code}");
    assert_eq!(app.as_citizen(&a, "GET", &path, None).await.status, StatusCode::OK);
    assert_eq!(app.as_citizen(&c, "GET", &path, None).await.status, StatusCode::FORBIDDEN);
    let list = app.as_citizen(&a, "GET", &format!("/api/v1/organizations/{id}/dossiers"), None).await.json();
    assert_eq!(strings(&list["items"], "code"), [code.as_str()]);
    assert_eq!(
        app.as_citizen(&c, "GET", &format!("/api/v1/organizations/{id}/dossiers"), None).await.status,
        StatusCode::FORBIDDEN
    );
    // A dossier entered at the counter for the same code is not shared with the members.
    let mut counter = for_the_company();
    counter["channel"] = json!("counter");
    let r = app.post_json("/api/v1/dossiers", Some(&app.desk_x), &counter, None).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let counter_code = r.json()["code"].as_str().unwrap().to_owned();
    let r = app.as_citizen(&a, "GET", &format!("/api/v1/dossiers/{counter_code}"), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // The last admin cannot leave; after promoting B, A can, and no longer sees the dossiers.
    let a_id = app.as_citizen(&a, "GET", "/api/v1/me", None).await.json()["account"]["id"].as_str().unwrap().to_owned();
    let leave = format!("{members}/{a_id}");
    let r = app.as_citizen(&a, "DELETE", &leave, None).await;
    assert_eq!((r.status, r.json()["code"].clone()), (StatusCode::CONFLICT, json!("last_admin")));
    let promote = json!({"identity_number": "001203007654", "role": "admin"});
    assert_eq!(app.as_citizen(&a, "POST", &members, Some(&promote)).await.status, StatusCode::OK);
    assert_eq!(app.as_citizen(&a, "DELETE", &leave, None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.as_citizen(&a, "GET", &path, None).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.as_citizen(&b, "GET", &path, None).await.status, StatusCode::OK);
    let view = app.get(&format!("/api/v1/organizations/{id}"), Some(&app.admin)).await.json();
    assert_eq!(strings(&view["members"], "role"), ["admin"]);
    let events = app.get("/api/v1/security-events?kind=organization_changed", Some(&app.admin)).await.json();
    assert_eq!(events["items"].as_array().unwrap().len(), 4);
}
