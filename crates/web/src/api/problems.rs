//! Completes the OpenAPI document with the problem answers every operation can give whether or
//! not its handler names them, so clients (and schemathesis, which checks every answer against
//! the document) know them all:
//!
//! - errors are `application/problem+json` (RFC 9457), not `application/json`;
//! - a path or query parameter that does not parse is 400 (the `ApiPath`/`ApiQuery` extractors);
//! - a request body may be malformed (400), of the wrong shape (422), of the wrong media type
//!   (415) or too large (413);
//! - an operation that needs credentials answers 401 without them and 403 without the right;
//! - any operation but the probes and metrics may be shed with 503 when the node is full
//!   (`crate::overload`).

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Response};

/// The media type of every error answer.
pub const PROBLEM_JSON: &str = "application/problem+json";

fn problem(description: &str) -> RefOr<Response> {
    let mut r = Response::new(description);
    r.content.insert(PROBLEM_JSON.to_owned(), RefOr::T(Content::new(Some(Ref::from_schema_name("Problem")))));
    RefOr::T(r)
}

/// Whether a documented answer's body is the Problem schema.
fn is_problem(content: &RefOr<Content>) -> bool {
    matches!(content, RefOr::T(c) if matches!(&c.schema, Some(RefOr::Ref(r)) if r.ref_location.ends_with("/Problem")))
}

fn complete(op: &mut Operation, path_has_params: bool, sheddable: bool) {
    // Problem bodies documented as application/json take their real media type.
    for (_, answer) in op.responses.responses.iter_mut() {
        if let RefOr::T(answer) = answer
            && let Some(json) = answer.content.get("application/json").filter(|c| is_problem(c)).cloned()
        {
            answer.content.shift_remove("application/json");
            answer.content.insert(PROBLEM_JSON.to_owned(), json);
        }
    }
    let params = op.parameters.as_deref().unwrap_or_default();
    let takes_query = params.iter().any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Query));
    let has_body = op.request_body.is_some();
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let mut add = |code: &str, text: &str| {
        op.responses.responses.entry(code.to_owned()).or_insert_with(|| problem(text));
    };
    if path_has_params || takes_query || has_body {
        add("400", "Tham số hoặc nội dung yêu cầu không hợp lệ");
    }
    if has_body {
        add("413", "Dữ liệu gửi lên vượt quá dung lượng cho phép");
        add("415", "Kiểu nội dung (Content-Type) không được hỗ trợ");
        add("422", "Dữ liệu chưa hợp lệ");
    }
    if secured {
        add("401", "Cần đăng nhập hoặc khóa API");
        add("403", "Không có quyền thực hiện thao tác này");
    }
    if sheddable {
        add("503", "Hệ thống đang quá tải hoặc tạm ngừng; thử lại sau số giây trong Retry-After");
    }
}

/// Adds the answers above to every operation of `api`.
pub fn document(api: &mut OpenApi) {
    for (path, item) in api.paths.paths.iter_mut() {
        // Mediated exchange calls answer in the exchange's own fault format.
        if path.starts_with("/r1/") {
            continue;
        }
        let path_has_params = path.contains('{');
        let sheddable = !crate::overload::never_shed(path);
        for op in
            [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
        {
            complete(op, path_has_params, sheddable);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_answer_is_problem_json_and_parameter_errors_are_documented() {
        let doc = crate::api::openapi();
        let mut checked = 0;
        for (path, item) in &doc.paths.paths {
            for op in [&item.get, &item.put, &item.post, &item.delete, &item.patch].into_iter().flatten() {
                for (code, answer) in &op.responses.responses {
                    let RefOr::T(answer) = answer else { continue };
                    if code.starts_with('4') && answer.content.values().any(is_problem) {
                        assert!(answer.content.contains_key(PROBLEM_JSON), "{path} {code}");
                        assert!(!answer.content.contains_key("application/json"), "{path} {code}");
                        checked += 1;
                    }
                }
                if path.contains('{') && !path.starts_with("/r1/") {
                    assert!(op.responses.responses.contains_key("400"), "{path}: a path parameter may not parse");
                }
                if !path.starts_with("/r1/") && !matches!(path.as_str(), "/healthz" | "/readyz" | "/metrics") {
                    assert!(op.responses.responses.contains_key("503"), "{path}: may be shed");
                }
            }
        }
        assert!(checked > 100, "{checked}");
    }
}
