//! The satisfaction rating: refused before the result, given once by the applicant through the
//! page (without JavaScript) or the API, shown back as given, and closed to everyone else.

use super::identity_support::{Browser, page, post_form};
use super::mine::{html, own_dossier};
use super::*;

const CRITERIA: [&str; 9] = [
    "tong_thoi_gian",
    "thoi_gian_tung_co_quan",
    "so_lan_lien_he",
    "so_co_quan_lien_he",
    "mot_cua",
    "cong_khai",
    "thai_do",
    "phan_anh",
    "truc_tuyen",
];

async fn api(app: &App, b: &Browser, method: &str, code: &str, body: Option<Value>) -> Resp {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("/api/v1/dossiers/{code}/rating"))
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::COOKIE, &b.cookie)
        .header("x-csrf-token", &b.csrf);
    if body.is_some() {
        req = req.header(header::CONTENT_TYPE, "application/json");
    }
    app.call(req.body(body.map_or(Body::empty(), |b| Body::from(b.to_string()))).unwrap()).await
}

#[tokio::test]
async fn the_applicant_rates_their_dossier_once_after_the_result() {
    let ca = tempfile::tempdir().unwrap();
    let app = super::results::signing(app().await, ca.path(), None);
    let a = super::identity_support::citizen(&app, "001203004567", "0912345678").await;
    let b = super::identity_support::citizen(&app, "001203007654", "0977000111").await;
    let code = own_dossier(&app, &a, "001203004567").await;
    let path = format!("/ho-so-cua-toi/{code}");
    let form = format!("{path}/danh-gia");
    let mut answers: Vec<(&str, &str)> = CRITERIA.iter().map(|k| (*k, "satisfied")).collect();
    answers.push(("overall", "very_satisfied"));
    answers.push(("y-kien", "Cán bộ hướng dẫn tận tình"));

    // Before the result: no form, and a rating is refused.
    assert!(!html(&page(&app, Some(&a), &path).await).contains("Đánh giá mức độ hài lòng"));
    assert_eq!(api(&app, &a, "GET", &code, None).await.status, StatusCode::NOT_FOUND);
    let early = post_form(&app, &a, &form, &answers).await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    assert!(html(&early).contains("Chỉ đánh giá được sau khi hồ sơ đã có kết quả"), "{}", html(&early));

    for (v, token, action) in [
        (1, &app.desk_x, "accept"),
        (2, &app.desk_x, "forward"),
        (3, &app.specialist_x, "forward"),
        (4, &app.leader_x, "approve"),
        (5, &app.desk_x, "record_result"),
    ] {
        let r = act(&app, &code, token, v, json!({"type": action})).await;
        assert_eq!(r.status, StatusCode::OK, "{action}: {}", String::from_utf8_lossy(&r.body));
    }
    let open = html(&page(&app, Some(&a), &path).await);
    assert!(open.contains("Đánh giá mức độ hài lòng") && open.contains(&format!("action=\"{form}\"")), "{open}");
    assert!(open.contains("Thái độ của cán bộ, công chức") && open.contains("Rất hài lòng"), "{open}");

    // Answers missing: errors in the summary and beside each question, what was chosen kept.
    let partial: Vec<(&str, &str)> =
        answers.iter().copied().filter(|(k, _)| *k != "thai_do" && *k != "overall").collect();
    let missing = post_form(&app, &a, &form, &partial).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    let missing = html(&missing);
    assert!(
        missing.contains("error-summary")
            && missing.contains("href=\"#thai_do\"")
            && missing.contains("href=\"#overall\""),
        "{missing}"
    );
    assert!(missing.contains("id=\"cong_khai-satisfied\" name=\"cong_khai\" value=\"satisfied\" checked"), "{missing}");
    assert!(missing.contains("Cán bộ hướng dẫn tận tình"), "the comment is kept");
    assert_eq!(api(&app, &a, "GET", &code, None).await.status, StatusCode::NOT_FOUND, "nothing was recorded");

    // Someone else cannot rate it or see the rating; staff are not applicants.
    assert_eq!(post_form(&app, &b, &form, &answers).await.status, StatusCode::NOT_FOUND);
    assert_eq!(api(&app, &b, "POST", &code, Some(json!({"overall": "satisfied"}))).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get(&format!("/api/v1/dossiers/{code}/rating"), Some(&app.desk_x)).await.status,
        StatusCode::FORBIDDEN
    );

    let done = post_form(&app, &a, &form, &answers).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", html(&done));
    assert_eq!(done.headers[header::LOCATION], format!("{path}?da-danh-gia"));
    let shown = html(&page(&app, Some(&a), &format!("{path}?da-danh-gia")).await);
    assert!(shown.contains("Đã ghi nhận đánh giá của bạn") && shown.contains("Bạn đã đánh giá lúc"), "{shown}");
    assert!(!shown.contains(&format!("action=\"{form}\"")), "the form is gone once rated");

    let got = api(&app, &a, "GET", &code, None).await;
    assert_eq!(got.status, StatusCode::OK);
    let got = got.json();
    assert_eq!(
        (got["overall"].as_str(), got["criteria"]["thai_do"].as_str()),
        (Some("very_satisfied"), Some("satisfied"))
    );
    assert_eq!(got["comment"], "Cán bộ hướng dẫn tận tình");

    // Given once: the API and the page both say so, and the first rating stands.
    let mut again = json!({"overall": "dissatisfied", "criteria": {}});
    for k in CRITERIA {
        again["criteria"][k] = json!("dissatisfied");
    }
    let twice = api(&app, &a, "POST", &code, Some(again)).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert_eq!(twice.json()["code"], "already_rated");
    assert_eq!(post_form(&app, &a, &form, &answers).await.status, StatusCode::CONFLICT);
    assert_eq!(api(&app, &a, "GET", &code, None).await.json()["overall"], "very_satisfied");

    // An answer outside the scale is refused as the wrong shape.
    let bad = api(&app, &a, "POST", &code, Some(json!({"overall": "meh"}))).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", String::from_utf8_lossy(&bad.body));
}
