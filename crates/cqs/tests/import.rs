//! The catalog importer: CSV and XLSX round trips of the demo catalog, per-row Vietnamese errors,
//! text encodings, and all-or-nothing imports.

use cqs::commands::{ImportOutcome, import_procedures};
use cqs::import::{COLUMNS, parse_table, read_csv, read_xlsx, to_csv};

fn demo_specs() -> Vec<cqs_domain::catalog::ProcedureSpec> {
    cqs::demo::procedures().unwrap()
}

#[test]
fn csv_round_trip_of_the_demo_catalog() {
    let specs = demo_specs();
    let csv = to_csv(&specs);
    let parsed = parse_table(&read_csv(csv.as_bytes()).unwrap()).unwrap();
    assert_eq!(parsed, specs);
}

#[test]
fn xlsx_round_trip_of_the_demo_catalog() {
    let specs = demo_specs();
    let table = read_csv(to_csv(&specs).as_bytes()).unwrap();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let sheet = wb.add_worksheet();
    for (r, row) in table.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, cell).unwrap();
        }
    }
    let bytes = wb.save_to_buffer().unwrap();
    assert_eq!(parse_table(&read_xlsx(&bytes).unwrap()).unwrap(), specs);
}

#[test]
fn encodings_with_bom_are_decoded() {
    let csv = to_csv(&demo_specs()[..2]);
    let mut utf8_bom = vec![0xEF, 0xBB, 0xBF];
    utf8_bom.extend_from_slice(csv.as_bytes());
    assert_eq!(parse_table(&read_csv(&utf8_bom).unwrap()).unwrap().len(), 2);
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in csv.encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    assert_eq!(parse_table(&read_csv(&utf16).unwrap()).unwrap().len(), 2);
}

#[test]
fn every_bad_row_is_reported_in_vietnamese() {
    let specs = demo_specs();
    let mut table = read_csv(to_csv(&specs[..3]).as_bytes()).unwrap();
    let col = |name: &str| COLUMNS.iter().position(|c| *c == name).unwrap();
    table[1][col("code")] = "1.23".into();
    table[2][col("fees")] = "[{\"name\": ".into();
    table[2][col("effective_from")] = "31/02/2026".into();
    table[3][col("online_level")] = "level4".into();
    let errors = parse_table(&table).unwrap_err();
    let described: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(described.iter().any(|e| e.starts_with("Dòng 2, cột code: Mã thủ tục")), "{described:?}");
    assert!(described.iter().any(|e| e.starts_with("Dòng 3, cột fees: JSON không hợp lệ")));
    assert!(described.iter().any(|e| e.starts_with("Dòng 3, cột effective_from: ngày")));
    assert!(described.iter().any(|e| e.starts_with("Dòng 4, cột online_level")));
    let mut dup = read_csv(to_csv(&specs[..2]).as_bytes()).unwrap();
    dup[2][col("code")] = dup[1][col("code")].clone();
    assert!(parse_table(&dup).unwrap_err()[0].message.contains("trùng với dòng 2"));
    let mut missing = read_csv(to_csv(&specs[..1]).as_bytes()).unwrap();
    missing[0].remove(col("legal_basis"));
    assert!(parse_table(&missing).unwrap_err()[0].message.contains("legal_basis"));
    assert!(read_xlsx(b"PK\x03\x04 not really a workbook").is_err());
}

#[tokio::test]
async fn import_is_all_or_nothing_and_idempotent() {
    let (store, dir) = cqs_store::testing::sqlite_store().await;
    let specs = demo_specs();
    let good = to_csv(&specs);
    // Without the org units and fields the references fail: nothing is written.
    match import_procedures(store.as_ref(), "catalog.csv", good.as_bytes(), true, false).await.unwrap() {
        ImportOutcome::Rejected(errors) => {
            assert!(errors.iter().any(|e| e.message.contains("lĩnh vực")))
        }
        _ => panic!("expected rejection"),
    }
    assert!(store.published_versions().await.unwrap().is_empty());
    cqs::demo::load(store.as_ref(), dir.path()).await.unwrap();
    let before = store.published_versions().await.unwrap().len();
    match import_procedures(store.as_ref(), "catalog.csv", good.as_bytes(), true, false).await.unwrap() {
        ImportOutcome::Imported(versions) => {
            assert!(versions.iter().all(|v| !v.created) && versions.len() == specs.len())
        }
        _ => panic!("expected import"),
    }
    // One bad row among good ones: the whole file is refused.
    let mut table = read_csv(good.as_bytes()).unwrap();
    let name_col = COLUMNS.iter().position(|c| *c == "name").unwrap();
    table[1][name_col] = "Tên mới của thủ tục".into();
    table[5][COLUMNS.iter().position(|c| *c == "deciding_unit").unwrap()] = "000.00.77.H99".into();
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in &table {
        w.write_record(r).unwrap();
    }
    let edited = w.into_inner().unwrap();
    assert!(matches!(
        import_procedures(store.as_ref(), "catalog.csv", &edited, true, false).await.unwrap(),
        ImportOutcome::Rejected(_)
    ));
    assert_eq!(store.published_versions().await.unwrap().len(), before);
    assert!(matches!(
        import_procedures(store.as_ref(), "catalog.csv", &edited, false, true).await.unwrap(),
        ImportOutcome::Rejected(_)
    ));
}

#[tokio::test]
async fn demo_loads_twice_without_duplicates() {
    let (store, dir) = cqs_store::testing::sqlite_store().await;
    let first = cqs::demo::load(store.as_ref(), dir.path()).await.unwrap();
    assert!(first.org_units >= 30 && first.procedures_added >= 40 && first.users_created > 0);
    let units = store.org_units().await.unwrap();
    assert!(units.iter().filter(|u| u.kind == cqs_domain::org::OrgUnitKind::Commune).count() >= 20);
    assert!(units.iter().filter(|u| u.kind == cqs_domain::org::OrgUnitKind::Department).count() >= 8);
    let fields: std::collections::HashSet<String> =
        store.published_versions().await.unwrap().into_iter().map(|v| v.spec.field).collect();
    assert!(fields.len() >= 8);
    let second = cqs::demo::load(store.as_ref(), dir.path()).await.unwrap();
    assert_eq!((second.procedures_added, second.users_created, second.keys_created.len()), (0, 0, 0));
    assert_eq!(store.published_versions().await.unwrap().len(), first.procedures_added);
    let creds = std::fs::read_to_string(dir.path().join("demo-credentials.txt")).unwrap();
    assert_eq!(creds.lines().filter(|l| l.contains("\tcqs_")).count(), first.keys_created.len());
}
