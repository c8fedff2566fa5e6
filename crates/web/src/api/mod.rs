//! `/api/v1`: routes, their OpenAPI description, and the self-hosted docs page.

pub mod apologies;
pub mod auth;
pub mod catalog;
pub mod codes;
pub mod docstore;
pub mod dossiers;
pub mod exchange;
pub mod forms;
pub mod health;
pub mod inbox;
pub mod keys;
pub mod lookup;
pub mod me;
pub mod metrics;
pub mod mfa;
pub mod oauth;
pub mod organizations;
pub mod problems;
pub mod ratings;
pub mod results;
pub mod security;
pub mod statistics;
pub mod verify;
pub mod workflow;

use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Chính Quyền Số API",
        description = "API của hệ thống thông tin giải quyết thủ tục hành chính: danh mục thủ tục, nộp hồ sơ, tra cứu. Lỗi trả về theo RFC 9457 (application/problem+json) với mã `code` cố định và thông điệp tiếng Việt.",
        license(name = "AGPL-3.0-or-later")
    ),
    paths(exchange::gateway::mediate_root, exchange::gateway::mediate),
    modifiers(&BearerAuth),
    tags(
        (name = "catalog", description = "Danh mục thủ tục hành chính, lĩnh vực và cơ quan"),
        (name = "dossiers", description = "Nộp và xem hồ sơ"),
        (name = "lookup", description = "Tra cứu công khai tình trạng hồ sơ"),
        (name = "exchange", description = "Nền tảng tích hợp, chia sẻ dữ liệu (LGSP): danh mục thành viên, hệ thống, dịch vụ, quyền truy cập và đề nghị kết nối"),
        (name = "auth", description = "Đăng nhập, đăng ký tài khoản công dân, phiên đăng nhập"),
        (name = "health", description = "Tình trạng hoạt động")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("cqs_<prefix>_<secret>")
                    .description(Some("Khóa API do quản trị viên cấp bằng lệnh `cqs apikey create`"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "x_road_secret",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Header(
                utoipa::openapi::security::ApiKeyValue::with_description(
                    "X-SecretKey",
                    "Khóa bí mật của hệ thống (gửi kèm X-SystemId hoặc X-Road-Client)",
                ),
            )),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Cookie(
                utoipa::openapi::security::ApiKeyValue::with_description(
                    crate::auth::session::SESSION_COOKIE,
                    "Cookie phiên sau khi đăng nhập; yêu cầu thay đổi dữ liệu phải gửi kèm X-CSRF-Token",
                ),
            )),
        );
    }
}

/// The API routes with their OpenAPI document. The multipart submission route gets the larger
/// submission body limit; every other route keeps the JSON limit set in [`router`].
pub fn api_routes(submission_limit: usize) -> OpenApiRouter<AppState> {
    let (schemas, paths, submit) = routes!(dossiers::submit);
    let submit = submit.layer(axum::extract::DefaultBodyLimit::max(submission_limit));
    // A document to verify may be as large as an attachment (the handler enforces that limit).
    let (v_schemas, v_paths, verify) = routes!(verify::verify);
    let verify = verify.layer(axum::extract::DefaultBodyLimit::max(submission_limit));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(catalog::list_procedures, catalog::create_procedure_version))
        .routes(routes!(catalog::get_procedure))
        .routes(routes!(catalog::publish_version))
        .routes(routes!(catalog::list_fields))
        .routes(routes!(catalog::list_org_units))
        .routes((schemas, paths, submit))
        .routes(routes!(dossiers::get_dossier))
        .routes(routes!(dossiers::get_history))
        .routes(routes!(dossiers::download_attachment))
        .routes(routes!(workflow::act))
        .routes(routes!(dossiers::get_control_sheet))
        .routes(routes!(forms::list))
        .routes(routes!(forms::download))
        .routes(routes!(forms::register))
        .routes(routes!(results::list))
        .routes(routes!(results::download))
        .routes(routes!(ratings::get, ratings::rate))
        .routes(routes!(statistics::statistics))
        .routes((v_schemas, v_paths, verify))
        .routes(routes!(inbox::inbox))
        .routes(routes!(apologies::list))
        .routes(routes!(lookup::lookup))
        .routes(routes!(exchange::registry::list_members, exchange::registry::upsert_member))
        .routes(routes!(exchange::registry::list_subsystems, exchange::registry::create_subsystem))
        .routes(routes!(exchange::registry::update_subsystem))
        .routes(routes!(exchange::registry::issue_secret))
        .routes(routes!(exchange::registry::upsert_service))
        .routes(routes!(exchange::registry::list_services))
        .routes(routes!(exchange::registry::get_service))
        .routes(routes!(exchange::registry::list_grants, exchange::registry::create_grant))
        .routes(routes!(exchange::registry::revoke_grant))
        .routes(routes!(exchange::registry::list_limits, exchange::registry::set_limit))
        .routes(routes!(exchange::requests::list, exchange::requests::create))
        .routes(routes!(exchange::requests::get))
        .routes(routes!(exchange::requests::decide))
        .routes(routes!(exchange::gateway::token))
        .routes(routes!(exchange::log::evidence))
        .routes(routes!(exchange::monitoring::monitoring))
        .routes(routes!(auth::sign_in))
        .routes(routes!(auth::sign_out))
        .routes(routes!(auth::register))
        .routes(routes!(auth::eid_providers))
        .routes(routes!(codes::request_reset))
        .routes(routes!(codes::reset))
        .routes(routes!(codes::send_verification))
        .routes(routes!(codes::confirm_verification))
        .routes(routes!(oauth::token))
        .routes(routes!(keys::list, keys::create))
        .routes(routes!(keys::rotate))
        .routes(routes!(keys::revoke))
        .routes(routes!(organizations::create))
        .routes(routes!(organizations::get))
        .routes(routes!(organizations::put_member))
        .routes(routes!(organizations::remove_member))
        .routes(routes!(organizations::dossiers))
        .routes(routes!(organizations::mine))
        .routes(routes!(mfa::finish_sign_in))
        .routes(routes!(mfa::enrol_at_sign_in))
        .routes(routes!(mfa::my_status))
        .routes(routes!(mfa::enrol))
        .routes(routes!(mfa::confirm))
        .routes(routes!(mfa::renew_codes))
        .routes(routes!(mfa::disable))
        .routes(routes!(me::me))
        .routes(routes!(me::my_dossiers))
        .routes(routes!(docstore::mine))
        .routes(routes!(docstore::offers_for))
        .routes(routes!(docstore::download_mine))
        .routes(routes!(docstore::mark_verified))
        .routes(routes!(docstore::download_reused))
        .routes(routes!(me::my_sessions))
        .routes(routes!(me::revoke_session))
        .routes(routes!(security::list))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(metrics::metrics))
}

/// The OpenAPI document, for `/api/openapi.json` and for tests.
pub fn openapi() -> utoipa::openapi::OpenApi {
    documented(crate::Limits::default().submission_body).1
}

/// The API routes and their OpenAPI document, completed with what layers answer on their own.
fn documented(submission_limit: usize) -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut api) = api_routes(submission_limit).split_for_parts();
    crate::idempotency::document(&mut api);
    problems::document(&mut api);
    (router, api)
}

pub fn router(state: AppState) -> Router {
    // Mediated calls (`/r1/...`) are documented in `ApiDoc` but routed by
    // `exchange::gateway::router`, outside this stack.
    let (router, api) = documented(state.limits.submission_body);
    let docs = utoipa_swagger_ui::SwaggerUi::new("/api/docs").url("/api/openapi.json", api);
    let idempotency = axum::middleware::from_fn_with_state(state.clone(), crate::idempotency::guard);
    router
        .layer(idempotency)
        .layer(axum::extract::DefaultBodyLimit::max(state.limits.json_body))
        .with_state(state)
        .merge(docs)
}
