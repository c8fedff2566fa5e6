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
    // Control characters become spaces first: `deunicode` keeps them when the text before is
    // ASCII and drops them otherwise, which made "x\0x" fold to "x x" or "xx" by context.
    let composed: String = s.nfc().map(|c| if c.is_control() { ' ' } else { c }).collect();
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

/// Longest word the index keeps; longer ones are cut (a search by its start still finds it).
pub const MAX_INDEXED_WORD_LEN: usize = 32;

/// The distinct words of a folded name, as the inbox word index stores them (all of them: a
/// word left out would make a search for it miss the dossier).
pub fn index_words(folded: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in folded.split(' ').filter(|w| !w.is_empty()) {
        let w = &w[..w.len().min(MAX_INDEXED_WORD_LEN)];
        if !out.iter().any(|x| x == w) {
            out.push(w.to_owned());
        }
    }
    out
}

/// A name search as officers type it: the folded words must appear in the folded name in this
/// order, side by side, starting at a word boundary; the last word may be unfinished ("nguyen
/// van a" finds "Nguyễn Văn An"). So every word but the last is a whole word of the name, and the
/// last is the start of one: the word index can serve either.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameQuery {
    folded: String,
}

impl NameQuery {
    /// `None` when nothing searchable is left after folding (only punctuation, say).
    pub fn parse(input: &str) -> Option<Self> {
        let folded = fold(input);
        (!folded.is_empty()).then_some(Self { folded })
    }

    pub fn folded(&self) -> &str {
        &self.folded
    }

    /// Words that must occur whole in a matching name (all but the last).
    pub fn whole_words(&self) -> Vec<&str> {
        let words: Vec<&str> = self.folded.split(' ').collect();
        words[..words.len() - 1].iter().map(|w| &w[..w.len().min(MAX_INDEXED_WORD_LEN)]).collect()
    }

    /// The start of a word that must occur in a matching name (the last word typed), cut to the
    /// indexed length.
    pub fn last_word_prefix(&self) -> &str {
        let last = self.folded.rsplit(' ').next().expect("non-empty");
        &last[..last.len().min(MAX_INDEXED_WORD_LEN)]
    }

    /// Whether a folded name matches: `" " + name` contains `" " + query`.
    pub fn matches(&self, folded_name: &str) -> bool {
        format!(" {folded_name}").contains(&format!(" {}", self.folded))
    }

    /// The SQL LIKE pattern for `(' ' || folded_name) LIKE pattern` (folded text has no LIKE
    /// wildcards: only `[a-z0-9 ]`).
    pub fn like_pattern(&self) -> String {
        format!("% {}%", self.folded)
    }
}

/// Rejects control characters other than tab and newline, which have no business in form text
/// and break logs and CSV exports.
pub fn has_control_chars(s: &str) -> bool {
    s.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
}

/// Whether `s` holds invisible formatting characters (Unicode category Cf): zero-width spaces
/// and joiners, bidirectional overrides and isolates, soft hyphens. They have no place in a
/// name or an address, and an override makes a text read differently from what it is
/// ("hoá đơn\u{202E}fdp.exe" shows as "hoá đơnexe.pdf").
pub fn has_invisible_chars(s: &str) -> bool {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    s.chars().any(|c| c.general_category() == GeneralCategory::Format)
}

/// Whether `s` mixes letters of several scripts (Unicode TR39 single-script test): "Nguyễn Vаn"
/// with a Cyrillic "а" looks the same as the Latin name and would fool an officer or a search.
/// Digits, spaces and punctuation belong to every script.
pub fn mixes_scripts(s: &str) -> bool {
    use unicode_security::MixedScript;
    !s.is_single_script()
}

/// Why a name or an address cannot be taken as typed, in Vietnamese: control characters,
/// invisible formatting characters, or letters of several scripts. `None` when it is fine.
pub fn deceptive_text(s: &str) -> Option<&'static str> {
    if has_control_chars(s) {
        Some("Chứa ký tự điều khiển không hợp lệ")
    } else if has_invisible_chars(s) {
        Some("Chứa ký tự ẩn hoặc ký tự đảo chiều văn bản không hợp lệ")
    } else if mixes_scripts(s) {
        Some(
            "Trộn lẫn chữ của nhiều hệ chữ (ví dụ chữ Kirin trông giống chữ Latinh); vui lòng gõ lại bằng bàn phím tiếng Việt",
        )
    } else {
        None
    }
}

/// Why a person's or an organization's name cannot be taken, in Vietnamese: what
/// [`deceptive_text`] refuses, and characters no name carries but markup, templates and queries
/// do (`< > { } [ ] $ % ; = \\ | ^ ` ~ * # @ " _`). Letters, digits, spaces and the punctuation of
/// real names (`. , ' - ( ) / & + :`) pass.
pub fn name_problem(s: &str) -> Option<&'static str> {
    const NOT_IN_NAMES: &[char] =
        &['<', '>', '{', '}', '[', ']', '$', '%', ';', '=', '\\', '|', '^', '`', '~', '*', '#', '@', '"', '_'];
    deceptive_text(s).or_else(|| {
        s.contains(NOT_IN_NAMES).then_some("Tên chỉ gồm chữ, số, khoảng trắng và các dấu . , ' - ( ) / & + :")
    })
}

/// `s` without invisible formatting characters (for names that must still be kept, such as an
/// uploaded file's).
pub fn without_invisible_chars(s: &str) -> String {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    s.chars().filter(|c| c.general_category() != GeneralCategory::Format).collect()
}

/// Every string in a JSON value in NFC (form data typed on a system that sends decomposed
/// text, such as macOS, is stored and compared like any other).
pub fn nfc_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) if !is_nfc(s) => *s = s.nfc().collect(),
        serde_json::Value::Array(items) => items.iter_mut().for_each(nfc_json),
        serde_json::Value::Object(map) => map.values_mut().for_each(nfc_json),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn deceptive_names_are_named() {
        assert_eq!(deceptive_text("Nguyễn Văn An"), None);
        assert_eq!(deceptive_text("CÔNG TY TNHH AN BÌNH (Chi nhánh 2) - số 5/7"), None);
        assert_eq!(deceptive_text("Đỗ Thị Ánh Tuyết"), None);
        // Cyrillic "а" (U+0430) among Latin letters.
        assert!(deceptive_text("Nguyễn V\u{430}n An").unwrap().contains("hệ chữ"));
        assert!(deceptive_text("Nguyễn Văn\u{200B}An").unwrap().contains("ẩn"));
        assert!(deceptive_text("An\u{202E}nyuğN").unwrap().contains("ẩn"));
        assert!(deceptive_text("An\u{7}").unwrap().contains("điều khiển"));
        // A name wholly in another script is one script.
        assert_eq!(deceptive_text("Иван Петров"), None);
    }

    #[test]
    fn names_refuse_markup_and_query_characters() {
        for ok in ["Nguyễn Văn An", "O'Brien", "CÔNG TY TNHH A&B (chi nhánh 2)", "Hộ kinh doanh số 5/7 - Lê Lợi"]
        {
            assert_eq!(name_problem(ok), None, "{ok}");
        }
        for bad in ["'; DROP TABLE dossiers; --", "{{7*7}}", "${7*7}", "<script>", "#{7*7}", "a\"b", "An\u{200B}"] {
            assert!(name_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn json_strings_are_composed() {
        let mut v = serde_json::json!({"ten": "Nguye\u{302}\u{303}n", "ds": ["a\u{300}", 1], "k": {"x": "o\u{31b}"}});
        nfc_json(&mut v);
        assert_eq!(v, serde_json::json!({"ten": "Nguyễn", "ds": ["à", 1], "k": {"x": "ơ"}}));
    }

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

    /// Fuzzing finding: a control character folded to a word break after ASCII text and to
    /// nothing after other text, so the same name folded two ways.
    #[test]
    fn control_characters_fold_the_same_in_any_context() {
        assert_eq!(fold("x\0x văn"), "x x van");
        assert_eq!(fold("\u{2000}x\0x văn"), "x x van");
        assert_eq!(fold("Nguyễn\u{7}An"), "nguyen an");
        assert_eq!(fold(&fold("\u{2000}x\0x văn")), "x x van");
    }

    #[test]
    fn nfc_composes() {
        let nfd: String = "Nguyễn Thị Ánh".nfd().collect();
        assert_eq!(nfc(&nfd), "Nguyễn Thị Ánh");
        assert!(is_nfc(&nfc(&nfd)));
        assert!(has_control_chars("a\u{0}b"));
        assert!(!has_control_chars("dòng 1\ndòng 2"));
    }

    #[test]
    fn name_queries_match_from_word_starts() {
        let q = NameQuery::parse("Nguyễn Văn A").unwrap();
        assert_eq!(q.whole_words(), vec!["nguyen", "van"]);
        assert_eq!(q.last_word_prefix(), "a");
        assert!(q.matches(&fold("Nguyễn Văn An")));
        assert!(q.matches(&fold("Trần Nguyễn Văn Anh")));
        assert!(q.matches(&fold("Nguyễn Vân Anh")), "diacritics are ignored");
        assert!(!NameQuery::parse("guyen").unwrap().matches("nguyen van an"), "not from inside a word");
        assert!(NameQuery::parse("van an").unwrap().matches("nguyen van anh ba"));
        assert!(!NameQuery::parse("van ba").unwrap().matches("nguyen van anh ba"), "words side by side");
        assert!(!NameQuery::parse("an van").unwrap().matches("nguyen van an"), "in order");
        assert!(NameQuery::parse("  !! ").is_none());
        assert_eq!(NameQuery::parse("ĐỖ").unwrap().like_pattern(), "% do%");
        assert_eq!(index_words("nguyen van van an"), vec!["nguyen", "van", "an"]);
        let long = "x".repeat(50);
        assert_eq!(index_words(&long)[0].len(), MAX_INDEXED_WORD_LEN);
        assert_eq!(NameQuery::parse(&long).unwrap().last_word_prefix().len(), MAX_INDEXED_WORD_LEN);
    }

    proptest! {
        /// Whatever the name and the query, a matching name holds every whole word of the query
        /// and a word starting with its last word among its indexed words: the index never
        /// misses a match.
        #[test]
        fn the_word_index_covers_every_match(name in "[a-zA-ZđĐăâêôơưáàảãạ ]{0,40}", start in 0usize..40, len in 1usize..20) {
            let folded = fold(&name);
            let words = index_words(&folded);
            if folded.len() > start {
                let cut: String = folded.chars().skip(start).take(len).collect();
                if let Some(q) = NameQuery::parse(&cut).filter(|q| q.matches(&folded)) {
                    for w in q.whole_words() {
                        prop_assert!(words.iter().any(|x| x == w), "{w} of {cut:?} in {words:?}");
                    }
                    let p = q.last_word_prefix();
                    prop_assert!(words.iter().any(|x| x.starts_with(p)), "{p} of {cut:?} in {words:?}");
                }
            }
        }

        #[test]
        fn fold_is_idempotent_and_ascii(s in "\\PC{0,60}") {
            let f = fold(&s);
            prop_assert!(f.is_ascii());
            prop_assert_eq!(fold(&f), f.clone());
            prop_assert!(matches(&f, &s) || fold(&s).is_empty() || f.contains(&fold(&s)));
        }
    }
}
