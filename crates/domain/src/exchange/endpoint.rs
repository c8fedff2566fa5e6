//! Endpoints of a REST service (method + path) as grants and metaservices name them. A path
//! pattern is a sequence of segments where `*` stands for exactly one segment and a final `**`
//! for any rest of the path (none included); `{name}` (OpenAPI's path parameter) reads as `*`.
//! Matching works on segments, so `/a/*` never matches `/a/b/c` and `..` tricks do not widen a
//! grant: a request path with `.` or `..` segments or empty segments is refused before matching.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("Phương thức HTTP `{0}` không hợp lệ")]
    Method(String),
    #[error(
        "Đường dẫn `{0}` không hợp lệ: phải bắt đầu bằng /, không có đoạn rỗng, `.` hay `..`; `**` chỉ được ở cuối"
    )]
    Path(String),
}

/// An HTTP method, or `*` for any.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    Any,
    Named(String),
}

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

impl Method {
    pub fn parse(s: &str) -> Result<Self, EndpointError> {
        if s == "*" {
            return Ok(Method::Any);
        }
        let up = s.to_ascii_uppercase();
        if METHODS.contains(&up.as_str()) { Ok(Method::Named(up)) } else { Err(EndpointError::Method(s.to_owned())) }
    }

    pub fn matches(&self, method: &str) -> bool {
        match self {
            Method::Any => true,
            Method::Named(m) => m.eq_ignore_ascii_case(method),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Method::Any => "*",
            Method::Named(m) => m,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Segment {
    Literal(String),
    One,
    Rest,
}

/// A path pattern: `/`, `/ho-so/*`, `/ho-so/*/tep`, `/tra-cuu/**`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PathPattern(Vec<Segment>);

/// Splits an absolute path into segments, refusing empty, `.` and `..` segments (a trailing
/// slash is allowed and ignored).
pub fn segments(path: &str) -> Option<Vec<&str>> {
    let rest = path.strip_prefix('/')?;
    if rest.is_empty() {
        return Some(Vec::new());
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let segs: Vec<&str> = rest.split('/').collect();
    segs.iter().all(|s| !s.is_empty() && *s != "." && *s != "..").then_some(segs)
}

impl PathPattern {
    pub fn parse(s: &str) -> Result<Self, EndpointError> {
        let err = || EndpointError::Path(s.chars().take(200).collect());
        let segs = segments(s).ok_or_else(err)?;
        let mut out = Vec::with_capacity(segs.len());
        for (i, seg) in segs.iter().enumerate() {
            out.push(match *seg {
                "**" if i + 1 == segs.len() => Segment::Rest,
                "**" => return Err(err()),
                "*" => Segment::One,
                p if p.starts_with('{') && p.ends_with('}') && p.len() > 2 => Segment::One,
                p if p.contains(['*', '{', '}', '?', '#']) || p.chars().any(char::is_control) => return Err(err()),
                p => Segment::Literal(p.to_owned()),
            });
        }
        Ok(Self(out))
    }

    /// Whether a request path (already split by [`segments`]) falls under the pattern.
    pub fn matches(&self, path: &[&str]) -> bool {
        let mut i = 0;
        for seg in &self.0 {
            match seg {
                Segment::Rest => return true,
                Segment::One if i < path.len() => i += 1,
                Segment::Literal(l) if i < path.len() && path[i] == l => i += 1,
                _ => return false,
            }
        }
        i == path.len()
    }

    /// Whether every path this pattern matches is matched by `other` too (so a grant on `other`
    /// covers it): used to list the endpoints a client may call.
    pub fn within(&self, other: &PathPattern) -> bool {
        let (a, b) = (&self.0, &other.0);
        let mut i = 0;
        for seg in b {
            match seg {
                Segment::Rest => return true,
                _ if i >= a.len() => return false,
                Segment::One if a[i] != Segment::Rest => i += 1,
                Segment::Literal(l) if a[i] == Segment::Literal(l.clone()) => i += 1,
                _ => return false,
            }
        }
        i == a.len()
    }
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("/");
        }
        for s in &self.0 {
            f.write_str("/")?;
            f.write_str(match s {
                Segment::Literal(l) => l,
                Segment::One => "*",
                Segment::Rest => "**",
            })?;
        }
        Ok(())
    }
}

/// One endpoint: a method and a path pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Endpoint {
    #[schema(value_type = String, example = "GET")]
    pub method: Method,
    #[schema(value_type = String, example = "/khai-sinh/*")]
    pub path: PathPattern,
}

impl Endpoint {
    pub fn parse(method: &str, path: &str) -> Result<Self, EndpointError> {
        Ok(Self { method: Method::parse(method)?, path: PathPattern::parse(path)? })
    }

    /// Whether a request with `method` to the already split `path` falls under this endpoint.
    pub fn matches(&self, method: &str, path: &[&str]) -> bool {
        self.method.matches(method) && self.path.matches(path)
    }

    /// Whether every request this endpoint names is covered by `grant`.
    pub fn within(&self, grant: &Endpoint) -> bool {
        (grant.method == Method::Any || grant.method == self.method) && self.path.within(&grant.path)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method.as_str(), self.path)
    }
}

macro_rules! str_serde {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <$t>::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
            }
        }
    };
}
str_serde!(PathPattern);
str_serde!(Method);

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The endpoints an OpenAPI 3 document describes: each operation under `paths`, with path
/// parameters read as `*`. Paths the matcher could not express are skipped.
pub fn openapi_endpoints(doc: &serde_json::Value) -> Vec<Endpoint> {
    let mut out = Vec::new();
    for (path, ops) in doc.get("paths").and_then(|p| p.as_object()).into_iter().flatten() {
        for (method, _) in ops.as_object().into_iter().flatten() {
            if let Ok(e) = Endpoint::parse(method, path) {
                out.push(e);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(pattern: &str, path: &str) -> bool {
        PathPattern::parse(pattern).unwrap().matches(&segments(path).unwrap())
    }

    #[test]
    fn segment_matching() {
        assert!(m("/", "/"));
        assert!(!m("/", "/a"));
        assert!(m("/a/*", "/a/b"));
        assert!(m("/a/*", "/a/b/"));
        assert!(!m("/a/*", "/a/b/c"));
        assert!(!m("/a/*", "/a"));
        assert!(m("/a/**", "/a"));
        assert!(m("/a/**", "/a/b/c"));
        assert!(m("/pets/{petId}/photos", "/pets/7/photos"));
        assert!(!m("/a", "/ab"));
        assert!(segments("/a/../b").is_none());
        assert!(segments("/a//b").is_none());
        assert!(segments("a/b").is_none());
        assert!(PathPattern::parse("/a/**/b").is_err());
        assert!(PathPattern::parse("/a*").is_err());
        assert!(Method::parse("BREW").is_err());
        assert!(Endpoint::parse("get", "/a").unwrap().matches("GET", &["a"]));
        assert!(!Endpoint::parse("POST", "/a").unwrap().matches("GET", &["a"]));
        assert!(Endpoint::parse("*", "/a").unwrap().matches("DELETE", &["a"]));
    }

    #[test]
    fn coverage_between_endpoints() {
        let e = |m: &str, p: &str| Endpoint::parse(m, p).unwrap();
        assert!(e("GET", "/a/*").within(&e("GET", "/a/*")));
        assert!(e("GET", "/a/b").within(&e("GET", "/a/*")));
        assert!(!e("GET", "/a/*").within(&e("GET", "/a/b")));
        assert!(e("GET", "/a/*/c").within(&e("*", "/a/**")));
        assert!(!e("POST", "/a").within(&e("GET", "/a")));
        assert!(!e("GET", "/a/**").within(&e("GET", "/a/*")));
    }

    #[test]
    fn endpoints_from_openapi() {
        let doc = serde_json::json!({"openapi": "3.0.0", "paths": {
            "/khai-sinh/{so}": {"get": {}, "delete": {}, "parameters": []},
            "/khai-sinh": {"post": {}}
        }});
        let list: Vec<String> = openapi_endpoints(&doc).iter().map(|e| e.to_string()).collect();
        assert_eq!(list, ["DELETE /khai-sinh/*", "GET /khai-sinh/*", "POST /khai-sinh"]);
    }

    fn pattern() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec(prop_oneof!["[a-z]{1,4}", Just("*".to_string())], 0..5)
    }

    proptest! {
        /// A path made from a pattern by filling its wildcards matches it; changing one literal
        /// segment or adding a segment makes it fail.
        #[test]
        fn filled_patterns_match(pat in pattern(), fill in "[a-z0-9]{1,6}") {
            let p = PathPattern::parse(&format!("/{}", pat.join("/"))).unwrap();
            let concrete: Vec<String> = pat.iter().map(|s| if s == "*" { fill.clone() } else { s.clone() }).collect();
            let path: Vec<&str> = concrete.iter().map(String::as_str).collect();
            prop_assert!(p.matches(&path));
            let mut longer = path.clone();
            longer.push("extra");
            prop_assert!(!p.matches(&longer));
            if let Some(i) = pat.iter().position(|s| s != "*") {
                let mut changed = concrete.clone();
                changed[i].push('Z');
                let changed: Vec<&str> = changed.iter().map(String::as_str).collect();
                prop_assert!(!p.matches(&changed));
            }
        }

        /// `within` is sound: if a is within b, every path matching a matches b.
        #[test]
        fn within_is_sound(a in pattern(), b in pattern(), fill in "[a-z]{1,4}") {
            let pa = PathPattern::parse(&format!("/{}", a.join("/"))).unwrap();
            let pb = PathPattern::parse(&format!("/{}", b.join("/"))).unwrap();
            let concrete: Vec<String> = a.iter().map(|s| if s == "*" { fill.clone() } else { s.clone() }).collect();
            let path: Vec<&str> = concrete.iter().map(String::as_str).collect();
            if pa.within(&pb) {
                prop_assert!(pb.matches(&path));
            }
        }
    }
}
