//! Administrative commands shared by the CLI and the demo loader.

use chrono::Utc;
use cqs_domain::auth::{RoleGrant, Scope};
use cqs_domain::catalog::ProcedureSpec;
use cqs_store::{NewApiKey, Store};
use uuid::Uuid;

use crate::import::{self, RowError};

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

/// Outcome of an import: either the specs written, or every row problem found.
pub enum ImportOutcome {
    Imported { added: usize, unchanged: usize },
    Checked { rows: usize },
    Rejected(Vec<RowError>),
}

/// Reads, checks and (unless `dry_run`) imports a CSV or XLSX catalog, all or nothing.
pub async fn import_procedures(
    store: &dyn Store,
    file_name: &str,
    bytes: &[u8],
    publish: bool,
    dry_run: bool,
) -> anyhow::Result<ImportOutcome> {
    let table = if file_name.to_ascii_lowercase().ends_with(".xlsx") {
        import::read_xlsx(bytes)
    } else {
        import::read_csv(bytes)
    };
    let specs: Vec<ProcedureSpec> = match table.and_then(|t| import::parse_table(&t)) {
        Ok(s) => s,
        Err(errors) => return Ok(ImportOutcome::Rejected(errors)),
    };
    let units = store.org_units().await?;
    let fields = store.fields().await?;
    let mut errors = Vec::new();
    for s in &specs {
        for p in cqs_web::rules::spec_problems(s, &units, &fields) {
            errors
                .push(RowError { row: 0, column: p.field, message: format!("thủ tục {}: {}", s.code, p.message) });
        }
    }
    if !errors.is_empty() {
        return Ok(ImportOutcome::Rejected(errors));
    }
    if dry_run {
        return Ok(ImportOutcome::Checked { rows: specs.len() });
    }
    let added = store.add_procedure_versions(&specs, publish).await?;
    let created = added.iter().filter(|a| a.created).count();
    Ok(ImportOutcome::Imported { added: created, unchanged: added.len() - created })
}
