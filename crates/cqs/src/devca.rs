//! `cqs dev-ca`: a development CA for the demo and tests (see `cqs_pki::devca`). By default it
//! issues a document-signing certificate for every unit of the demo province.

use std::path::Path;

use cqs_domain::org::OrgUnitSpec;
use cqs_pki::devca::{AgencySpec, DevCa, Issued, NodeSpec};

/// The demo's province name, as it appears in certificate subjects.
pub const DEMO_PROVINCE: &str = "tỉnh Lạc Hồng";

/// What a run asked for.
#[derive(Debug, Clone, Default)]
pub struct DevCaRequest {
    /// `CODE` (a demo unit) or `CODE=Name`; empty for every demo unit.
    pub agencies: Vec<String>,
    /// `NAME` or `NAME=SAN,SAN`.
    pub nodes: Vec<String>,
    /// Names and addresses for nodes given without their own.
    pub sans: Vec<String>,
    pub province: Option<String>,
}

/// What a run wrote.
#[derive(Debug, Default)]
pub struct DevCaSummary {
    pub root_created: bool,
    pub issued: Vec<(String, Issued)>,
}

fn demo_units() -> anyhow::Result<Vec<OrgUnitSpec>> {
    Ok(serde_json::from_str(crate::demo::ORG_UNITS)?)
}

fn agencies(req: &DevCaRequest) -> anyhow::Result<Vec<AgencySpec>> {
    let units = demo_units()?;
    if req.agencies.is_empty() {
        return Ok(units.iter().map(|u| AgencySpec { code: u.code.to_string(), name: u.name.clone() }).collect());
    }
    req.agencies
        .iter()
        .map(|a| {
            let (code, name) = match a.split_once('=') {
                Some((c, n)) => (c.trim(), Some(n.trim().to_owned())),
                None => (a.trim(), None),
            };
            let code = cqs_domain::ids::AgencyCode::parse(code).map_err(|e| anyhow::anyhow!("{code}: {e}"))?;
            let name = match name {
                Some(n) if !n.is_empty() => n,
                _ => units.iter().find(|u| u.code == code).map(|u| u.name.clone()).ok_or_else(|| {
                    anyhow::anyhow!("{code} không phải đơn vị của dữ liệu mẫu: ghi thêm tên, dạng {code}=Tên cơ quan")
                })?,
            };
            Ok(AgencySpec { code: code.to_string(), name })
        })
        .collect()
}

fn nodes(req: &DevCaRequest) -> Vec<NodeSpec> {
    req.nodes
        .iter()
        .map(|n| match n.split_once('=') {
            Some((name, sans)) => NodeSpec {
                name: name.trim().to_owned(),
                sans: sans.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect(),
            },
            None => NodeSpec { name: n.trim().to_owned(), sans: req.sans.clone() },
        })
        .collect()
}

/// Creates (or reopens) the CA in `out` and issues what `req` names plus a timestamping
/// certificate; certificates already there are kept.
pub fn run(out: &Path, req: &DevCaRequest) -> anyhow::Result<DevCaSummary> {
    let province = req.province.clone().unwrap_or_else(|| DEMO_PROVINCE.to_owned());
    let agencies = agencies(req)?;
    let nodes = nodes(req);
    let (ca, root_created) = DevCa::open_or_create(out, &province)?;
    let mut summary = DevCaSummary { root_created, issued: Vec::new() };
    for a in &agencies {
        summary.issued.push((format!("{} ({})", a.name, a.code), ca.issue_agency(a, &province)?));
    }
    for n in &nodes {
        summary.issued.push((format!("nút {}", n.name), ca.issue_node(n)?));
    }
    summary.issued.push(("máy chủ dấu thời gian".into(), ca.issue_tsa()?));
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_every_demo_unit_by_default_and_named_ones_on_request() {
        let dir = tempfile::tempdir().unwrap();
        let all = run(dir.path(), &DevCaRequest::default()).unwrap();
        assert!(all.root_created);
        assert_eq!(all.issued.len(), demo_units().unwrap().len() + 1);
        let again = run(
            dir.path(),
            &DevCaRequest {
                agencies: vec!["000.00.31.H99".into(), "000.00.07.H98=Sở Tư pháp tỉnh khác".into()],
                nodes: vec!["node-a=a.lachong.gov.vn,127.0.0.1".into(), "node-b".into()],
                sans: vec!["b.lachong.gov.vn".into()],
                province: None,
            },
        )
        .unwrap();
        assert!(!again.root_created);
        let created: Vec<&str> = again.issued.iter().filter(|(_, i)| i.created).map(|(n, _)| n.as_str()).collect();
        assert_eq!(created, ["Sở Tư pháp tỉnh khác (000.00.07.H98)", "nút node-a", "nút node-b"]);
        let unknown = DevCaRequest { agencies: vec!["000.00.07.H98".into()], ..Default::default() };
        assert!(run(dir.path(), &unknown).is_err(), "a unit outside the demo needs a name");
    }
}
