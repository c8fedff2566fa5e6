//! The catalog import from XLSX bytes (a zip of XML parts). Properties: reading stops with an
//! error, never a crash or an unbounded allocation; a workbook that imports writes back to a
//! CSV that imports to the same procedures; every problem names a row that exists.
#![no_main]

use cqs_import::{MAX_ROWS, parse_table, read_csv, read_xlsx, to_csv};
use libfuzzer_sys::fuzz_target;

static HOOK: std::sync::Once = std::sync::Once::new();

fuzz_target!(|bytes: &[u8]| {
    // read_xlsx turns a panic inside calamine into an error (crates/import, a finding of this
    // target); libFuzzer's hook would abort on it before that, so it lets those through. Any
    // other panic still aborts and is reported.
    HOOK.call_once(|| {
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.location().is_some_and(|l| l.file().contains("/calamine-")) {
                abort(info)
            }
        }));
    });
    let Ok(table) = read_xlsx(bytes) else { return };
    assert!(table.len() <= MAX_ROWS + 1);
    match parse_table(&table) {
        Ok(specs) => {
            let back = parse_table(&read_csv(to_csv(&specs).as_bytes()).expect("our own CSV reads"))
                .expect("our own CSV imports");
            assert_eq!(back, specs, "import → export → import changes nothing");
        }
        Err(errors) => {
            for e in errors {
                assert!(e.row <= table.len(), "{e:?}");
            }
        }
    }
});
