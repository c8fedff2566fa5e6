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

/// A page request from this site, with the browser's cookie if there is one.
pub async fn page(app: &App, b: Option<&Browser>, path: &str) -> Resp {
    let mut req = Request::get(path).header(header::HOST, "127.0.0.1:8080");
    if let Some(b) = b {
        req = req.header(header::COOKIE, &b.cookie);
    }
    app.call(req.body(Body::empty()).unwrap()).await
}

/// A form posted from this site as a browser without JavaScript sends it: the CSRF field first,
/// then `fields`, URL-encoded.
pub async fn post_form(app: &App, b: &Browser, path: &str, fields: &[(&str, &str)]) -> Resp {
    let mut all = vec![("csrf_token", b.csrf.as_str())];
    all.extend_from_slice(fields);
    let body: Vec<String> = all.iter().map(|(k, v)| format!("{k}={}", cqs_web::portal::encode(v))).collect();
    let req = Request::post(path)
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::ORIGIN, "http://127.0.0.1:8080")
        .header(header::COOKIE, &b.cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.join("&")))
        .unwrap();
    app.call(req).await
}

/// A multipart form body as a browser sends it: the fields in order, then one part per file.
/// Returns the Content-Type (with its boundary) and the body.
pub fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----cqsFormBoundary7MA4YWxk";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    for (k, name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}
