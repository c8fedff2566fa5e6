//! Regressions for what schemathesis found against the OpenAPI document (scripts/api-fuzz.sh,
//! docs/reliability.md): each answer must be one the document lists, with its media type.

use super::*;

#[tokio::test]
async fn a_bad_exchange_identifier_in_the_path_is_a_bad_address() {
    let app = app().await;
    for path in ["/api/v1/exchange/services/0/%21x%1B/0/0/0", "/api/v1/exchange/services/0/%21x%1B/0/0/0/grants"] {
        let r = app.get(path, Some(&app.admin)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(r.headers[header::CONTENT_TYPE], "application/problem+json");
        assert_eq!(r.json()["code"], "invalid_exchange_id");
    }
}

#[tokio::test]
async fn error_answers_are_documented_as_problem_json() {
    let doc = serde_json::to_value(cqs_web::api::openapi()).unwrap();
    let op = &doc["paths"]["/api/v1/dossiers/{code}"]["get"]["responses"];
    assert!(op["400"]["content"]["application/problem+json"].is_object(), "{op}");
    assert!(op["404"]["content"]["application/json"].is_null(), "{op}");
    let submit = &doc["paths"]["/api/v1/dossiers"]["post"]["responses"];
    for code in ["400", "413", "415", "422"] {
        assert!(submit[code].is_object(), "{code}: {submit}");
    }
}

#[tokio::test]
async fn query_parameters_are_documented_in_the_query() {
    let doc = serde_json::to_value(cqs_web::api::openapi()).unwrap();
    let mut query = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "path" {
                    let name = p["name"].as_str().unwrap();
                    assert!(path.contains(&format!("{{{name}}}")), "{method} {path}: `{name}` is not in the path");
                }
                query += usize::from(p["in"] == "query");
            }
        }
    }
    assert!(query >= 20, "{query}");
}

#[tokio::test]
async fn filters_that_name_what_does_not_exist_answer_as_documented() {
    let app = app().await;
    let doc = serde_json::to_value(cqs_web::api::openapi()).unwrap();
    for (path, token) in [("/api/v1/inbox", Some(&app.desk_x)), ("/api/v1/procedures", None)] {
        let r = app.get(&format!("{path}?unit=000.00.99.H99"), token.map(|t| t.as_str())).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(doc["paths"][path]["get"]["responses"]["404"].is_object(), "{path}: 404 documented");
    }
    // An exchange identifier in the query that does not parse is a bad request, not a field error.
    for path in ["/api/v1/exchange/access-requests?client=x", "/api/v1/exchange/services?provider=x"] {
        let r = app.get(path, Some(&app.admin)).await;
        assert_eq!(
            (r.status, r.json()["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_exchange_id")),
            "{path}"
        );
    }
}
