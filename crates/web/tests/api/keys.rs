//! API keys administered through the API: issued with scopes and an org unit, their last use
//! shown, rotated with a grace period for the old secret, revoked; only root admins manage them.

use chrono::Duration;
use serde_json::json;

use super::*;

#[tokio::test]
async fn admins_issue_rotate_and_revoke_keys() {
    let app = app().await;
    assert_eq!(app.get("/api/v1/api-keys", Some(&app.desk_x)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/api/v1/api-keys", Some(&app.portal)).await.status,
        StatusCode::FORBIDDEN,
        "keys never mint keys"
    );
    let new = json!({"name": "Cổng dịch vụ công quốc gia", "scopes": ["dossiers:read"], "org_unit": "000.00.31.H99"});
    let r = app.post_json("/api/v1/api-keys", Some(&app.admin), &new, None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
    let issued = r.json();
    let first = issued["token"].as_str().unwrap().to_owned();
    let prefix = issued["key"]["prefix"].as_str().unwrap().to_owned();
    assert!(first.starts_with(&format!("cqs_{prefix}_")));
    assert_eq!(issued["key"]["org_unit"], "000.00.31.H99");
    assert!(issued["key"]["last_used_at"].is_null());

    // The key reads dossiers of its unit only.
    let here = submitted(&app).await;
    let r = app.post_json("/api/v1/dossiers", Some(&app.portal), &submission("000.00.32.H99", "online"), None).await;
    let elsewhere = r.json()["code"].as_str().unwrap().to_owned();
    assert_eq!(app.get(&format!("/api/v1/dossiers/{here}"), Some(&first)).await.status, StatusCode::OK);
    assert_eq!(app.get(&format!("/api/v1/dossiers/{elsewhere}"), Some(&first)).await.status, StatusCode::FORBIDDEN);
    let list = app.get("/api/v1/api-keys", Some(&app.admin)).await.json();
    let mine = list.as_array().unwrap().iter().find(|k| k["prefix"] == prefix.as_str()).unwrap().clone();
    assert!(mine["last_used_at"].is_string(), "{mine}");
    assert!(!list.to_string().contains(&first[13..]), "secrets are never listed");

    // Rotation: both secrets work for the grace period, then only the new one.
    let rotate = |hours: i64| json!({ "grace_hours": hours });
    let r = app.post_json(&format!("/api/v1/api-keys/{prefix}/rotate"), Some(&app.admin), &rotate(1), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let second = r.json()["token"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert!(r.json()["key"]["previous_valid_until"].is_string());
    for token in [&first, &second] {
        assert_eq!(app.get(&format!("/api/v1/dossiers/{here}"), Some(token)).await.status, StatusCode::OK);
    }
    let start = app.clock.now();
    app.clock.set(start + Duration::hours(1));
    assert_eq!(app.get(&format!("/api/v1/dossiers/{here}"), Some(&first)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get(&format!("/api/v1/dossiers/{here}"), Some(&second)).await.status, StatusCode::OK);
    // Rotating again ends the secret it replaces after its own grace, and any older one at once.
    let r = app.post_json(&format!("/api/v1/api-keys/{prefix}/rotate"), Some(&app.admin), &rotate(0), None).await;
    let third = r.json()["token"].as_str().unwrap().to_owned();
    for (token, status) in
        [(&first, StatusCode::UNAUTHORIZED), (&second, StatusCode::UNAUTHORIZED), (&third, StatusCode::OK)]
    {
        assert_eq!(app.get(&format!("/api/v1/dossiers/{here}"), Some(token)).await.status, status);
    }

    // Revoked: nothing works any more.
    let r = app.post_json(&format!("/api/v1/api-keys/{prefix}/revoke"), Some(&app.admin), &json!({}), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&format!("/api/v1/dossiers/{here}"), Some(&third)).await.status, StatusCode::UNAUTHORIZED);
    let r = app.post_json(&format!("/api/v1/api-keys/{prefix}/rotate"), Some(&app.admin), &rotate(1), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "a revoked key is not rotated");

    // Bad input is refused with the field named.
    for (body, field) in [
        (json!({"name": "x", "scopes": []}), "/scopes"),
        (json!({"name": "x", "scopes": ["dossiers:read"], "org_unit": "999.99.99.H99"}), "/org_unit"),
        (json!({"name": " ", "scopes": ["dossiers:read"]}), "/name"),
    ] {
        let r = app.post_json("/api/v1/api-keys", Some(&app.admin), &body, None).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.json()["errors"][0]["field"], field);
    }
    let r = app
        .post_json(
            &format!("/api/v1/api-keys/{}/rotate", app.portal[4..12].to_owned()),
            Some(&app.admin),
            &rotate(800),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let events = app.get("/api/v1/security-events?kind=api_key_changed", Some(&app.admin)).await.json();
    assert_eq!(events["items"].as_array().unwrap().len(), 4, "created, rotated twice, revoked");
}

/// A form post to the token endpoint.
async fn token_request(app: &App, basic: Option<(&str, &str)>, form: &str) -> Resp {
    use base64::Engine;
    let mut req =
        Request::post("/api/v1/oauth/token").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some((id, secret)) = basic {
        let v = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        req = req.header(header::AUTHORIZATION, format!("Basic {v}"));
    }
    app.call(req.body(Body::from(form.to_owned())).unwrap()).await
}

#[tokio::test]
async fn client_credentials_give_short_lived_tokens_that_end_with_the_key() {
    let app = app().await;
    let new =
        json!({"name": "Hệ thống báo cáo", "scopes": ["dossiers:read", "metrics:read"], "org_unit": "000.00.31.H99"});
    let issued = app.post_json("/api/v1/api-keys", Some(&app.admin), &new, None).await.json();
    let token = issued["token"].as_str().unwrap().to_owned();
    let (id, secret) = (&token[4..12], &token[13..]);
    let here = submitted(&app).await;

    let r = token_request(&app, Some((id, secret)), "grant_type=client_credentials").await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
    let body = r.json();
    assert_eq!((body["token_type"].as_str(), body["expires_in"].as_i64()), (Some("Bearer"), Some(900)));
    assert_eq!(body["scope"], "dossiers:read metrics:read");
    let access = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get(&format!("/api/v1/dossiers/{here}"), Some(&access)).await.status, StatusCode::OK);
    // Fewer scopes when asked (credentials in the form this time); never more.
    let form = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}&scope=metrics%3Aread");
    let narrow = token_request(&app, None, &form).await.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get(&format!("/api/v1/dossiers/{here}"), Some(&narrow)).await.status, StatusCode::FORBIDDEN);
    let r = token_request(&app, Some((id, secret)), "grant_type=client_credentials&scope=catalog%3Awrite").await;
    assert_eq!((r.status, r.json()["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_scope")));
    // Wrong secret, other grants, staff keys: refused in OAuth's terms.
    let r = token_request(&app, Some((id, &"0".repeat(64))), "grant_type=client_credentials").await;
    assert_eq!((r.status, r.json()["error"].clone()), (StatusCode::UNAUTHORIZED, json!("invalid_client")));
    assert!(r.headers.contains_key(header::WWW_AUTHENTICATE));
    let r = token_request(&app, Some((id, secret)), "grant_type=password").await;
    assert_eq!(r.json()["error"], "unsupported_grant_type");
    let r = token_request(&app, Some((&app.desk_x[4..12], &app.desk_x[13..])), "grant_type=client_credentials").await;
    assert_eq!(r.json()["error"], "invalid_client");
    // A changed token is refused; a token expires after 15 minutes; revoking the key ends it.
    let mut forged = access.clone();
    forged.pop();
    forged.push(if access.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(app.get(&format!("/api/v1/dossiers/{here}"), Some(&forged)).await.status, StatusCode::UNAUTHORIZED);
    let start = app.clock.now();
    app.clock.set(start + Duration::minutes(15));
    assert_eq!(app.get(&format!("/api/v1/dossiers/{here}"), Some(&access)).await.status, StatusCode::UNAUTHORIZED);
    app.clock.set(start);
    let prefix = issued["key"]["prefix"].as_str().unwrap();
    app.post_json(&format!("/api/v1/api-keys/{prefix}/revoke"), Some(&app.admin), &json!({}), None).await;
    assert_eq!(app.get(&format!("/api/v1/dossiers/{here}"), Some(&access)).await.status, StatusCode::UNAUTHORIZED);
}
