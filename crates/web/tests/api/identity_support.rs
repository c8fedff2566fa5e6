//! What the identity and matrix tests share: a signed-in browser and how to get one.

use super::*;

pub const CITIZEN_PW: &str = "Sông Hồng chảy mãi";

/// A browser: the session cookie and the CSRF token it was given at sign-in.
#[derive(Clone)]
pub struct Browser {
    pub cookie: String,
    pub csrf: String,
}

/// Registers a citizen and signs them in.
pub async fn citizen(app: &App, identity: &str, phone: &str) -> Browser {
    let body = serde_json::json!({"identity_number": identity, "full_name": "Nguyễn Văn An", "phone": phone,
        "password": CITIZEN_PW});
    let req = Request::post("/api/v1/auth/register")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    assert_eq!(app.call(req).await.status, StatusCode::CREATED);
    let body = serde_json::json!({"kind": "citizen", "login": identity, "password": CITIZEN_PW});
    let req = Request::post("/api/v1/auth/sign-in")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let r = app.call(req).await;
    assert_eq!(r.status, StatusCode::OK);
    let set = r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap();
    Browser {
        cookie: set.split(';').next().unwrap().to_owned(),
        csrf: r.json()["csrf_token"].as_str().unwrap().to_owned(),
    }
}
