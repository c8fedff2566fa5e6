//! An uploaded attachment: the input's first line is the name the client gave it, the rest its
//! bytes (type sniffing).
//! Properties: sniffing answers the same twice and only names a type whose signature the bytes
//! start with (a PDF's within its first 1024 bytes); the stored name is never empty, has no path separator, control, invisible or
//! reserved character, is at most 150 characters, is NFC, and cleaning it again changes nothing.
#![no_main]

use cqs_domain::catalog::FileType;
use cqs_domain::dossier::{safe_file_name, sniff};
use cqs_domain::text::{has_invisible_chars, is_nfc};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let (name, bytes) = match input.iter().position(|&b| b == b'\n') {
        Some(i) => (String::from_utf8_lossy(&input[..i]), &input[i + 1..]),
        None => (String::from_utf8_lossy(input), &input[input.len()..]),
    };
    let name: &str = &name;
    let kind = sniff(bytes);
    assert_eq!(sniff(bytes), kind);
    match kind {
        // As PDF readers do (PDF Reference 1.4, H.3.4.1), the header may come anywhere in the
        // first 1024 bytes.
        Some(FileType::Pdf) => assert!(bytes[..bytes.len().min(1024)].windows(4).any(|w| w == b"%PDF")),
        Some(FileType::Png) => assert!(bytes.starts_with(b"\x89PNG")),
        Some(FileType::Jpg) => assert!(bytes.starts_with(b"\xFF\xD8\xFF")),
        Some(FileType::Docx | FileType::Xlsx) => assert!(bytes.starts_with(b"PK\x03\x04")),
        None => {}
    }

    let safe = safe_file_name(name);
    assert!(!safe.is_empty());
    assert!(safe.chars().count() <= 150, "{safe:?}");
    assert!(!safe.contains(['/', '\\', ':', '*', '?', '"', '<', '>', '|']), "{safe:?}");
    assert!(!safe.chars().any(char::is_control), "{safe:?}");
    assert!(!has_invisible_chars(&safe), "{safe:?}");
    assert!(!safe.starts_with('.') && !safe.ends_with('.'), "{safe:?}");
    assert!(is_nfc(&safe), "stored names are NFC: {safe:?}");
    assert_eq!(safe_file_name(&safe), safe, "cleaning a clean name changes nothing");
});
