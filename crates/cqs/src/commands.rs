//! Administrative commands shared by the CLI and the demo loader.

use chrono::Utc;
use cqs_domain::auth::{RoleGrant, Scope};
use cqs_store::{NewApiKey, Store};
use uuid::Uuid;

/// Creates an API key and returns its token, which is shown once and never stored.
pub async fn issue_key(
    store: &dyn Store,
    name: &str,
    user_id: Option<Uuid>,
    scopes: Vec<Scope>,
    org_unit_id: Option<Uuid>,
) -> anyhow::Result<String> {
    let key = cqs_web::auth::generate_key();
    store
        .create_api_key(&NewApiKey {
            id: Uuid::now_v7(),
            prefix: key.prefix,
            secret_hash: key.secret_hash,
            name: name.to_owned(),
            user_id,
            scopes,
            org_unit_id,
            created_at: Utc::now(),
        })
        .await?;
    Ok(key.token)
}

/// Parses `role@agency-code` into a grant, resolving the unit.
pub async fn parse_grant(store: &dyn Store, s: &str) -> anyhow::Result<RoleGrant> {
    let (role, unit) =
        s.split_once('@').ok_or_else(|| anyhow::anyhow!("vai trò phải có dạng vai_trò@mã_đơn_vị: {s}"))?;
    let role = cqs_domain::auth::Role::parse(role).ok_or_else(|| {
        anyhow::anyhow!("vai trò {role} không hợp lệ (desk_officer, specialist, leader, clerk, admin)")
    })?;
    let unit = store.org_unit_by_code(unit).await?.ok_or_else(|| anyhow::anyhow!("không có đơn vị {unit}"))?;
    Ok(RoleGrant { role, org_unit_id: unit.id })
}

/// The catalog import, shared with the admin page's upload.
pub use cqs_web::catalog_import::{ImportOutcome, import_procedures};
