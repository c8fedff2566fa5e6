//! Importing a procedure catalog from CSV or XLSX, all or nothing: the one function behind
//! `cqs import procedures` and the admin page's upload. Every row is parsed and checked (the
//! spec's own rules and the units and fields it names) before anything is written.

use cqs_domain::catalog::ProcedureSpec;
use cqs_import::RowError;
use cqs_store::{AddedVersion, Store, StoreError};

/// Outcome of an import: the versions written, or every row problem found.
#[derive(Debug)]
pub enum ImportOutcome {
    /// One entry per procedure in the file; `created` is false for a row equal to the latest
    /// version (nothing added).
    Imported(Vec<AddedVersion>),
    Checked {
        rows: usize,
    },
    Rejected(Vec<RowError>),
}

/// Reads, checks and (unless `dry_run`) imports a catalog file; `.xlsx` by its name, CSV
/// otherwise. With errors nothing is written.
pub async fn import_procedures(
    store: &dyn Store,
    file_name: &str,
    bytes: &[u8],
    publish: bool,
    dry_run: bool,
) -> Result<ImportOutcome, StoreError> {
    let table = if file_name.to_ascii_lowercase().ends_with(".xlsx") {
        cqs_import::read_xlsx(bytes)
    } else {
        cqs_import::read_csv(bytes)
    };
    let specs: Vec<ProcedureSpec> = match table.and_then(|t| cqs_import::parse_table(&t)) {
        Ok(s) => s,
        Err(errors) => return Ok(ImportOutcome::Rejected(errors)),
    };
    let units = store.org_units().await?;
    let fields = store.fields().await?;
    let mut errors = Vec::new();
    for s in &specs {
        for p in crate::rules::spec_problems(s, &units, &fields) {
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
    Ok(ImportOutcome::Imported(store.add_procedure_versions(&specs, publish).await?))
}
