//! The authorization matrix: every route called as every kind of caller, with the expected
//! verdict. "Allow" means the caller got past authorization (any answer but 401 or 403: a
//! validation error or a 404 for a made-up id still shows the rule let them in); "Deny" means
//! 401 or 403. Built from the OpenAPI document, so a route without a row fails the test.

use serde_json::{Value, json};

use super::identity_support::Browser;
use super::*;

#[derive(Clone, Copy, Debug, PartialEq)]
enum V {
    A,
    D,
}
use V::{A, D};

/// The callers, in the order of each row's verdicts.
const WHO: [&str; 10] = [
    "anonymous",
    "citizen A (owner)",
    "citizen B",
    "desk officer of X",
    "desk officer of Y",
    "specialist of X",
    "leader of X",
    "admin of the province",
    "client with the scopes",
    "client without scopes",
];

/// Route groups whose owners have not yet given them matrix rows; every other route must have one.
const NOT_YET: [&str; 2] = ["/api/v1/exchange/", "/r1/"];

enum Cred {
    None,
    Key(String),
    Cookie(Browser),
}

#[tokio::test]
async fn every_route_as_every_caller() {
    let app = app().await;
    let a = super::identity_support::citizen(&app, "001203004567", "0912345678").await;
    let b = super::identity_support::citizen(&app, "001203007654", "0977000111").await;
    let all_scopes = key(&app.store, None, Scope::ALL.to_vec(), None).await;
    let no_scopes = key(&app.store, None, vec![], None).await;
    let creds = [
        Cred::None,
        Cred::Cookie(a.clone()),
        Cred::Cookie(b),
        Cred::Key(app.desk_x.clone()),
        Cred::Key(app.desk_y.clone()),
        Cred::Key(app.specialist_x.clone()),
        Cred::Key(app.leader_x.clone()),
        Cred::Key(app.admin.clone()),
        Cred::Key(all_scopes),
        Cred::Key(no_scopes),
    ];
    let org = organization_of(&app).await;
    let mine = submission("000.00.31.H99", "online");
    let code = own_dossier(&app, &a, &mine).await;
    let publish = "/api/v1/procedures/{code}/versions/{version}/publish";
    let empty = json!({});
    let accept = json!({"expected_version": 1, "action": {"type": "accept"}});
    let staff_only = [D, D, D, A, A, A, A, A, D, D];
    let involved = [D, A, D, A, D, A, A, D, A, D];
    let everyone = [A; 10];
    let citizens = [D, A, A, D, D, D, D, D, D, D];
    let rows: Vec<(&str, &str, Option<&Value>, [V; 10])> = vec![
        ("get", "/api/v1/procedures", None, everyone),
        ("post", "/api/v1/procedures", Some(&empty), [D, D, D, D, D, D, D, A, A, D]),
        ("get", "/api/v1/procedures/{code}", None, everyone),
        ("post", publish, None, [D, D, D, D, D, D, D, A, A, D]),
        ("get", "/api/v1/fields", None, everyone),
        ("get", "/api/v1/org-units", None, everyone),
        ("post", "/api/v1/dossiers", Some(&mine), [D, A, D, A, D, D, D, D, A, D]),
        ("get", "/api/v1/dossiers/{code}", None, involved),
        ("get", "/api/v1/dossiers/{code}/history", None, involved),
        ("get", "/api/v1/dossiers/{code}/attachments/{id}", None, involved),
        ("get", "/api/v1/dossiers/{code}/control-sheet", None, involved),
        ("get", "/api/v1/dossiers/{code}/forms", None, involved),
        ("get", "/api/v1/dossiers/{code}/forms/{form}", None, involved),
        ("get", "/api/v1/register", None, staff_only),
        ("get", "/api/v1/statistics", None, staff_only),
        ("get", "/api/v1/dossiers/{code}/results", None, involved),
        ("get", "/api/v1/dossiers/{code}/results/{id}", None, involved),
        // Only the applicant rates (citizen A before the result gets 409, past authorization).
        ("get", "/api/v1/dossiers/{code}/rating", None, [D, A, D, D, D, D, D, D, D, D]),
        ("post", "/api/v1/dossiers/{code}/rating", Some(&empty), [D, A, D, D, D, D, D, D, D, D]),
        ("post", "/api/v1/verify", None, everyone),
        ("get", "/api/v1/me/documents", None, [D, A, A, D, D, D, D, D, D, D]),
        ("get", "/api/v1/me/documents/offers", None, [D, A, A, D, D, D, D, D, D, D]),
        ("get", "/api/v1/me/documents/{id}", None, [D, A, A, D, D, D, D, D, D, D]),
        ("post", "/api/v1/dossiers/{code}/attachments/{id}/verified", Some(&empty), [D, D, D, A, D, A, A, D, D, D]),
        ("get", "/api/v1/dossiers/{code}/reused/{id}", None, involved),
        ("post", "/api/v1/dossiers/{code}/actions", Some(&accept), [D, D, D, A, D, D, D, D, D, D]),
        ("get", "/api/v1/inbox", None, staff_only),
        ("get", "/api/v1/apology-tasks", None, staff_only),
        ("get", "/api/v1/lookup/{code}", None, everyone),
        ("post", "/api/v1/auth/sign-in", Some(&empty), everyone),
        ("post", "/api/v1/auth/register", Some(&empty), everyone),
        ("get", "/api/v1/auth/eid-providers", None, everyone),
        ("get", "/api/v1/me", None, [D, A, A, A, A, A, A, A, A, A]),
        ("get", "/api/v1/me/dossiers", None, [D, A, A, D, D, D, D, D, D, D]),
        ("get", "/api/v1/me/sessions", None, [D, A, A, A, A, A, A, A, D, D]),
        ("delete", "/api/v1/me/sessions/{id}", None, [D, A, A, A, A, A, A, A, D, D]),
        ("get", "/api/v1/security-events", None, [D, D, D, D, D, D, D, A, D, D]),
        // Only a browser half-way through a staff sign-in (its pending cookie) may give the
        // second step; no role or key stands in for it.
        ("post", "/api/v1/auth/mfa", Some(&empty), [D; 10]),
        ("post", "/api/v1/auth/mfa/enrolment", None, [D; 10]),
        ("post", "/api/v1/auth/password-reset", Some(&empty), everyone),
        ("post", "/api/v1/auth/password-reset/confirm", Some(&empty), everyone),
        ("post", "/api/v1/me/verification", Some(&empty), citizens),
        ("post", "/api/v1/me/verification/confirm", Some(&empty), citizens),
        // Its own client authentication (the key in HTTP Basic or the form), not the caller's.
        ("post", "/api/v1/oauth/token", Some(&empty), everyone),
        ("get", "/api/v1/api-keys", None, [D, D, D, D, D, D, D, A, D, D]),
        ("post", "/api/v1/api-keys", Some(&empty), [D, D, D, D, D, D, D, A, D, D]),
        ("post", "/api/v1/api-keys/{prefix}/rotate", Some(&empty), [D, D, D, D, D, D, D, A, D, D]),
        ("post", "/api/v1/api-keys/{prefix}/revoke", None, [D, D, D, D, D, D, D, A, D, D]),
        ("post", "/api/v1/organizations", Some(&empty), [D, D, D, D, D, D, D, A, D, D]),
        ("get", "/api/v1/organizations/{id}", None, [D, A, D, D, D, D, D, A, D, D]),
        ("post", "/api/v1/organizations/{id}/members", Some(&empty), [D, A, D, D, D, D, D, A, D, D]),
        ("delete", "/api/v1/organizations/{id}/members/{account_id}", None, [D, A, D, D, D, D, D, A, D, D]),
        ("get", "/api/v1/organizations/{id}/dossiers", None, [D, A, D, D, D, D, D, D, D, D]),
        ("get", "/api/v1/me/organizations", None, [D, A, A, D, D, D, D, D, D, D]),
        ("get", "/api/v1/me/mfa", None, staff_only),
        ("post", "/api/v1/me/mfa/enrolment", None, staff_only),
        ("post", "/api/v1/me/mfa/confirm", Some(&empty), staff_only),
        ("post", "/api/v1/me/mfa/recovery-codes", Some(&empty), staff_only),
        ("post", "/api/v1/me/mfa/disable", Some(&empty), staff_only),
        ("get", "/healthz", None, everyone),
        ("get", "/readyz", None, everyone),
        ("get", "/metrics", None, [D, D, D, D, D, D, D, D, A, D]),
        // Last: it ends the sessions it is called with.
        ("post", "/api/v1/auth/sign-out", None, everyone),
    ];

    let doc = serde_json::to_value(cqs_web::api::openapi()).unwrap();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in
            ops.as_object().unwrap().keys().filter(|k| ["get", "post", "put", "patch", "delete"].contains(&k.as_str()))
        {
            if !NOT_YET.iter().any(|p| path.starts_with(p)) {
                documented.push((method.clone(), path.clone()));
            }
        }
    }
    documented.sort();
    let mut listed: Vec<(String, String)> = rows.iter().map(|(m, p, ..)| (m.to_string(), p.to_string())).collect();
    listed.sort();
    assert_eq!(documented, listed, "every route needs a row in the authorization matrix");

    let mut wrong = Vec::new();
    for (method, path, body, verdicts) in &rows {
        for (i, cred) in creds.iter().enumerate() {
            // An action changes the dossier, so each caller acts on a fresh one.
            let code = if path.ends_with("/actions") { own_dossier(&app, &a, &mine).await } else { code.clone() };
            let concrete = path
                .replace("{code}", if path.contains("procedures") { "1.001193" } else { &code })
                .replace("{version}", "1")
                // Organization routes name citizen A's organization; other ids are made up.
                .replace(
                    "{id}",
                    &if path.starts_with("/api/v1/organizations/") { org.to_string() } else { Uuid::nil().to_string() },
                )
                .replace("{account_id}", &Uuid::nil().to_string())
                // A made-up key: admins get 404, everyone else is refused before the lookup.
                .replace("{prefix}", "abcdefgh")
                .replace("{form}", "01")
                .replace("/api/v1/me/documents/offers", "/api/v1/me/documents/offers?procedure=1.001193")
                .replace("/api/v1/register", "/api/v1/register?from=2026-01-01&to=2026-01-31");
            let r = app.call(request(&method.to_uppercase(), &concrete, cred, *body)).await;
            let got = if matches!(r.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) { D } else { A };
            if got != verdicts[i] {
                wrong.push(format!("{method} {path} as {}: {} {}", WHO[i], r.status, String::from_utf8_lossy(&r.body)));
            }
        }
    }
    assert!(wrong.is_empty(), "unexpected verdicts:\n{}", wrong.join("\n"));
}

/// An organization whose only admin is citizen A.
async fn organization_of(app: &App) -> Uuid {
    let login = cqs_domain::identity::CitizenLogin::IdentityNumber("001203004567".into());
    let a = app.store.citizen_credentials(&login).await.unwrap().unwrap().account.id;
    let org = cqs_store::Organization {
        id: Uuid::now_v7(),
        enterprise_code: "0101234567".into(),
        name: "Công ty TNHH Sông Hồng".into(),
        created_at: chrono::Utc::now(),
    };
    app.store.create_organization(&org, a).await.unwrap();
    org.id
}

/// A dossier citizen A submits online for themselves at unit X.
async fn own_dossier(app: &App, a: &Browser, body: &Value) -> String {
    let r = app.call(request("POST", "/api/v1/dossiers", &Cred::Cookie(a.clone()), Some(body))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    r.json()["code"].as_str().unwrap().to_owned()
}

fn request(method: &str, path: &str, cred: &Cred, body: Option<&Value>) -> Request<Body> {
    let mut req = Request::builder().method(method).uri(path).header(header::HOST, "127.0.0.1:8080");
    match cred {
        Cred::None => {}
        Cred::Key(k) => req = req.header(header::AUTHORIZATION, format!("Bearer {k}")),
        Cred::Cookie(b) => req = req.header(header::COOKIE, &b.cookie).header("x-csrf-token", &b.csrf),
    }
    match body {
        Some(v) => req.header(header::CONTENT_TYPE, "application/json").body(Body::from(v.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap()
}
