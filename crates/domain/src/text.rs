//! Vietnamese text handling: normalization for storage and folding for search.
//!
//! Input arrives as NFC (most keyboards), NFD (macOS, Word paste) or a mix; stored text is always
//! NFC so equal words compare equal. Search compares a folded form in which case and diacritics
//! are gone and `đ` is `d`, so "dang ky" finds "Đăng ký". Folding uses `deunicode`'s tables, not
//! a hand-made list that would miss a letter.

use unicode_normalization::UnicodeNormalization;

/// Canonical composed form of user text, with surrounding white space trimmed.
pub fn nfc(s: &str) -> String {
    s.trim().nfc().collect()
}

/// Whether `s` is already in NFC.
pub fn is_nfc(s: &str) -> bool {
    unicode_normalization::is_nfc(s)
}

/// Lower-case ASCII form for matching: diacritics removed, runs of non-alphanumerics collapsed to
/// one space.
pub fn fold(s: &str) -> String {
    let composed: String = s.nfc().collect();
    let ascii = deunicode::deunicode(&composed).to_ascii_lowercase();
    let mut out = String::with_capacity(ascii.len());
    for word in ascii.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// True when every folded word of `query` occurs in the folded `haystack`. An empty query
/// matches everything.
pub fn matches(haystack_folded: &str, query: &str) -> bool {
    fold(query).split(' ').filter(|w| !w.is_empty()).all(|w| haystack_folded.contains(w))
}

/// Rejects control characters other than tab and newline, which have no business in form text
/// and break logs and CSV exports.
pub fn has_control_chars(s: &str) -> bool {
    s.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn folds_vietnamese() {
        assert_eq!(fold("Đăng ký kết hôn"), "dang ky ket hon");
        assert_eq!(fold("  ĐĂNG KÝ   khai-sinh "), "dang ky khai sinh");
        assert_eq!(fold("Chứng thực bản sao điện tử"), "chung thuc ban sao dien tu");
        // NFD input (combining marks) folds the same as NFC.
        let nfd: String = "Chứng thực".nfd().collect();
        assert_ne!(nfd, "Chứng thực");
        assert_eq!(fold(&nfd), "chung thuc");
        assert!(matches(&fold("Đăng ký kết hôn"), "dang ky ket hon"));
        assert!(matches(&fold("Đăng ký kết hôn"), "ĐĂNG KÝ"));
        assert!(!matches(&fold("Đăng ký khai sinh"), "ket hon"));
    }

    #[test]
    fn nfc_composes() {
        let nfd: String = "Nguyễn Thị Ánh".nfd().collect();
        assert_eq!(nfc(&nfd), "Nguyễn Thị Ánh");
        assert!(is_nfc(&nfc(&nfd)));
        assert!(has_control_chars("a\u{0}b"));
        assert!(!has_control_chars("dòng 1\ndòng 2"));
    }

    proptest! {
        #[test]
        fn fold_is_idempotent_and_ascii(s in "\\PC{0,60}") {
            let f = fold(&s);
            prop_assert!(f.is_ascii());
            prop_assert_eq!(fold(&f), f.clone());
            prop_assert!(matches(&f, &s) || fold(&s).is_empty() || f.contains(&fold(&s)));
        }
    }
}
