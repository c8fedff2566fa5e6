//! Hostile input through the API: oversized bodies, mismatched content types, path tricks in
//! file names, decomposed and confusable Unicode, SQL and template injection strings. Fields
//! with a format (codes, identity numbers, names) refuse them with a clear 4xx and write
//! nothing; free text (notes, form answers, searches) keeps them verbatim and never runs them.

use super::*;

const INJECTIONS: &[&str] = &[
    "'; DROP TABLE dossiers; --",
    "\" OR 1=1 --",
    "1' UNION SELECT password_hash FROM staff_users --",
    "%_\\",
    "{{7*7}}",
    "${7*7}",
    "<%= 7*7 %>",
    "#{7*7}",
    "{% if true %}x{% endif %}",
    "#set($x = 7*7)$x",
    "<script>alert(1)</script>",
];

async fn assert_nothing_written(app: &App) {
    assert_eq!(app.store.count_dossiers().await.unwrap(), 0);
    assert_eq!(app.pending_files(), 0, "no file left behind");
}

fn with_name(name: &str) -> Value {
    let mut s = submission("000.00.31.H99", "online");
    s["applicant"]["name"] = json!(name);
    s
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_anything_is_written() {
    let app = app().await;
    let code = super::submitted(&app).await;
    let big = "x".repeat(2 * 1024 * 1024);
    // Every JSON route, whether the guard or the handler reads the body.
    let action = json!({"expected_version": 1, "action": {"type": "accept"}, "note": big});
    let actions = format!("/api/v1/dossiers/{code}/actions");
    for (path, token, body, key) in [
        (actions.as_str(), &app.desk_x, &action, None),
        (actions.as_str(), &app.desk_x, &action, Some("k")),
        ("/api/v1/procedures", &app.admin, &json!({"code": big}), None),
        ("/api/v1/procedures", &app.admin, &json!({"code": big}), Some("k")),
    ] {
        let r = app.post_json(path, Some(token), body, key).await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        assert_eq!(r.headers[header::CONTENT_TYPE], "application/problem+json");
    }
    assert_eq!(app.store.dossier_by_code(&code).await.unwrap().unwrap().version, 1);
    // A file over the attachment limit, and more files than allowed.
    let app = super::app().await;
    let huge = vec![b'%'; app.state.limits.attachment + 1];
    let r =
        app.post_multipart(&app.portal, &submission("000.00.31.H99", "online"), &[("to-khai", "a.pdf", &huge)]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.json()["code"], "attachment_too_large");
    let many: Vec<(&str, &str, &[u8])> =
        (0..=app.state.limits.files_per_submission).map(|_| ("to-khai", "a.pdf", PDF)).collect();
    let r = app.post_multipart(&app.portal, &submission("000.00.31.H99", "online"), &many).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_nothing_written(&app).await;
}

#[tokio::test]
async fn mismatched_content_types_are_refused() {
    let app = app().await;
    let body = serde_json::to_vec(&submission("000.00.31.H99", "online")).unwrap();
    let send = |ct: &str, body: Vec<u8>| {
        Request::post("/api/v1/dossiers")
            .header(header::CONTENT_TYPE, ct)
            .header(header::AUTHORIZATION, format!("Bearer {}", app.portal))
            .body(Body::from(body))
            .unwrap()
    };
    let cases = [
        ("text/plain", body.clone(), StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("application/xml", b"<dossier/>".to_vec(), StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("application/x-www-form-urlencoded", b"procedure_code=1.001193".to_vec(), StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("application/json", b"<dossier/>".to_vec(), StatusCode::BAD_REQUEST),
        ("multipart/form-data; boundary=x", body.clone(), StatusCode::BAD_REQUEST),
        ("multipart/form-data", body.clone(), StatusCode::BAD_REQUEST),
    ];
    for (ct, body, status) in cases {
        let r = app.call(send(ct, body)).await;
        assert_eq!(r.status, status, "{ct}: {}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.headers[header::CONTENT_TYPE], "application/problem+json", "{ct}");
    }
    // A file whose content is not what its name and the component say: an executable named
    // .pdf, a PNG named .pdf, an HTML page named .jpg.
    for (name, bytes) in [
        ("to-khai.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff".as_slice()),
        ("to-khai.pdf", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".as_slice()),
        ("anh.jpg", b"<!DOCTYPE html><html><script>alert(1)</script></html>".as_slice()),
    ] {
        let r =
            app.post_multipart(&app.portal, &submission("000.00.31.H99", "online"), &[("to-khai", name, bytes)]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {}", String::from_utf8_lossy(&r.body));
        assert!(r.json()["errors"].as_array().unwrap().iter().any(|e| e["field"] == "/files/to-khai"));
    }
    assert_nothing_written(&app).await;
}

#[tokio::test]
async fn path_tricks_in_file_names_stay_names() {
    let app = app().await;
    let names = [
        ("../../../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\Windows\\win.ini.pdf", "win.ini.pdf"),
        ("/var/lib/cqs/cqs.db.pdf", "cqs.db.pdf"),
        ("%2e%2e%2fto-khai.pdf", "%2e%2e%2fto-khai.pdf"),
        ("to-khai\u{202E}fdp.exe", "to-khaifdp.exe"),
        ("..", "tep-dinh-kem"),
    ];
    let files: Vec<(&str, &str, &[u8])> = names.iter().map(|(n, _)| ("to-khai", *n, PDF)).collect();
    let r = app.post_multipart(&app.portal, &submission("000.00.31.H99", "online"), &files).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    let code = r.json()["code"].as_str().unwrap().to_owned();
    let d = app.get(&format!("/api/v1/dossiers/{code}"), Some(&app.desk_x)).await.json();
    let mut stored: Vec<&str> = strings(&d["attachments"], "file_name");
    stored.sort();
    let mut expected: Vec<&str> = names.iter().map(|(_, s)| *s).collect();
    expected.sort();
    assert_eq!(stored, expected);
    // On disk, files are named by their storage keys only, all inside the files folder.
    let mut on_disk = Vec::new();
    let mut stack = vec![app.dir.path().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() { stack.push(p) } else { on_disk.push(p) }
        }
    }
    for p in &on_disk {
        let name = p.file_name().unwrap().to_string_lossy();
        assert!(!names.iter().any(|(n, s)| name.contains(s) || name.contains(n)), "{p:?} is named after the upload");
    }
    // Each downloads with its own content and a safely encoded name.
    let first = &d["attachments"][0];
    let dl = app
        .get(&format!("/api/v1/dossiers/{code}/attachments/{}", first["id"].as_str().unwrap()), Some(&app.desk_x))
        .await;
    assert_eq!(dl.status, StatusCode::OK);
    assert_eq!(dl.body, PDF);
    let cd = dl.headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(!cd.contains('/') && !cd.contains('"'), "{cd}");
}

#[tokio::test]
async fn decomposed_text_is_stored_composed_and_found() {
    let app = app().await;
    // "Nguyễn Văn Ân" and the child's name typed on a system that sends NFD.
    let nfd_name = "Nguye\u{302}\u{303}n Va\u{306}n A\u{302}n";
    let mut s = with_name(nfd_name);
    s["form_data"]["ho_ten_tre"] = json!("Nguye\u{302}\u{303}n Ba\u{309}o Na");
    let r = app.post_json("/api/v1/dossiers", Some(&app.portal), &s, None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    let code = r.json()["code"].as_str().unwrap().to_owned();
    let d = app.get(&format!("/api/v1/dossiers/{code}"), Some(&app.desk_x)).await.json();
    assert_eq!(d["applicant"]["name"], "Nguyễn Văn Ân");
    assert_eq!(d["form_data"]["ho_ten_tre"], "Nguyễn Bảo Na");
    // Found by an NFC search, an NFD search and without diacritics.
    for q in ["Nguyễn Văn Ân", nfd_name, "nguyen van an"] {
        let path = format!("/api/v1/inbox?unit=000.00.31.H99&q={}", urlencode(q));
        let inbox = app.get(&path, Some(&app.desk_x)).await;
        assert_eq!(inbox.status, StatusCode::OK, "{q}");
        assert!(inbox.body.windows(code.len()).any(|w| w == code.as_bytes()), "{q} does not find {code}");
    }
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

#[tokio::test]
async fn confusable_and_invisible_characters_are_refused_where_they_deceive() {
    let app = app().await;
    for name in ["Nguyễn V\u{430}n An", "Nguyễn Văn\u{200B} An", "Nguyễn \u{202E}nA nắV", "Ng\u{3BF}yễn Văn An"]
    {
        let r = app.post_json("/api/v1/dossiers", Some(&app.portal), &with_name(name), None).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{name:?}");
        assert_eq!(r.json()["errors"][0]["field"], "/applicant/name", "{name:?}");
    }
    // Codes accept only their own characters: a Cyrillic "Н" in the agency code, fullwidth
    // digits in the identity number.
    let mut s = submission("000.00.31.\u{41D}99", "online");
    let r = app.post_json("/api/v1/dossiers", Some(&app.portal), &s, None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    s = submission("000.00.31.H99", "online");
    s["applicant"]["identity_number"] = json!("\u{FF10}\u{FF10}1203004567");
    let r = app.post_json("/api/v1/dossiers", Some(&app.portal), &s, None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.get(&format!("/api/v1/lookup/{}", urlencode("000.00.31.\u{41D}99-261123-0001")), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_nothing_written(&app).await;
}

#[tokio::test]
async fn injection_strings_are_refused_in_names_and_kept_verbatim_in_free_text() {
    let app = app().await;
    for payload in INJECTIONS {
        // A name: refused with the field named.
        let r = app.post_json("/api/v1/dossiers", Some(&app.portal), &with_name(payload), None).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{payload}");
        assert_eq!(r.json()["errors"][0]["field"], "/applicant/name");
        // Codes in the path and the body: 400/422, never 500.
        let r = app.get(&format!("/api/v1/lookup/{}", urlencode(payload)), None).await;
        assert!(r.status == StatusCode::BAD_REQUEST || r.status == StatusCode::NOT_FOUND, "{payload}: {}", r.status);
        let mut s = submission("000.00.31.H99", "online");
        s["procedure_code"] = json!(payload);
        let r = app.post_json("/api/v1/dossiers", Some(&app.portal), &s, None).await;
        assert!(r.status.is_client_error(), "{payload}: {}", r.status);
        // Searches: answered, matching nothing.
        for path in ["/api/v1/procedures?q=", "/api/v1/inbox?q="] {
            let r = app.get(&format!("{path}{}", urlencode(payload)), Some(&app.desk_x)).await;
            assert!(r.status.is_success() || r.status.is_client_error(), "{path}{payload}: {}", r.status);
        }
    }
    assert_nothing_written(&app).await;
    // Free text (the applicant's address, form answers, an officer's note) is kept as typed and
    // comes back as typed: nothing is run as SQL or as a template.
    let mut s = submission("000.00.31.H99", "online");
    s["applicant"]["address"] = json!(INJECTIONS[0]);
    s["form_data"]["ho_ten_tre"] = json!(INJECTIONS[4]);
    let r = app.post_json("/api/v1/dossiers", Some(&app.portal), &s, None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    let code = r.json()["code"].as_str().unwrap().to_owned();
    let note = INJECTIONS.join(" | ");
    let r = app
        .post_json(
            &format!("/api/v1/dossiers/{code}/actions"),
            Some(&app.desk_x),
            &json!({"expected_version": 1, "action": {"type": "accept"}, "note": note}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let d = app.get(&format!("/api/v1/dossiers/{code}"), Some(&app.desk_x)).await.json();
    assert_eq!(d["applicant"]["address"], INJECTIONS[0]);
    assert_eq!(d["form_data"]["ho_ten_tre"], "{{7*7}}");
    let history = app.get(&format!("/api/v1/dossiers/{code}/history"), Some(&app.desk_x)).await.json();
    assert_eq!(history[1]["note"], note.as_str());
    assert_eq!(app.store.count_dossiers().await.unwrap(), 1);
    // Pages show such text escaped, never evaluated.
    let page = app.get(&format!("/thu-tuc?q={}", urlencode("<script>alert(1)</script>{{7*7}}")), None).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = String::from_utf8_lossy(&page.body);
    assert!(!html.contains("<script>alert(1)"), "unescaped script in the search page");
    assert!(!html.contains(">49<"), "a template expression was evaluated");
    // Registration refuses markup in the full name.
    let body = json!({"identity_number": "001203004567", "full_name": "{{7*7}}", "phone": "0912345678",
        "password": super::identity_support::CITIZEN_PW});
    let req = Request::post("/api/v1/auth/register")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let r = app.call(req).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["field"], "/full_name");
}

#[tokio::test]
async fn past_its_in_flight_limit_a_node_sheds_requests_at_once_and_still_answers_probes() {
    let app = app().await;
    let mut state = app.state.clone();
    state.limits.in_flight = 1;
    let router = cqs_web::router(state);
    let call = |req: Request<Body>| {
        let router = router.clone();
        async move {
            let res = router.oneshot(req).await.unwrap();
            let (status, headers) = (res.status(), res.headers().clone());
            (status, headers, res.into_body().collect().await.unwrap().to_bytes())
        }
    };
    // A request whose body does not come until released holds the node's only slot from the
    // moment its handler starts reading the body.
    let (reading, read_started) = tokio::sync::oneshot::channel::<()>();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let body = futures_util::stream::once(async move {
        let _ = reading.send(());
        let _ = released.await;
        Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"{}"))
    });
    let held = tokio::spawn(call(
        Request::post("/api/v1/auth/register")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from_stream(body))
            .unwrap(),
    ));
    read_started.await.unwrap();
    let (status, headers, body) = call(Request::get("/api/v1/procedures").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "a second request is shed while the first holds the slot");
    assert_eq!(headers[header::RETRY_AFTER], "1");
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    let problem: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problem["code"], "overloaded", "{problem}");
    // People get a page in Vietnamese, also with Retry-After.
    let (status, headers, page) = call(Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers[header::RETRY_AFTER], "1");
    assert!(String::from_utf8_lossy(&page).contains("quá tải"));
    // Probes and metrics still reach their handlers (metrics asks for a key).
    let (status, ..) = call(Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, ..) = call(Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Once the slot is free, requests pass again.
    release.send(()).unwrap();
    let (status, ..) = held.await.unwrap();
    assert_ne!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, ..) = call(Request::get("/api/v1/procedures").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
}
