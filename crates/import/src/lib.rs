//! Reading a procedure catalog from CSV or XLSX. One row per procedure, one column per spec
//! field (header names as in `docs/import.md`); list columns use `;` (legal basis: one text per
//! line, since titles contain semicolons), structured columns (fees,
//! components, form schema, process) hold JSON. Every row is checked before anything is written,
//! and every problem is reported with its row and column in Vietnamese.

use std::collections::HashMap;
use std::io::Cursor;

use calamine::{Data, Reader};
use chrono::NaiveDate;
use cqs_domain::catalog::{
    ComponentSpec, Deadline, Fee, OnlineLevel, ProcedureSpec, ProcessStep, ResultSpec, ReturnChannel, UnitRef,
    UnitSelector,
};
use cqs_domain::ids::ProcedureCode;

/// Largest import file accepted (bytes); a catalog of thousands of procedures is well under it.
pub const MAX_IMPORT_BYTES: usize = 20 * 1024 * 1024;
/// Most rows in one import.
pub const MAX_ROWS: usize = 20_000;
/// Most columns of a worksheet (the template has 20; a few more for notes are fine).
pub const MAX_COLUMNS: usize = 100;

/// The columns an import file must have, in the order the template lists them.
pub const COLUMNS: [&str; 20] = [
    "code",
    "name",
    "field",
    "summary",
    "applicants",
    "receiving_units",
    "deciding_unit",
    "online_level",
    "deadline_kind",
    "deadline_value",
    "fees",
    "components",
    "form_schema",
    "result_name",
    "result_document_type",
    "return_channels",
    "legal_basis",
    "process",
    "effective_from",
    "effective_to",
];

/// One problem in one row (row numbers as a spreadsheet shows them: the header is row 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub row: usize,
    pub column: String,
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.row == 0 {
            write!(f, "Tệp: {}", self.message)
        } else {
            write!(f, "Dòng {}, cột {}: {}", self.row, self.column, self.message)
        }
    }
}

fn file_error(message: impl Into<String>) -> Vec<RowError> {
    vec![RowError { row: 0, column: String::new(), message: message.into() }]
}

/// A table of strings: header then rows.
pub type Table = Vec<Vec<String>>;

/// Decodes CSV bytes that may carry a BOM, be UTF-16, or be in the legacy Vietnamese code page.
pub fn read_csv(bytes: &[u8]) -> Result<Table, Vec<RowError>> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(file_error(format!("tệp lớn hơn {} MB", MAX_IMPORT_BYTES / 1024 / 1024)));
    }
    let text = match encoding_rs::Encoding::for_bom(bytes) {
        Some((enc, bom)) => enc.decode_without_bom_handling(&bytes[bom..]).0.into_owned(),
        None => match std::str::from_utf8(bytes) {
            Ok(s) => s.to_owned(),
            Err(_) => encoding_rs::WINDOWS_1258.decode_without_bom_handling(bytes).0.into_owned(),
        },
    };
    let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut table = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| file_error(format!("dòng {} không đọc được: {e}", i + 1)))?;
        table.push(rec.iter().map(str::to_owned).collect());
        if table.len() > MAX_ROWS + 1 {
            return Err(file_error(format!("tệp có hơn {MAX_ROWS} dòng")));
        }
    }
    Ok(table)
}

/// Most an XLSX workbook may unpack to. A workbook of the largest import is far smaller; a zip
/// bomb (a few MB that inflate to gigabytes) is far larger.
pub const MAX_UNPACKED_BYTES: u64 = 256 * 1024 * 1024;

/// Reads the first worksheet of an XLSX workbook.
pub fn read_xlsx(bytes: &[u8]) -> Result<Table, Vec<RowError>> {
    read_xlsx_within(bytes, MAX_UNPACKED_BYTES)
}

/// [`read_xlsx`] refusing workbooks that unpack to more than `max_unpacked` bytes. The sizes
/// come from the archive's directory, which cannot lie to us: the zip reader stops any entry
/// that inflates past its recorded size.
pub fn read_xlsx_within(bytes: &[u8], max_unpacked: u64) -> Result<Table, Vec<RowError>> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(file_error(format!("tệp lớn hơn {} MB", MAX_IMPORT_BYTES / 1024 / 1024)));
    }
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| file_error(format!("không mở được tệp Excel: {e}")))?;
    let mut unpacked: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(|e| file_error(format!("không mở được tệp Excel: {e}")))?;
        unpacked = unpacked.saturating_add(entry.size());
        if unpacked > max_unpacked {
            return Err(file_error(format!(
                "tệp Excel giải nén ra hơn {} MB, vượt giới hạn (có thể là tệp nén độc hại)",
                max_unpacked / 1024 / 1024
            )));
        }
    }
    // calamine panics on some malformed workbooks (a cell reference such as "AAAAAAAAAAAAAAAA1"
    // overflows its column arithmetic, a fuzzing finding); such a file is refused like any other
    // unreadable one instead of taking the process down.
    std::panic::catch_unwind(|| read_first_sheet(bytes))
        .unwrap_or_else(|_| Err(file_error("tệp Excel bị hỏng: không đọc được trang tính")))
}

fn read_first_sheet(bytes: &[u8]) -> Result<Table, Vec<RowError>> {
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e| file_error(format!("không mở được tệp Excel: {e}")))?;
    let name = wb.sheet_names().into_iter().next().ok_or_else(|| file_error("tệp Excel không có trang tính nào"))?;
    let mut reader = match wb.worksheet_cells_reader(&name) {
        Ok(reader) => reader,
        Err(calamine::XlsxError::NotAWorksheet(_)) => return Ok(Vec::new()),
        Err(e) => return Err(file_error(format!("không đọc được trang tính: {e}"))),
    };
    // The cells are read one by one and the table is bounded before it is made: a sheet of two
    // cells, A1 and XFD1048576, would otherwise ask for a grid of 17 billion cells.
    let read_error = |e: calamine::XlsxError| file_error(format!("không đọc được trang tính: {e}"));
    let mut cells: Vec<(usize, usize, String)> = Vec::new();
    let (mut top, mut bottom, mut left, mut right) = (usize::MAX, 0, usize::MAX, 0);
    while let Some(cell) = reader.next_cell().map_err(read_error)? {
        let (row, col) = cell.get_position();
        let (row, col) = (row as usize, col as usize);
        let text = cell_text(Data::from(cell.get_value().clone()));
        if text.is_empty() {
            continue;
        }
        (top, bottom, left, right) = (top.min(row), bottom.max(row), left.min(col), right.max(col));
        if bottom - top > MAX_ROWS || cells.len() >= (MAX_ROWS + 1) * MAX_COLUMNS {
            return Err(file_error(format!("tệp có hơn {MAX_ROWS} dòng")));
        }
        if right - left >= MAX_COLUMNS {
            return Err(file_error(format!("tệp có hơn {MAX_COLUMNS} cột")));
        }
        cells.push((row, col, text));
    }
    if cells.is_empty() {
        return Ok(Vec::new());
    }
    // Like a spreadsheet's used range: from the first filled row and column to the last.
    let mut table = vec![vec![String::new(); right - left + 1]; bottom - top + 1];
    for (row, col, text) in cells {
        table[row - top][col - left] = text;
    }
    Ok(table)
}

/// A cell as the importer reads it: whole numbers without a decimal point, dates as YYYY-MM-DD.
fn cell_text(c: Data) -> String {
    match c {
        Data::Empty => String::new(),
        Data::DateTime(d) => match d.as_datetime() {
            Some(t) => t.date().to_string(),
            None => Data::DateTime(d).to_string(),
        },
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        other => other.to_string(),
    }
}

struct Row<'a> {
    number: usize,
    cells: &'a [String],
    index: &'a HashMap<&'static str, usize>,
    errors: Vec<RowError>,
}

impl Row<'_> {
    fn cell(&self, col: &str) -> &str {
        self.index.get(col).and_then(|&i| self.cells.get(i)).map_or("", |s| s.trim())
    }
    fn err(&mut self, col: &str, message: impl Into<String>) {
        self.errors.push(RowError { row: self.number, column: col.to_owned(), message: message.into() });
    }
    fn text(&mut self, col: &str) -> String {
        let v = cqs_domain::text::nfc(self.cell(col));
        if v.is_empty() {
            self.err(col, "không được để trống");
        }
        v
    }
    fn list(&self, col: &str) -> Vec<String> {
        self.split(col, &[';', '\n'])
    }
    /// Legal texts contain semicolons in their titles, so they are one per line.
    fn lines(&self, col: &str) -> Vec<String> {
        self.split(col, &['\n'])
    }
    fn split(&self, col: &str, by: &[char]) -> Vec<String> {
        self.cell(col).split(by).map(str::trim).filter(|s| !s.is_empty()).map(cqs_domain::text::nfc).collect()
    }
    fn json<T: serde::de::DeserializeOwned>(&mut self, col: &str) -> Option<T> {
        let raw = self.cell(col).to_owned();
        let raw = if raw.is_empty() { "[]".to_owned() } else { raw };
        match serde_json::from_str(&raw) {
            Ok(v) => Some(v),
            Err(e) => {
                self.err(col, format!("JSON không hợp lệ: {e}"));
                None
            }
        }
    }
    fn date(&mut self, col: &str, required: bool) -> Option<NaiveDate> {
        let raw = self.cell(col).to_owned();
        if raw.is_empty() {
            if required {
                self.err(col, "không được để trống (định dạng YYYY-MM-DD hoặc dd/mm/yyyy)");
            }
            return None;
        }
        match NaiveDate::parse_from_str(&raw, "%Y-%m-%d").or_else(|_| NaiveDate::parse_from_str(&raw, "%d/%m/%Y")) {
            Ok(d) => Some(d),
            Err(_) => {
                self.err(col, format!("ngày \"{raw}\" không hợp lệ (YYYY-MM-DD hoặc dd/mm/yyyy)"));
                None
            }
        }
    }
    fn parse_each<T: std::str::FromStr<Err = String>>(&mut self, col: &str) -> Vec<T> {
        let mut out = Vec::new();
        for item in self.list(col) {
            match item.parse() {
                Ok(v) => out.push(v),
                Err(e) => self.err(col, e),
            }
        }
        out
    }
}

fn enum_value<T: serde::de::DeserializeOwned>(raw: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(raw.to_owned())).ok()
}

/// Turns a table into specs, checking every row; all problems of all rows come back together.
pub fn parse_table(table: &Table) -> Result<Vec<ProcedureSpec>, Vec<RowError>> {
    let Some((header, rows)) = table.split_first() else {
        return Err(file_error("tệp trống"));
    };
    let mut index = HashMap::new();
    for col in COLUMNS {
        match header.iter().position(|h| h.trim().eq_ignore_ascii_case(col)) {
            Some(i) => {
                index.insert(col, i);
            }
            None if col == "effective_to" => {}
            None => return Err(file_error(format!("thiếu cột \"{col}\" ở dòng tiêu đề"))),
        }
    }
    let mut specs = Vec::new();
    let mut errors = Vec::new();
    let mut seen = HashMap::new();
    for (i, cells) in rows.iter().enumerate() {
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let mut r = Row { number: i + 2, cells, index: &index, errors: Vec::new() };
        let code = match ProcedureCode::parse(r.cell("code")) {
            Ok(c) => Some(c),
            Err(e) => {
                r.err("code", e.to_string());
                None
            }
        };
        if let Some(c) = &code
            && let Some(first) = seen.insert(c.clone(), r.number)
        {
            r.err("code", format!("mã thủ tục trùng với dòng {first}"));
        }
        let name = r.text("name");
        let field = r.text("field");
        let summary = r.text("summary");
        let applicants = r.text("applicants");
        let receiving_units: Vec<UnitSelector> = r.parse_each("receiving_units");
        let deciding_unit = match r.cell("deciding_unit").parse::<UnitRef>() {
            Ok(u) => Some(u),
            Err(e) => {
                r.err("deciding_unit", e);
                None
            }
        };
        let online_level: Option<OnlineLevel> = enum_value(r.cell("online_level"));
        if online_level.is_none() {
            r.err("online_level", "phải là full, partial hoặc info_only");
        }
        let value = r.cell("deadline_value").to_owned();
        let num = value.parse::<u32>();
        let deadline = match (r.cell("deadline_kind"), num) {
            ("working_hours", Ok(hours)) => Some(Deadline::WorkingHours { hours }),
            ("calendar_days", Ok(days)) => Some(Deadline::CalendarDays { days }),
            ("none", _) => Some(Deadline::None),
            ("working_hours" | "calendar_days", Err(_)) => {
                r.err("deadline_value", format!("\"{value}\" không phải số nguyên dương"));
                None
            }
            _ => {
                r.err("deadline_kind", "phải là working_hours, calendar_days hoặc none");
                None
            }
        };
        let fees: Option<Vec<Fee>> = r.json("fees");
        let components: Option<Vec<ComponentSpec>> = r.json("components");
        let form_schema: Option<serde_json::Value> = r.json("form_schema");
        let process: Option<Vec<ProcessStep>> = r.json("process");
        let result = ResultSpec { name: r.text("result_name"), document_type: r.text("result_document_type") };
        let mut return_channels = Vec::new();
        for ch in r.list("return_channels") {
            match enum_value::<ReturnChannel>(&ch) {
                Some(c) => return_channels.push(c),
                None => r.err("return_channels", format!("\"{ch}\" không phải counter, online hoặc post")),
            }
        }
        let legal_basis = r.lines("legal_basis");
        let effective_from = r.date("effective_from", true);
        let effective_to = r.date("effective_to", false);
        if let (
            Some(code),
            Some(deciding_unit),
            Some(online_level),
            Some(deadline),
            Some(fees),
            Some(components),
            Some(form_schema),
            Some(process),
            Some(effective_from),
        ) = (code, deciding_unit, online_level, deadline, fees, components, form_schema, process, effective_from)
        {
            let spec = ProcedureSpec {
                code,
                name,
                field,
                summary,
                applicants,
                receiving_units,
                deciding_unit,
                online_level,
                deadline,
                fees,
                components,
                form_schema,
                result,
                return_channels,
                legal_basis,
                process,
                effective_from,
                effective_to,
            };
            if r.errors.is_empty() {
                for p in spec.check() {
                    r.err(&p.field, p.message);
                }
            }
            specs.push(spec);
        }
        errors.append(&mut r.errors);
    }
    if specs.is_empty() && errors.is_empty() {
        return Err(file_error("tệp không có dòng dữ liệu nào"));
    }
    if errors.is_empty() { Ok(specs) } else { Err(errors) }
}

/// Writes specs as a CSV table in the import format (the template, and a round-trip check).
pub fn to_csv(specs: &[ProcedureSpec]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS).expect("in-memory write");
    for s in specs {
        let (kind, value) = match s.deadline {
            Deadline::WorkingHours { hours } => ("working_hours", hours.to_string()),
            Deadline::CalendarDays { days } => ("calendar_days", days.to_string()),
            Deadline::None => ("none", String::new()),
        };
        let join = |v: Vec<String>| v.join("; ");
        w.write_record([
            s.code.to_string(),
            s.name.clone(),
            s.field.clone(),
            s.summary.clone(),
            s.applicants.clone(),
            join(s.receiving_units.iter().map(ToString::to_string).collect()),
            s.deciding_unit.to_string(),
            serde_json::to_value(s.online_level).expect("enum").as_str().unwrap_or_default().to_owned(),
            kind.to_owned(),
            value,
            js(&s.fees),
            js(&s.components),
            js(&s.form_schema),
            s.result.name.clone(),
            s.result.document_type.clone(),
            join(
                s.return_channels
                    .iter()
                    .map(|c| serde_json::to_value(c).expect("enum").as_str().unwrap_or_default().to_owned())
                    .collect(),
            ),
            s.legal_basis.join("\n"),
            js(&s.process),
            s.effective_from.to_string(),
            s.effective_to.map(|d| d.to_string()).unwrap_or_default(),
        ])
        .expect("in-memory write");
    }
    String::from_utf8(w.into_inner().expect("in-memory flush")).expect("CSV of UTF-8 strings")
}

fn js<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("serializable")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workbook(cells: &[(u32, u16, &str)]) -> Vec<u8> {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let sheet = wb.add_worksheet();
        for &(row, col, text) in cells {
            sheet.write_string(row, col, text).unwrap();
        }
        wb.save_to_buffer().unwrap()
    }

    /// Fuzzing finding: two cells in opposite corners of the sheet made the reader allocate
    /// the whole grid between them (17 billion cells) and abort the process.
    #[test]
    fn a_sheet_spanning_the_grid_is_refused_without_allocating_it() {
        let corners = workbook(&[(0, 0, "code"), (1_048_575, 16_383, "x")]);
        let errors = read_xlsx(&corners).unwrap_err();
        assert!(errors[0].message.contains(&format!("hơn {MAX_ROWS} dòng")), "{errors:?}");
        let tall = workbook(&[(0, 0, "code"), (1_048_575, 0, "x")]);
        let errors = read_xlsx(&tall).unwrap_err();
        assert!(errors[0].message.contains(&format!("hơn {MAX_ROWS} dòng")), "{errors:?}");
        let wide = workbook(&[(0, 0, "code"), (0, 16_383, "x")]);
        let errors = read_xlsx(&wide).unwrap_err();
        assert!(errors[0].message.contains(&format!("hơn {MAX_COLUMNS} cột")), "{errors:?}");
        let just_too_wide = workbook(&[(0, 0, "code"), (0, MAX_COLUMNS as u16, "x")]);
        assert!(read_xlsx(&just_too_wide).is_err());
        let widest_allowed = workbook(&[(0, 0, "code"), (0, MAX_COLUMNS as u16 - 1, "x")]);
        assert_eq!(read_xlsx(&widest_allowed).unwrap()[0].len(), MAX_COLUMNS);
    }

    /// Fuzzing finding: calamine's cell-reference parser overflows on a long column name (a
    /// panic where overflow is checked, as in debug builds and tests).
    #[test]
    fn an_overflowing_cell_reference_is_an_error() {
        let sheet = workbook(&[(0, 0, "code")]);
        let mut archive = zip::ZipArchive::new(Cursor::new(&sheet)).unwrap();
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for i in 0..archive.len() {
            let mut entry = archive.by_index(i).unwrap();
            let name = entry.name().unwrap().into_owned();
            let mut text = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut text).unwrap();
            if name == "xl/worksheets/sheet1.xml" {
                text = String::from_utf8(text).unwrap().replace("r=\"A1\"", "r=\"AAAAAAAAAAAAAAAA1\"").into_bytes();
            }
            out.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
            std::io::Write::write_all(&mut out, &text).unwrap();
        }
        let bytes = out.finish().unwrap().into_inner();
        match read_xlsx(&bytes) {
            Err(errors) => assert!(errors[0].message.contains("Excel"), "{errors:?}"),
            // Where overflow wraps (release builds) the column lands anywhere; the table stays bounded.
            Ok(table) => assert!(!cfg!(debug_assertions) && table.len() <= MAX_ROWS + 1, "{table:?}"),
        }
    }

    #[test]
    fn the_table_starts_at_the_first_filled_cell() {
        let bytes = workbook(&[(2, 1, "code"), (2, 3, "name"), (3, 1, "1.000948"), (4, 2, "x")]);
        let table = read_xlsx(&bytes).unwrap();
        assert_eq!(
            table,
            vec![
                vec!["code".to_owned(), String::new(), "name".to_owned()],
                vec!["1.000948".to_owned(), String::new(), String::new()],
                vec![String::new(), "x".to_owned(), String::new()],
            ]
        );
    }

    #[test]
    fn numbers_and_dates_read_as_typed() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let sheet = wb.add_worksheet();
        sheet.write_number(0, 0, 8.0).unwrap();
        sheet.write_number(0, 1, 2.5).unwrap();
        let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2026, 1, 31).unwrap();
        let format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        sheet.write_datetime_with_format(0, 2, &date, &format).unwrap();
        let table = read_xlsx(&wb.save_to_buffer().unwrap()).unwrap();
        assert_eq!(table, vec![vec!["8".to_owned(), "2.5".to_owned(), "2026-01-31".to_owned()]]);
    }
}
