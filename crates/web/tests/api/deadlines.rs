//! The legal clock through the API: due dates across Tết and a make-up working Saturday, the
//! deadline sweeper's notices and apology tasks, every ending a dossier can have, and due dates
//! recomputed when the calendar changes. The application's clock is set by the test.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

use super::*;

fn vn(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Ho_Chi_Minh.with_ymd_and_hms(y, m, d, h, mi, 0).unwrap().with_timezone(&Utc)
}

fn at(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}"))).unwrap().with_timezone(&Utc)
}

/// Submits a dossier for the three-working-day procedure at `when` and accepts it there.
async fn accepted_at(app: &App, when: DateTime<Utc>) -> (String, Value) {
    app.clock.set(when);
    let mut body = submission("000.00.31.H99", "online");
    body["procedure_code"] = json!("1.004884");
    let r = app.post_json("/api/v1/dossiers", Some(&app.portal), &body, None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    let code = r.json()["code"].as_str().unwrap().to_owned();
    let accepted = act(app, &code, &app.desk_x, 1, json!({"type": "accept"})).await;
    assert_eq!(accepted.status, StatusCode::OK);
    (code, accepted.json())
}

async fn sweep(app: &App) -> cqs_web::jobs::SweepReport {
    cqs_web::jobs::sweep(app.store.as_ref(), &app.state.rules.calendar, app.clock.now()).await.unwrap()
}

#[tokio::test]
async fn due_dates_skip_tet_and_count_the_make_up_saturday() {
    let app = app().await;
    // Friday 13/02/2026 10:00, three working days: 5 h that Friday, nothing during Tết
    // (14/02–22/02), 8 h on 23/02 and 24/02, the last 3 h on Wednesday 25/02.
    let (_, tet) = accepted_at(&app, vn(2026, 2, 13, 10, 0)).await;
    assert_eq!(at(&tet["due_at"]), vn(2026, 2, 25, 10, 0));
    // Friday 09/01/2026 15:00: 2 h that day, the make-up Saturday 10/01 counts 8 h, Monday 8 h,
    // the last 6 h on Tuesday 13/01 (15:00). Without the make-up day it would be Wednesday.
    let (_, swapped) = accepted_at(&app, vn(2026, 1, 9, 15, 0)).await;
    assert_eq!(at(&swapped["due_at"]), vn(2026, 1, 13, 15, 0));
    // Wednesday 31/12/2025 09:00: 6 h that day; 01/01 and the swapped Friday 02/01 are off.
    let (_, new_year) = accepted_at(&app, vn(2025, 12, 31, 9, 0)).await;
    assert_eq!(at(&new_year["due_at"]), vn(2026, 1, 7, 9, 0));
}

#[tokio::test]
async fn a_late_dossier_gets_notices_an_apology_task_and_a_new_date() {
    let app = app().await;
    let (code, accepted) = accepted_at(&app, vn(2026, 2, 13, 10, 0)).await;
    let due = at(&accepted["due_at"]);
    act(&app, &code, &app.desk_x, 2, json!({"type": "forward"})).await;
    // Tuesday 24/02 11:00: seven working hours left.
    app.clock.set(vn(2026, 2, 24, 11, 0));
    assert_eq!(sweep(&app).await, cqs_web::jobs::SweepReport { examined: 1, due_soon: 1, overdue: 0 });
    assert_eq!(sweep(&app).await.due_soon, 0, "a notice is sent once");
    let view = app.get(&format!("/api/v1/dossiers/{code}"), Some(&app.specialist_x)).await.json();
    assert_eq!(view["deadline"], json!({"overdue": false, "due_soon": true}));
    // Wednesday 25/02 11:00: an hour late.
    app.clock.set(vn(2026, 2, 25, 11, 0));
    let report = sweep(&app).await;
    assert_eq!((report.due_soon, report.overdue), (0, 1));
    assert_eq!(sweep(&app).await, cqs_web::jobs::SweepReport { examined: 0, due_soon: 0, overdue: 0 });
    let tasks = app.get("/api/v1/apology-tasks", Some(&app.desk_x)).await.json();
    assert_eq!(strings(&tasks, "code"), [code.as_str()]);
    assert_eq!(at(&tasks[0]["due_at"]), due);
    assert_eq!(app.get("/api/v1/apology-tasks", Some(&app.desk_y)).await.json(), json!([]));
    assert_eq!(app.get("/api/v1/apology-tasks", Some(&app.portal)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/v1/apology-tasks?limit=0", Some(&app.desk_x)).await.status, StatusCode::BAD_REQUEST);
    let events = app.store.pending_events(100).await.unwrap();
    let topics: Vec<&str> = events.iter().map(|e| e.topic.as_str()).collect();
    assert!(topics.contains(&"dossier.due_soon") && topics.contains(&"dossier.overdue"), "{topics:?}");
    let view = app.get(&format!("/api/v1/dossiers/{code}"), Some(&app.specialist_x)).await.json();
    assert_eq!(view["deadline"]["overdue"], true);
    assert_eq!(view["apology_task"]["code"], code);
    // The specialist apologizes with a new date (Mẫu 04); the first due date is kept.
    let promised = vn(2026, 2, 27, 17, 0);
    let apology = act(
        &app,
        &code,
        &app.specialist_x,
        3,
        json!({"type": "apologize_and_reschedule", "new_due_at": promised, "reason": "Cần xác minh thêm với cơ quan khác"}),
    )
    .await;
    assert_eq!(apology.status, StatusCode::OK, "{}", String::from_utf8_lossy(&apology.body));
    assert_eq!(at(&apology.json()["due_at"]), promised);
    assert_eq!(at(&apology.json()["original_due_at"]), due);
    assert_eq!(app.get("/api/v1/apology-tasks", Some(&app.desk_x)).await.json(), json!([]));
    let closed = app.get("/api/v1/apology-tasks?include_closed=true", Some(&app.desk_x)).await.json();
    assert_eq!(closed[0]["closed_by_action"], "apologize_and_reschedule");
    assert!(app.get(&format!("/api/v1/dossiers/{code}"), Some(&app.desk_x)).await.json()["apology_task"].is_null());
    // Not overdue against the new date; processing finishes on it.
    assert_eq!(sweep(&app).await.overdue, 0);
    let steps = [
        (&app.specialist_x, json!({"type": "forward"})),
        (&app.leader_x, json!({"type": "approve"})),
        (&app.desk_x, json!({"type": "record_result"})),
        (&app.desk_x, json!({"type": "return_result", "channel": "online"})),
    ];
    for (i, (token, action)) in steps.iter().enumerate() {
        let r = act(&app, &code, token, i as i64 + 4, action.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{action}: {}", String::from_utf8_lossy(&r.body));
    }
    let sheet = app.get(&format!("/api/v1/dossiers/{code}/control-sheet"), Some(&app.leader_x)).await.json();
    assert_eq!(sheet[1]["kind"], "appraisal");
    assert_eq!(sheet[1]["timeliness"], "late", "{sheet}");
    let history = app.get(&format!("/api/v1/dossiers/{code}/history"), Some(&app.desk_x)).await.json();
    assert_eq!(at(&history[3]["due_at"]), promised, "the promised date is in the history");
}

#[tokio::test]
async fn a_leader_stops_processing_with_its_legal_reason() {
    let app = app().await;
    let (code, _) = accepted_at(&app, vn(2026, 11, 23, 8, 0)).await;
    let reason = json!({"type": "stop", "reason": "Theo yêu cầu của cơ quan tiến hành tố tụng"});
    assert_eq!(act(&app, &code, &app.specialist_x, 2, reason.clone()).await.status, StatusCode::FORBIDDEN);
    let stopped = act(&app, &code, &app.leader_x, 2, reason).await;
    assert_eq!(stopped.status, StatusCode::OK);
    assert_eq!(stopped.json()["status"]["state"], "stopped");
    app.clock.set(vn(2026, 12, 30, 8, 0));
    assert_eq!(sweep(&app).await.examined, 0, "a stopped dossier is past its clock");
    assert!(
        app.get("/api/v1/inbox?scope=unit", Some(&app.leader_x)).await.json()["items"].as_array().unwrap().is_empty()
    );
}

#[tokio::test]
async fn a_calendar_change_moves_the_due_dates_of_running_dossiers() {
    let app = app().await;
    // Monday 23/11/2026 08:00 + three working days = Thursday 26/11 08:00.
    let (code, accepted) = accepted_at(&app, vn(2026, 11, 23, 8, 0)).await;
    assert_eq!(at(&accepted["due_at"]), vn(2026, 11, 26, 8, 0));
    let (finished, _) = accepted_at(&app, vn(2026, 11, 23, 8, 0)).await;
    act(&app, &finished, &app.portal, 2, json!({"type": "withdraw", "reason": "Không còn nhu cầu"})).await;
    // The first start records the calendar; nothing moves.
    let first = cqs_web::jobs::recompute_if_calendar_changed(&app.state).await.unwrap().unwrap();
    assert_eq!((first.examined, first.changed), (1, 0));
    assert!(cqs_web::jobs::recompute_if_calendar_changed(&app.state).await.unwrap().is_none());
    // The province declares Wednesday 25/11 a day off.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("calendar")).unwrap();
    let mut year: Value = serde_json::from_str(include_str!("../../../../rules/calendar/2026.json")).unwrap();
    year["days_off"]
        .as_array_mut()
        .unwrap()
        .push(json!({"date": "2026-11-25", "name": "Nghỉ theo quyết định của tỉnh"}));
    std::fs::write(dir.path().join("calendar/2026.json"), year.to_string()).unwrap();
    let changed = cqs_web::AppState::new(
        app.store.clone(),
        cqs_store::files::FileStore::open(app.dir.path().join("files")).unwrap(),
        cqs_web::Rules::load(Some(dir.path())).unwrap(),
        Default::default(),
    )
    .with_clock(app.clock.clone());
    app.clock.set(vn(2026, 11, 24, 9, 0));
    let report = cqs_web::jobs::recompute_if_calendar_changed(&changed).await.unwrap().unwrap();
    assert_eq!((report.examined, report.changed, report.kept), (1, 1, 0));
    let view = app.get(&format!("/api/v1/dossiers/{code}"), Some(&app.desk_x)).await.json();
    assert_eq!(at(&view["due_at"]), vn(2026, 11, 27, 8, 0));
    assert!(view["original_due_at"].is_null(), "a calendar change is not an apology");
    let history = app.get(&format!("/api/v1/dossiers/{code}/history"), Some(&app.desk_x)).await.json();
    let last = history.as_array().unwrap().last().unwrap();
    assert_eq!(last["action"], "recompute_deadline");
    assert_eq!(last["actor"]["kind"], "system");
    assert!(last["note"].as_str().unwrap().contains("27/11/2026"), "{last}");
    // Recorded: starting again on the same calendar changes nothing.
    assert!(cqs_web::jobs::recompute_if_calendar_changed(&changed).await.unwrap().is_none());
    let again = cqs_web::jobs::recompute_due_dates(&changed, app.clock.now()).await.unwrap();
    assert_eq!(again.changed, 0);
}
