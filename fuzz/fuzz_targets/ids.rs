//! Dossier, agency and procedure codes and identity numbers, as typed or sent by anyone.
//! Properties: a code that parses prints back to the same text, and that text parses to the same
//! code (also through JSON); a dossier code's agency part is itself an agency code; a dossier
//! code made from parts parses back to itself.
#![no_main]

use cqs_domain::ids::{AgencyCode, DossierCode, IdentityKind, IdentityNumber, ProcedureCode};
use libfuzzer_sys::fuzz_target;

fn round_trips<T>(s: &str, parse: fn(&str) -> Result<T, cqs_domain::ids::IdError>)
where
    T: std::fmt::Display + std::fmt::Debug + PartialEq + serde::Serialize + serde::de::DeserializeOwned,
{
    if let Ok(code) = parse(s) {
        let shown = code.to_string();
        assert_eq!(shown, s, "a parsed code prints as it was typed");
        assert_eq!(parse(&shown).as_ref(), Ok(&code));
        assert!(shown.is_ascii(), "codes are ASCII: {shown:?}");
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), code);
    } else {
        // JSON refuses what the parser refuses.
        assert!(serde_json::from_value::<T>(serde_json::Value::String(s.to_owned())).is_err());
    }
}

// The three numbers come first (7 bytes), the text is the rest of the input.
fuzz_target!(|input: (u8, u16, u32, &str)| {
    let (kind, day, seq, s) = input;
    round_trips(s, AgencyCode::parse);
    round_trips(s, DossierCode::parse);
    round_trips(s, ProcedureCode::parse);
    if let Ok(a) = AgencyCode::parse(s) {
        assert_eq!(a.level1().len(), 3);
        assert!(a.as_str().ends_with(a.level1()));
        // A code made from parts parses back to itself.
        let date = chrono::NaiveDate::from_num_days_from_ce_opt(730_120 + i32::from(day % 36_500));
        if let Some(date) = date {
            match DossierCode::new(&a, date, seq) {
                Ok(c) => {
                    assert_eq!(DossierCode::parse(c.as_str()).as_ref(), Ok(&c), "{c:?}");
                    assert_eq!(c.agency(), a);
                }
                Err(_) => assert!(seq == 0 || seq > cqs_domain::ids::MAX_DAILY_SEQUENCE),
            }
        }
    }
    if let Ok(d) = DossierCode::parse(s) {
        let agency = d.agency();
        assert_eq!(AgencyCode::parse(agency.as_str()).as_ref(), Ok(&agency));
        assert!(s.starts_with(&format!("{agency}-")));
    }
    let kind = [IdentityKind::Citizen, IdentityKind::Enterprise, IdentityKind::Passport][usize::from(kind % 3)];
    if let Ok(n) = IdentityNumber::parse(kind, s) {
        assert_eq!(n.as_str(), s);
        assert_eq!(n.kind(), kind);
        assert!(s.is_ascii());
        assert_eq!(IdentityNumber::parse(kind, n.as_str()), Ok(n));
    }
});
