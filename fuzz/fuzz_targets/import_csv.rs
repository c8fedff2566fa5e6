//! The catalog import from CSV bytes (any encoding the importer accepts). Properties: a file
//! that imports writes back (the template format) to a CSV that imports to the same procedures;
//! every problem names a row that exists.
#![no_main]

use cqs_import::{MAX_ROWS, parse_table, read_csv, to_csv};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(table) = read_csv(bytes) else { return };
    assert!(table.len() <= MAX_ROWS + 1);
    match parse_table(&table) {
        Ok(specs) => {
            assert!(!specs.is_empty());
            let again = to_csv(&specs);
            let back =
                parse_table(&read_csv(again.as_bytes()).expect("our own CSV reads")).expect("our own CSV imports");
            assert_eq!(back, specs, "import → export → import changes nothing");
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            for e in errors {
                assert!(e.row <= table.len(), "{e:?}");
                assert!(!e.to_string().is_empty());
            }
        }
    }
});
