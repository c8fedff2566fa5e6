//! X-Road identifiers: an instance (one federation member: a province's LGSP, the national
//! platform), a member class, a member (an agency, by its QCVN 102 agency code for class `GOV`),
//! a subsystem (one information system) and a service code. Each part is parsed once; a
//! [`ClientId`] or [`ServiceId`] that exists is well formed.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ids::AgencyCode;

/// Longest identifier part accepted.
pub const MAX_PART: usize = 100;

/// The member class whose member codes are QCVN 102 agency codes.
pub const GOVERNMENT_CLASS: &str = "GOV";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XRoadIdError {
    #[error("Phần định danh `{0}` không hợp lệ: chỉ dùng chữ, số và . - _ : (tối đa 100 ký tự)")]
    Part(String),
    #[error("Định danh phải có dạng {0}")]
    Shape(&'static str),
    #[error("Thành viên lớp GOV phải dùng mã định danh cơ quan theo QCVN 102:2016 (ví dụ 000.00.00.H99)")]
    AgencyCode,
}

/// One part of an identifier: ASCII letters, digits and `.-_:`, so it is safe as a path segment,
/// a header value and a log field without escaping.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Part(String);

impl Part {
    pub fn parse(s: &str) -> Result<Self, XRoadIdError> {
        let ok = !s.is_empty()
            && s.len() <= MAX_PART
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'));
        if ok { Ok(Self(s.to_owned())) } else { Err(XRoadIdError::Part(s.chars().take(MAX_PART).collect())) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// A member: `INSTANCE/CLASS/CODE`. Members of class `GOV` are agencies and carry their agency
/// code, so the registry joins the org-unit tree without a mapping table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberId {
    pub instance: Part,
    pub class: Part,
    pub code: Part,
}

impl MemberId {
    pub fn new(instance: &str, class: &str, code: &str) -> Result<Self, XRoadIdError> {
        let id = Self { instance: Part::parse(instance)?, class: Part::parse(class)?, code: Part::parse(code)? };
        if id.class.as_str() == GOVERNMENT_CLASS {
            AgencyCode::parse(code).map_err(|_| XRoadIdError::AgencyCode)?;
        }
        Ok(id)
    }

    /// The agency code of a government member.
    pub fn agency_code(&self) -> Option<AgencyCode> {
        (self.class.as_str() == GOVERNMENT_CLASS).then(|| AgencyCode::parse(self.code.as_str()).ok()).flatten()
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.instance, self.class, self.code)
    }
}

/// A service client: a subsystem of a member, `INSTANCE/CLASS/MEMBER/SUBSYSTEM`. The protocol
/// lets a bare member be a client; this platform always names the information system, so that
/// grants and quotas attach to a system and not to a whole agency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId {
    pub member: MemberId,
    pub subsystem: Part,
}

impl ClientId {
    pub fn new(member: MemberId, subsystem: &str) -> Result<Self, XRoadIdError> {
        Ok(Self { member, subsystem: Part::parse(subsystem)? })
    }

    /// Parses `INSTANCE/CLASS/MEMBER/SUBSYSTEM` (the `X-Road-Client` header).
    pub fn parse(s: &str) -> Result<Self, XRoadIdError> {
        let parts: Vec<&str> = s.trim().split('/').collect();
        let [i, c, m, sub] = parts[..] else {
            return Err(XRoadIdError::Shape("INSTANCE/CLASS/MEMBER/SUBSYSTEM"));
        };
        Self::new(MemberId::new(i, c, m)?, sub)
    }

    pub fn instance(&self) -> &str {
        self.member.instance.as_str()
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.member, self.subsystem)
    }
}

/// A service: `INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE`, the provider subsystem and a code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceId {
    pub provider: ClientId,
    pub code: Part,
}

/// Service codes that name the metaservices of PR-MREST instead of a registered service.
pub const METASERVICES: [&str; 3] = ["listMethods", "allowedMethods", "getOpenAPI"];

impl ServiceId {
    pub fn new(provider: ClientId, code: &str) -> Result<Self, XRoadIdError> {
        Ok(Self { provider, code: Part::parse(code)? })
    }

    /// Parses `INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE`.
    pub fn parse(s: &str) -> Result<Self, XRoadIdError> {
        let parts: Vec<&str> = s.trim().split('/').collect();
        let [i, c, m, sub, svc] = parts[..] else {
            return Err(XRoadIdError::Shape("INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE"));
        };
        Self::new(ClientId::new(MemberId::new(i, c, m)?, sub)?, svc)
    }

    pub fn is_metaservice(&self) -> bool {
        METASERVICES.contains(&self.code.as_str())
    }

    pub fn instance(&self) -> &str {
        self.provider.instance()
    }
}

impl fmt::Display for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.provider, self.code)
    }
}

macro_rules! string_serde {
    ($t:ty, $parse:path) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $parse(&s).map_err(serde::de::Error::custom)
            }
        }
        impl FromStr for $t {
            type Err = XRoadIdError;
            fn from_str(s: &str) -> Result<Self, XRoadIdError> {
                $parse(s)
            }
        }
        impl utoipa::PartialSchema for $t {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                <String as utoipa::PartialSchema>::schema()
            }
        }
        impl utoipa::ToSchema for $t {}
    };
}

fn parse_member(s: &str) -> Result<MemberId, XRoadIdError> {
    let parts: Vec<&str> = s.trim().split('/').collect();
    let [i, c, m] = parts[..] else {
        return Err(XRoadIdError::Shape("INSTANCE/CLASS/MEMBER"));
    };
    MemberId::new(i, c, m)
}

string_serde!(MemberId, parse_member);
string_serde!(ClientId, ClientId::parse);
string_serde!(ServiceId, ServiceId::parse);

impl MemberId {
    /// Parses `INSTANCE/CLASS/MEMBER`.
    pub fn parse(s: &str) -> Result<Self, XRoadIdError> {
        parse_member(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn government_members_carry_agency_codes() {
        assert!(MemberId::new("VN-LH", "GOV", "000.00.00.H99").is_ok());
        assert_eq!(MemberId::new("VN-LH", "GOV", "SO-TU-PHAP"), Err(XRoadIdError::AgencyCode));
        assert!(MemberId::new("VN-LH", "COM", "0101234567").is_ok());
        assert!(MemberId::new("VN LH", "GOV", "000.00.00.H99").is_err());
        let c = ClientId::parse("VN-LH/GOV/000.00.31.H99/mot-cua").unwrap();
        assert_eq!(c.to_string(), "VN-LH/GOV/000.00.31.H99/mot-cua");
        assert_eq!(c.member.agency_code().unwrap().as_str(), "000.00.31.H99");
        assert!(ClientId::parse("VN-LH/GOV/000.00.31.H99").is_err());
        assert!(ClientId::parse("VN-LH/GOV/000.00.31.H99/a/b").is_err());
        let s = ServiceId::parse("VN-LH/GOV/000.00.05.H99/ho-tich/listMethods").unwrap();
        assert!(s.is_metaservice());
        assert_eq!(serde_json::to_value(&s).unwrap(), "VN-LH/GOV/000.00.05.H99/ho-tich/listMethods");
        assert!(serde_json::from_value::<ServiceId>(serde_json::json!("a/b")).is_err());
    }

    proptest! {
        #[test]
        fn display_round_trips(inst in "[A-Z]{2}-[A-Z0-9]{1,8}", class in "(COM|ORG|NGO)", code in "[a-z0-9._-]{1,20}",
                               sub in "[a-zA-Z0-9:_-]{1,30}", svc in "[a-zA-Z0-9.-]{1,30}") {
            let id = ServiceId::new(ClientId::new(MemberId::new(&inst, &class, &code).unwrap(), &sub).unwrap(), &svc).unwrap();
            prop_assert_eq!(ServiceId::parse(&id.to_string()).unwrap(), id);
        }

        #[test]
        fn parts_never_contain_separators_or_spaces(s in "\\PC{0,120}") {
            if let Ok(p) = Part::parse(&s) {
                prop_assert!(!p.as_str().contains(['/', ' ', '%', '?', '#']));
                prop_assert!(p.as_str().len() <= MAX_PART);
            }
        }
    }
}
