//! Vietnamese text handling of names and searches. Properties: folding is idempotent, ASCII,
//! blind to NFC/NFD and to case; NFC is idempotent and its result is NFC; a name query of any
//! text matches that text's folded form, and the inbox word index covers it (a search never
//! misses what it should find); text without invisible characters has none.
#![no_main]

use cqs_domain::text::{
    NameQuery, deceptive_text, fold, has_invisible_chars, index_words, is_nfc, matches, name_problem, nfc,
    without_invisible_chars,
};
use libfuzzer_sys::fuzz_target;
use unicode_normalization::UnicodeNormalization;

fuzz_target!(|s: &str| {
    let f = fold(s);
    assert!(f.is_ascii(), "{f:?}");
    assert!(f.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b' '), "{f:?}");
    assert!(!f.starts_with(' ') && !f.ends_with(' ') && !f.contains("  "), "{f:?}");
    assert_eq!(fold(&f), f, "folding is idempotent");
    let nfd: String = s.nfd().collect();
    assert_eq!(fold(&nfd), f, "NFD folds like NFC");
    assert!(matches(&f, s), "a text matches itself");

    let n = nfc(s);
    assert!(is_nfc(&n));
    assert_eq!(nfc(&n), n, "NFC is idempotent");
    assert_eq!(fold(&n), f);

    match NameQuery::parse(s) {
        None => assert!(f.is_empty()),
        Some(q) => {
            assert_eq!(q.folded(), f);
            assert!(q.matches(&f), "a name query matches the name it was typed from");
            let words = index_words(&f);
            for w in q.whole_words() {
                assert!(words.iter().any(|x| x == w), "{w} in {words:?}");
            }
            let p = q.last_word_prefix();
            assert!(words.iter().any(|x| x.starts_with(p)), "{p} in {words:?}");
            assert!(q.like_pattern().bytes().all(|b| b != b'_' && b != b'\\'));
        }
    }

    let clean = without_invisible_chars(s);
    assert!(!has_invisible_chars(&clean));
    if name_problem(s).is_none() {
        assert!(deceptive_text(s).is_none());
    }
});
