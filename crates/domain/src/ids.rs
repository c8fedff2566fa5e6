//! Identifiers that the law gives a shape to. Each is a newtype with a `parse` constructor, so a
//! value that exists is valid and code further in never re-checks it.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an identifier was rejected; the message is Vietnamese because it reaches people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("Mã định danh cơ quan không hợp lệ: phải có dạng 000.00.00.H99 (QCVN 102:2016)")]
    Agency,
    #[error("Mã hồ sơ không hợp lệ: phải có dạng <mã cơ quan>-YYMMDD-NNNN")]
    Dossier,
    #[error("Mã thủ tục hành chính không hợp lệ: phải có dạng 1.000948 hoặc 1.000948.H38")]
    Procedure,
    #[error("Số định danh không hợp lệ: {0}")]
    Identity(&'static str),
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Agency identifier of QCVN 102:2016 (`V1V2V3.Z1Z2.Y1Y2.MX1X2`): level 4, 3, 2 then the level-1
/// letter and two digits. Unused levels are zero-padded, which is how the tree depth stays data.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AgencyCode(String);

impl AgencyCode {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let parts: Vec<&str> = s.split('.').collect();
        let ok = parts.len() == 4
            && parts[0].len() == 3
            && all_digits(parts[0])
            && parts[1].len() == 2
            && all_digits(parts[1])
            && parts[2].len() == 2
            && all_digits(parts[2])
            && parts[3].len() == 3
            && parts[3].as_bytes()[0].is_ascii_uppercase()
            && all_digits(&parts[3][1..]);
        if ok { Ok(Self(s.to_owned())) } else { Err(IdError::Agency) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The level-1 part (`H99`), which names the province or ministry.
    pub fn level1(&self) -> &str {
        &self.0[10..]
    }
}

/// Daily running number of a dossier. TT 01/2018 art. 19 prints four digits; a unit that takes
/// more than 9,999 dossiers in one day continues with five digits rather than refusing
/// applicants (documented in docs/architecture.md).
pub const MAX_DAILY_SEQUENCE: u32 = 99_999;

/// Dossier code `<agency code>-YYMMDD-NNNN` of TT 01/2018 art. 19.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DossierCode(String);

impl DossierCode {
    pub fn new(agency: &AgencyCode, day: NaiveDate, seq: u32) -> Result<Self, IdError> {
        if seq == 0 || seq > MAX_DAILY_SEQUENCE {
            return Err(IdError::Dossier);
        }
        Ok(Self(format!("{}-{}-{:04}", agency.as_str(), day.format("%y%m%d"), seq)))
    }
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let mut it = s.splitn(3, '-');
        let (Some(agency), Some(date), Some(seq)) = (it.next(), it.next(), it.next()) else {
            return Err(IdError::Dossier);
        };
        AgencyCode::parse(agency).map_err(|_| IdError::Dossier)?;
        if date.len() != 6 || !all_digits(date) || !(4..=5).contains(&seq.len()) || !all_digits(seq) {
            return Err(IdError::Dossier);
        }
        if (seq.len() == 5 && seq.starts_with('0')) || seq.bytes().all(|b| b == b'0') {
            return Err(IdError::Dossier);
        }
        NaiveDate::parse_from_str(&format!("20{date}"), "%Y%m%d").map_err(|_| IdError::Dossier)?;
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn agency(&self) -> AgencyCode {
        AgencyCode(self.0[..13].to_owned())
    }
}

/// National TTHC code (`1.000948`), optionally with a local suffix (`1.000948.H38`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProcedureCode(String);

impl ProcedureCode {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let parts: Vec<&str> = s.split('.').collect();
        let base_ok = parts.len() >= 2
            && parts[0].len() == 1
            && all_digits(parts[0])
            && parts[1].len() == 6
            && all_digits(parts[1]);
        let suffix_ok = match parts.len() {
            2 => true,
            3 => {
                (1..=8).contains(&parts[2].len())
                    && parts[2].bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            }
            _ => false,
        };
        if base_ok && suffix_ok { Ok(Self(s.to_owned())) } else { Err(IdError::Procedure) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Kind of identity document an applicant is identified by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    /// Số định danh cá nhân / CCCD: 12 digits.
    Citizen,
    /// Mã số doanh nghiệp / mã số thuế: 10 digits, or 10 + "-" + 3 for a branch.
    Enterprise,
    /// Passport of a foreigner: 6 to 12 letters and digits.
    Passport,
}

/// An applicant's identity number, checked against the shape of its kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdentityNumber {
    kind: IdentityKind,
    value: String,
}

impl IdentityNumber {
    pub fn parse(kind: IdentityKind, s: &str) -> Result<Self, IdError> {
        let ok = match kind {
            IdentityKind::Citizen => s.len() == 12 && all_digits(s),
            IdentityKind::Enterprise => match s.split_once('-') {
                None => s.len() == 10 && all_digits(s),
                Some((a, b)) => a.len() == 10 && all_digits(a) && b.len() == 3 && all_digits(b),
            },
            IdentityKind::Passport => {
                (6..=12).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            }
        };
        if ok {
            Ok(Self { kind, value: s.to_owned() })
        } else {
            Err(IdError::Identity(match kind {
                IdentityKind::Citizen => "số định danh cá nhân gồm đúng 12 chữ số",
                IdentityKind::Enterprise => "mã số doanh nghiệp gồm 10 chữ số (chi nhánh thêm -NNN)",
                IdentityKind::Passport => "số hộ chiếu gồm 6 đến 12 chữ in hoa và chữ số",
            }))
        }
    }
    pub fn kind(&self) -> IdentityKind {
        self.kind
    }
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

macro_rules! string_id {
    ($t:ident) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($t), self.0)
            }
        }
        impl FromStr for $t {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
        impl utoipa::PartialSchema for $t {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                String::schema()
            }
        }
        impl utoipa::ToSchema for $t {}
    };
}
string_id!(AgencyCode);
string_id!(DossierCode);
string_id!(ProcedureCode);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn agency_codes() {
        for ok in ["000.00.00.H99", "002.00.20.H13", "000.00.00.G22", "123.45.67.A01"] {
            assert!(AgencyCode::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "000.00.00.h99",
            "000.00.00.H9",
            "00.00.00.H99",
            "000.00.00.H99.",
            "000-00-00-H99",
            "000.0a.00.H99",
            "000.00.00.HH9",
        ] {
            assert_eq!(AgencyCode::parse(bad), Err(IdError::Agency), "{bad}");
        }
        assert_eq!(AgencyCode::parse("000.00.05.H99").unwrap().level1(), "H99");
    }

    #[test]
    fn dossier_codes() {
        let a = AgencyCode::parse("000.00.01.H99").unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 2, 9).unwrap();
        let c = DossierCode::new(&a, d, 7).unwrap();
        assert_eq!(c.as_str(), "000.00.01.H99-260209-0007");
        assert_eq!(DossierCode::parse(c.as_str()).unwrap(), c);
        assert_eq!(c.agency(), a);
        assert_eq!(DossierCode::new(&a, d, 10_000).unwrap().as_str(), "000.00.01.H99-260209-10000");
        assert!(DossierCode::new(&a, d, 0).is_err());
        assert!(DossierCode::new(&a, d, 100_000).is_err());
        for bad in [
            "000.00.01.H99-260230-0001",
            "000.00.01.H99-260209-0000",
            "000.00.01.H99-260209-001",
            "000.00.01.H99-260209-01234",
            "000.00.01.H99-2602-0001",
            "x-260209-0001",
            "000.00.01.H99-260209-0001-1",
        ] {
            assert!(DossierCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn procedure_codes() {
        for ok in ["1.000948", "2.000635", "1.000948.H38", "3.000123.000"] {
            assert!(ProcedureCode::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["1.00948", "10.000948", "1.000948.", "1.000948.h38", "a.000948", "1.000948.H38.X"] {
            assert!(ProcedureCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn identity_numbers() {
        assert!(IdentityNumber::parse(IdentityKind::Citizen, "001203004567").is_ok());
        assert!(IdentityNumber::parse(IdentityKind::Citizen, "00120300456").is_err());
        assert!(IdentityNumber::parse(IdentityKind::Enterprise, "0101234567").is_ok());
        assert!(IdentityNumber::parse(IdentityKind::Enterprise, "0101234567-001").is_ok());
        assert!(IdentityNumber::parse(IdentityKind::Enterprise, "0101234567-1").is_err());
        assert!(IdentityNumber::parse(IdentityKind::Passport, "C1234567").is_ok());
        assert!(IdentityNumber::parse(IdentityKind::Passport, "c12").is_err());
    }

    proptest! {
        #[test]
        fn dossier_code_round_trips(y in 2000i32..2099, doy in 1u32..365, seq in 1u32..=MAX_DAILY_SEQUENCE) {
            let a = AgencyCode::parse("000.00.31.H99").unwrap();
            let d = NaiveDate::from_yo_opt(y, doy).unwrap();
            let c = DossierCode::new(&a, d, seq).unwrap();
            prop_assert_eq!(DossierCode::parse(c.as_str()).unwrap(), c);
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,40}") {
            let _ = AgencyCode::parse(&s);
            let _ = DossierCode::parse(&s);
            let _ = ProcedureCode::parse(&s);
            let _ = IdentityNumber::parse(IdentityKind::Enterprise, &s);
        }
    }
}
