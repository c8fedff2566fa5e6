//! `POST /api/v1/verify`: anyone sends a PDF and learns whether its signatures are valid, who
//! signed it and when, whether it changed since, and which dossier it belongs to.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};

use crate::AppState;
use crate::documents::verify::{VerifyReport, check};
use crate::error::{ApiError, body_too_large};

/// Reads the PDF of a verification request: the raw body (`application/pdf`), or the part
/// named `file` of a multipart form, at most `limit` bytes.
pub async fn read_pdf(state: &AppState, req: Request, limit: usize) -> Result<Vec<u8>, ApiError> {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "file_too_large",
            format!("Tệp vượt quá {} MB", limit / (1024 * 1024)),
        )
    };
    if !multipart {
        let bytes = axum::body::to_bytes(req.into_body(), limit).await.map_err(|_| too_large())?;
        return Ok(bytes.to_vec());
    }
    let bad = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            body_too_large()
        } else {
            ApiError::bad_request("malformed_multipart", "Dữ liệu tải lên không hợp lệ")
        }
    };
    let mut mp = Multipart::from_request(req, state)
        .await
        .map_err(|_| ApiError::bad_request("malformed_multipart", "Dữ liệu tải lên không hợp lệ"))?;
    while let Some(mut field) = mp.next_field().await.map_err(bad)? {
        if field.name() != Some("file") {
            continue;
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(bad)? {
            if bytes.len() + chunk.len() > limit {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok(bytes);
    }
    Err(ApiError::bad_request("missing_file", "Chưa chọn tệp PDF cần xác thực"))
}

/// Verify a signed PDF: each signature's validity, signer, time and whether the document
/// changed since; and the dossier this platform issued the exact file for. Send the PDF as the
/// body (`application/pdf`) or as the `file` part of a multipart form. No sign-in needed.
#[utoipa::path(post, path = "/api/v1/verify", tag = "lookup",
    request_body(content((Vec<u8> = "application/pdf"))),
    responses((status = 200, body = VerifyReport), (status = 400, body = crate::error::Problem),
        (status = 413, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn verify(State(state): State<AppState>, req: Request) -> Result<Json<VerifyReport>, ApiError> {
    let pdf = read_pdf(&state, req, state.limits.attachment).await?;
    if pdf.is_empty() {
        return Err(ApiError::bad_request("missing_file", "Chưa chọn tệp PDF cần xác thực"));
    }
    check(&state, pdf).await.map(Json)
}
