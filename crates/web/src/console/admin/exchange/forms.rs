//! The registry forms as typed, and how each becomes the input the API takes. Parsing is pure:
//! what a form cannot express (a malformed identifier, a method without a path) is a field
//! error here; what needs the registry (a duplicate, an unknown service) is the API's answer.

use cqs_domain::exchange::quota::Window;
use cqs_domain::exchange::registry::{ServiceSpec, Status};
use cqs_domain::exchange::request::Decision;
use cqs_domain::exchange::{ClientId, Endpoint, ServiceId};
use serde::Deserialize;

use crate::api::exchange::registry::{GrantInput, LimitInput, MemberInput, SubsystemInput};
use crate::api::exchange::requests::RequestInput;
use crate::ui::FormErrors;

/// Largest OpenAPI description pasted into the service form: what the JSON API takes in a body.
pub const OPENAPI_MAX_BYTES: usize = 1024 * 1024;

/// Add a member or change its name and status.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub status: String,
}

impl MemberForm {
    pub fn input(&self, errors: &mut FormErrors) -> Option<MemberInput> {
        let status = status(&self.status, "tv-status", errors);
        let id = self.id.trim();
        if id.is_empty() {
            errors.add("tv-id", "Nhập mã thành viên dạng HỆ-THỐNG/LOẠI/MÃ, ví dụ VN-LH/GOV/000.00.05.H99");
        }
        if self.name.trim().is_empty() {
            errors.add("tv-name", "Nhập tên thành viên");
        }
        errors.is_empty().then(|| MemberInput { id: id.to_owned(), name: self.name.clone(), status })
    }
}

/// Register an information system of a member.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct SystemForm {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub system_id: String,
}

impl SystemForm {
    pub fn input(&self, errors: &mut FormErrors) -> Option<SubsystemInput> {
        let id = client(&self.id, "ht-id", errors);
        if self.name.trim().is_empty() {
            errors.add("ht-name", "Nhập tên hệ thống");
        }
        let system_id = Some(self.system_id.trim().to_owned()).filter(|s| !s.is_empty());
        Some(SubsystemInput { id: id?.to_string(), name: self.name.clone(), system_id }).filter(|_| errors.is_empty())
    }
}

/// A subsystem named in a row's button (status change, new secret).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct SystemAction {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub status: String,
}

/// Set or remove a limit on a client's calls.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct LimitForm {
    #[serde(default)]
    pub client: String,
    #[serde(default)]
    pub service: String,
    #[serde(default)]
    pub window: String,
    /// Empty removes the limit.
    #[serde(default)]
    pub max: String,
}

impl LimitForm {
    pub fn input(&self, errors: &mut FormErrors) -> Option<LimitInput> {
        let client = client(&self.client, "gh-client", errors);
        let service = match self.service.trim() {
            "" => None,
            s => {
                if ServiceId::parse(s).is_err() {
                    errors.add("gh-service", "Chọn dịch vụ trong danh sách, hoặc để trống để giới hạn mọi dịch vụ");
                }
                Some(s.to_owned())
            }
        };
        let window = Window::parse(&self.window);
        if window.is_none() {
            errors.add("gh-window", "Chọn khoảng thời gian tính giới hạn");
        }
        let max = match self.max.trim() {
            "" => None,
            m => match m.parse::<i64>() {
                Ok(n) if n >= 0 => Some(n),
                _ => {
                    errors.add("gh-max", "Số lượt gọi tối đa là số nguyên không âm; để trống để bỏ giới hạn");
                    None
                }
            },
        };
        if !errors.is_empty() {
            return None;
        }
        Some(LimitInput { client: client?.to_string(), service, window: window?, max_requests: max })
    }
}

/// Add or replace a service (the code of an existing one is fixed).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ServiceForm {
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub base_url: String,
    #[serde(default)]
    pub timeout_ms: String,
    #[serde(default)]
    pub openapi: String,
}

impl ServiceForm {
    /// The form of a registered service.
    pub fn of(s: &cqs_domain::exchange::Service) -> Self {
        Self {
            provider: s.id.provider.to_string(),
            code: s.id.code.as_str().to_owned(),
            title: s.title.clone(),
            description: s.description.clone().unwrap_or_default(),
            version: s.version.clone(),
            owner: s.owner.clone(),
            status: s.status.as_str().to_owned(),
            base_url: s.base_url.clone(),
            timeout_ms: s.timeout_ms.to_string(),
            openapi: s.openapi.as_ref().and_then(|d| serde_json::to_string_pretty(d).ok()).unwrap_or_default(),
        }
    }

    pub fn input(&self, errors: &mut FormErrors) -> Option<(ClientId, ServiceSpec)> {
        let provider = client(&self.provider, "dv-provider", errors);
        let code = self.code.trim();
        if let Some(p) = &provider
            && ServiceId::new(p.clone(), code).is_err()
        {
            errors.add("dv-code", "Mã dịch vụ chỉ gồm chữ không dấu, số và các dấu . - _ :, ví dụ khai-sinh");
        }
        for (value, field, message) in [
            (&self.title, "dv-title", "Nhập tên dịch vụ"),
            (&self.version, "dv-version", "Nhập phiên bản, ví dụ 1.0.0"),
            (&self.owner, "dv-owner", "Nhập đơn vị hoặc người chịu trách nhiệm"),
            (&self.base_url, "dv-base-url", "Nhập địa chỉ dịch vụ của bên cung cấp, ví dụ https://api.sotp.example/v1"),
        ] {
            if value.trim().is_empty() {
                errors.add(field, message);
            }
        }
        let status = status(&self.status, "dv-status", errors);
        let timeout_ms = match self.timeout_ms.trim() {
            "" => 30_000,
            t => t.parse::<i64>().unwrap_or_else(|_| {
                errors.add("dv-timeout", "Thời gian chờ là số mili giây, ví dụ 30000");
                0
            }),
        };
        let openapi = match self.openapi.trim() {
            "" => None,
            t if t.len() > OPENAPI_MAX_BYTES => {
                errors.add("dv-openapi", "Mô tả OpenAPI quá dài (tối đa 1 MiB)");
                None
            }
            t => match serde_json::from_str::<serde_json::Value>(t) {
                Ok(v) => Some(v),
                Err(e) => {
                    errors.add(
                        "dv-openapi",
                        format!("Mô tả OpenAPI phải là JSON hợp lệ (dòng {}, cột {})", e.line(), e.column()),
                    );
                    None
                }
            },
        };
        if !errors.is_empty() {
            return None;
        }
        let spec = ServiceSpec {
            code: code.to_owned(),
            title: self.title.clone(),
            description: Some(self.description.clone()).filter(|d| !d.trim().is_empty()),
            version: self.version.clone(),
            owner: self.owner.clone(),
            status: status.unwrap_or(Status::Active),
            base_url: self.base_url.clone(),
            timeout_ms,
            openapi,
        };
        Some((provider?, spec))
    }
}

/// Grant a client a service or one endpoint of it.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct GrantForm {
    #[serde(default)]
    pub service: String,
    #[serde(default)]
    pub client: String,
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub path: String,
}

impl GrantForm {
    pub fn input(&self, errors: &mut FormErrors) -> Option<(ServiceId, GrantInput)> {
        let service = ServiceId::parse(self.service.trim()).ok();
        if service.is_none() {
            errors.add("q-client", "Không rõ dịch vụ cần cấp quyền; hãy mở lại trang dịch vụ");
        }
        let client = client(&self.client, "q-client", errors);
        let endpoint = match (self.method.trim(), self.path.trim()) {
            ("", "") => None,
            (m, p) => match Endpoint::parse(if m.is_empty() { "*" } else { m }, if p.is_empty() { "/**" } else { p }) {
                Ok(e) => Some(e),
                Err(e) => {
                    errors.add("q-path", e.to_string());
                    None
                }
            },
        };
        if !errors.is_empty() {
            return None;
        }
        Some((service?, GrantInput { client: client?.to_string(), endpoint }))
    }
}

/// End a grant.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub reason: String,
}

/// Ask for access on behalf of a client system.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    pub client: String,
    #[serde(default)]
    pub service: String,
    /// One endpoint per line, `GET /khai-sinh/*`; empty for the whole service.
    #[serde(default)]
    pub endpoints: String,
    #[serde(default)]
    pub purpose: String,
    #[serde(default)]
    pub legal_basis: String,
}

impl RequestForm {
    pub fn input(&self, errors: &mut FormErrors) -> Option<RequestInput> {
        let client = client(&self.client, "dn-client", errors);
        if ServiceId::parse(self.service.trim()).is_err() {
            errors.add("dn-service", "Chọn dịch vụ trong danh sách");
        }
        let endpoints = endpoint_lines(&self.endpoints, "dn-endpoints", errors);
        if self.legal_basis.trim().is_empty() {
            errors.add("dn-basis", "Nêu căn cứ pháp lý của việc sử dụng dữ liệu");
        }
        if !errors.is_empty() {
            return None;
        }
        Some(RequestInput {
            client: client?.to_string(),
            service: self.service.trim().to_owned(),
            endpoints,
            purpose: self.purpose.clone(),
            legal_basis: self.legal_basis.clone(),
        })
    }
}

/// The provider's answer as the decision form sends it: `decision` is `grant` or `refuse`;
/// a grant of some endpoints repeats `endpoint` with each one kept (as `METHOD /path`).
#[derive(Debug, Default, Clone)]
pub struct DecisionForm {
    pub decision: String,
    pub endpoints: Vec<String>,
    pub note: String,
    pub reason: String,
    pub legal_basis: String,
}

impl DecisionForm {
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut f = Self::default();
        for (k, v) in pairs {
            match k.as_str() {
                "decision" => f.decision = v,
                "endpoint" => f.endpoints.push(v),
                "note" => f.note = v,
                "reason" => f.reason = v,
                "legal_basis" => f.legal_basis = v,
                _ => {}
            }
        }
        f
    }

    /// `asked` is what the request listed: with some listed, the endpoints ticked are granted and
    /// at least one must be; with none listed, the whole service is.
    pub fn decision(&self, asked: &[Endpoint], errors: &mut FormErrors) -> Option<Decision> {
        match self.decision.as_str() {
            "grant" => {
                let endpoints = if asked.is_empty() {
                    None
                } else {
                    let ticked: Vec<Endpoint> =
                        asked.iter().filter(|e| self.endpoints.contains(&e.to_string())).cloned().collect();
                    if ticked.is_empty() {
                        errors.add("qd-endpoints", "Chọn ít nhất một điểm cuối để cấp, hoặc chọn Từ chối");
                        return None;
                    }
                    Some(ticked)
                };
                let note = Some(self.note.trim().to_owned()).filter(|n| !n.is_empty());
                Some(Decision::Grant { endpoints, note })
            }
            "refuse" if self.legal_basis.trim().is_empty() => {
                errors.add("qd-basis", "Nêu căn cứ pháp lý hạn chế chia sẻ dữ liệu mà việc từ chối dựa vào");
                None
            }
            "refuse" => Some(Decision::Refuse { reason: self.reason.clone(), legal_basis: self.legal_basis.clone() }),
            _ => {
                errors.add("qd-grant", "Chọn cấp quyền hoặc từ chối");
                None
            }
        }
    }
}

/// Endpoints one per line (`GET /khai-sinh/*`, or a bare path for every method).
pub fn endpoint_lines(text: &str, field: &str, errors: &mut FormErrors) -> Vec<Endpoint> {
    let mut out = Vec::new();
    for (n, line) in text.lines().map(str::trim).enumerate().filter(|(_, l)| !l.is_empty()) {
        let (method, path) = match line.split_once(char::is_whitespace) {
            Some((m, p)) => (m.to_ascii_uppercase(), p.trim().to_owned()),
            None if line.starts_with('/') => ("*".to_owned(), line.to_owned()),
            None => (line.to_ascii_uppercase(), String::new()),
        };
        match Endpoint::parse(&method, &path) {
            Ok(e) => out.push(e),
            Err(e) => errors.add(field, format!("Dòng {}: {e}", n + 1)),
        }
    }
    out
}

fn client(text: &str, field: &str, errors: &mut FormErrors) -> Option<ClientId> {
    match ClientId::parse(text.trim()) {
        Ok(c) => Some(c),
        Err(_) => {
            errors.add(
                field,
                "Mã hệ thống dạng HỆ-THỐNG/LOẠI/MÃ-THÀNH-VIÊN/MÃ-HỆ-THỐNG, ví dụ VN-LH/GOV/000.00.31.H99/mot-cua",
            );
            None
        }
    }
}

fn status(text: &str, field: &str, errors: &mut FormErrors) -> Option<Status> {
    match text.trim() {
        "" => None,
        s => {
            let parsed = Status::parse(s);
            if parsed.is_none() {
                errors.add(field, "Chọn trạng thái trong danh sách");
            }
            parsed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: &str = "VN-LH/GOV/000.00.31.H99/mot-cua";
    const SERVICE: &str = "VN-LH/GOV/000.00.05.H99/ho-tich/khai-sinh";

    fn fails<T: std::fmt::Debug>(field: &str, run: impl FnOnce(&mut FormErrors) -> Option<T>) {
        let mut e = FormErrors::default();
        let out = run(&mut e);
        assert!(out.is_none() && e.has(field), "expected an error at {field}, got {out:?} / {:?}", e.0);
    }

    #[test]
    fn member_and_system_forms_name_the_field_at_fault() {
        let mut e = FormErrors::default();
        let m =
            MemberForm {
                id: " VN-LH/GOV/000.00.05.H99 ".into(), name: "Sở Tư pháp".into(), status: "disabled".into()
            }
            .input(&mut e)
            .unwrap();
        assert_eq!((m.id.as_str(), m.status), ("VN-LH/GOV/000.00.05.H99", Some(Status::Disabled)));
        fails("tv-name", |e| MemberForm { id: "VN-LH/GOV/1".into(), ..Default::default() }.input(e));
        fails("tv-status", |e| MemberForm { id: "a".into(), name: "b".into(), status: "gone".into() }.input(e));
        fails("ht-id", |e| {
            SystemForm { id: "VN-LH/GOV/000.00.31.H99".into(), name: "x".into(), ..Default::default() }.input(e)
        });
        let s = SystemForm { id: CLIENT.into(), name: "Một cửa".into(), system_id: " ".into() }.input(&mut e).unwrap();
        assert_eq!(s.system_id, None, "a blank system id takes the default");
    }

    #[test]
    fn limits_take_a_window_and_a_non_negative_maximum_or_none() {
        let form = |max: &str| LimitForm {
            client: CLIENT.into(),
            service: String::new(),
            window: "minute".into(),
            max: max.into(),
        };
        let mut e = FormErrors::default();
        assert_eq!(form("600").input(&mut e).unwrap().max_requests, Some(600));
        assert_eq!(form(" ").input(&mut e).unwrap().max_requests, None, "blank removes the limit");
        fails("gh-max", |e| form("-1").input(e));
        fails("gh-max", |e| form("nhiều").input(e));
        fails("gh-window", |e| LimitForm { window: "week".into(), ..form("1") }.input(e));
        fails("gh-service", |e| LimitForm { service: "khai-sinh".into(), ..form("1") }.input(e));
    }

    #[test]
    fn the_service_form_reads_its_description_as_json_and_points_at_the_line() {
        let form = ServiceForm {
            provider: "VN-LH/GOV/000.00.05.H99/ho-tich".into(),
            code: "khai-sinh".into(),
            title: "Tra cứu khai sinh".into(),
            version: "1.0.0".into(),
            owner: "Sở Tư pháp".into(),
            base_url: "http://127.0.0.1:9000".into(),
            openapi: r#"{"openapi": "3.0.3", "paths": {"/a": {"get": {}}}}"#.into(),
            ..Default::default()
        };
        let mut e = FormErrors::default();
        let (p, spec) = form.input(&mut e).unwrap();
        assert_eq!(
            (p.to_string().as_str(), spec.timeout_ms, spec.status),
            ("VN-LH/GOV/000.00.05.H99/ho-tich", 30_000, Status::Active)
        );
        assert!(spec.openapi.is_some() && spec.description.is_none());
        let mut bad = FormErrors::default();
        assert!(ServiceForm { openapi: "{\n\"openapi\": 3.0.3,\n".into(), ..form.clone() }.input(&mut bad).is_none());
        assert!(bad.get("dv-openapi").unwrap().contains("dòng 2"), "{:?}", bad.0);
        fails("dv-code", |e| ServiceForm { code: "Khai Sinh".into(), ..form.clone() }.input(e));
        fails("dv-timeout", |e| ServiceForm { timeout_ms: "5s".into(), ..form.clone() }.input(e));
        fails("dv-base-url", |e| ServiceForm { base_url: " ".into(), ..form.clone() }.input(e));
    }

    #[test]
    fn a_grant_is_the_whole_service_or_one_endpoint() {
        let form = |m: &str, p: &str| GrantForm {
            service: SERVICE.into(),
            client: CLIENT.into(),
            method: m.into(),
            path: p.into(),
        };
        let mut e = FormErrors::default();
        assert_eq!(form("", "").input(&mut e).unwrap().1.endpoint, None);
        assert_eq!(
            form("GET", "/khai-sinh/*").input(&mut e).unwrap().1.endpoint.unwrap().to_string(),
            "GET /khai-sinh/*"
        );
        assert_eq!(form("", "/thong-ke").input(&mut e).unwrap().1.endpoint.unwrap().to_string(), "* /thong-ke");
        fails("q-path", |e| form("GET", "khai-sinh").input(e));
        fails("q-client", |e| GrantForm { client: "mot-cua".into(), ..form("", "") }.input(e));
    }

    #[test]
    fn endpoints_are_read_one_per_line() {
        let mut e = FormErrors::default();
        let list = endpoint_lines("get /khai-sinh/*\n\n  /thong-ke  \nPOST /khai-sinh", "f", &mut e);
        let shown: Vec<String> = list.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["GET /khai-sinh/*", "* /thong-ke", "POST /khai-sinh"]);
        assert!(e.is_empty());
        endpoint_lines("GET /a\nFETCH /b\nGET b", "f", &mut e);
        assert_eq!(e.0.len(), 2, "{:?}", e.0);
        assert!(e.0[0].message.starts_with("Dòng 2") && e.0[1].message.starts_with("Dòng 3"));
    }

    #[test]
    fn a_decision_grants_only_ticked_endpoints_of_those_asked() {
        let asked = vec![Endpoint::parse("GET", "/khai-sinh/*").unwrap(), Endpoint::parse("GET", "/thong-ke").unwrap()];
        let pairs = |v: &[(&str, &str)]| v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
        let mut e = FormErrors::default();
        let f = DecisionForm::from_pairs(pairs(&[
            ("decision", "grant"),
            ("endpoint", "GET /thong-ke"),
            ("endpoint", "DELETE /x"),
        ]));
        let Some(Decision::Grant { endpoints: Some(list), note: None }) = f.decision(&asked, &mut e) else { panic!() };
        assert_eq!(list, vec![asked[1].clone()], "only what was asked and ticked");
        fails("qd-endpoints", |e| DecisionForm::from_pairs(pairs(&[("decision", "grant")])).decision(&asked, e));
        let whole = DecisionForm::from_pairs(pairs(&[("decision", "grant"), ("note", " ")]));
        assert_eq!(whole.decision(&[], &mut e), Some(Decision::Grant { endpoints: None, note: None }));
        let refuse = DecisionForm::from_pairs(pairs(&[("decision", "refuse"), ("reason", "r"), ("legal_basis", "b")]));
        assert!(matches!(refuse.decision(&asked, &mut e), Some(Decision::Refuse { .. })));
        fails("qd-basis", |e| {
            DecisionForm::from_pairs(pairs(&[("decision", "refuse"), ("reason", "r")])).decision(&asked, e)
        });
        fails("qd-grant", |e| DecisionForm::default().decision(&asked, e));
    }
}
