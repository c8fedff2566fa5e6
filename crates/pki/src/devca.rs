//! A development certificate authority (`cqs dev-ca`): a root, one document-signing certificate
//! per agency, TLS certificates for nodes that federate with each other, and a timestamping
//! certificate for tests. Everything is written as PEM (and PKCS#12 for agencies) in one folder;
//! running it again reuses the root and issues only what is missing, so the demo can call it on
//! every start. Nothing here is trusted outside a test or demo: a province uses certificates
//! from a licensed CA (docs/signing.md).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use rustls_pki_types::CertificateDer;
use time::{Duration, OffsetDateTime};

use crate::PkiError;

/// The password of the agency PKCS#12 files the development CA writes (they are test keys).
pub const DEV_P12_PASSWORD: &str = "cqs-dev";

/// An agency to issue a document-signing certificate for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencySpec {
    /// QCVN 102 agency code, e.g. 000.00.31.H99.
    pub code: String,
    pub name: String,
}

/// A node to issue a TLS certificate (server and client) for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpec {
    pub name: String,
    /// DNS names or IP addresses.
    pub sans: Vec<String>,
}

/// The files of one issued certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// Certificate followed by the root.
    pub chain_pem: PathBuf,
    pub key_pem: PathBuf,
    /// False when the files were already there and were kept.
    pub created: bool,
}

/// An opened development CA: its root key signs what it issues.
pub struct DevCa {
    dir: PathBuf,
    root_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn rc(what: &'static str) -> impl Fn(rcgen::Error) -> PkiError {
    move |e| PkiError::Invalid(format!("{what}: {e}"))
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> PkiError + '_ {
    move |e| PkiError::Io(format!("{}: {e}", path.display()))
}

fn random_serial() -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| PkiError::Invalid("không sinh được số ngẫu nhiên".into()))?;
    bytes[0] &= 0x7f; // a positive INTEGER
    Ok(SerialNumber::from_slice(&bytes))
}

/// Writes `contents` to `path`; keys are readable by the owner only.
fn write_file(path: &Path, contents: &[u8], secret: bool) -> Result<(), PkiError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut f = opts.open(path).map_err(io(path))?;
    std::io::Write::write_all(&mut f, contents).map_err(io(path))
}

fn leaf_params(dn: DistinguishedName, years: i64) -> Result<CertificateParams, PkiError> {
    let mut p = CertificateParams::default();
    let now = OffsetDateTime::now_utc();
    p.not_before = now - Duration::days(1);
    p.not_after = now + Duration::days(365 * years);
    p.serial_number = Some(random_serial()?);
    p.distinguished_name = dn;
    p.use_authority_key_identifier_extension = true;
    Ok(p)
}

/// A file-system-safe name for an agency code or node name.
fn file_stem(name: &str) -> Result<String, PkiError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        && !name.starts_with('.');
    if ok {
        Ok(name.to_owned())
    } else {
        Err(PkiError::Invalid(format!("tên không hợp lệ cho tệp chứng thư: {name}")))
    }
}

impl DevCa {
    /// Opens the CA in `dir`, creating the root first if there is none.
    pub fn open_or_create(dir: &Path, province: &str) -> Result<(Self, bool), PkiError> {
        let (cert_path, key_path) = (dir.join("ca.crt.pem"), dir.join("ca.key.pem"));
        if cert_path.exists() && key_path.exists() {
            let root_pem = String::from_utf8(crate::cert::read(&cert_path)?)
                .map_err(|_| PkiError::Invalid("ca.crt.pem không phải văn bản".into()))?;
            let key_pem = String::from_utf8(crate::cert::read(&key_path)?)
                .map_err(|_| PkiError::Invalid("ca.key.pem không phải văn bản".into()))?;
            let key = KeyPair::from_pem(&key_pem).map_err(rc("khóa CA không đọc được"))?;
            let issuer = Issuer::from_ca_cert_pem(&root_pem, key).map_err(rc("chứng thư CA không đọc được"))?;
            return Ok((Self { dir: dir.to_owned(), root_pem, issuer }, false));
        }
        let key = KeyPair::generate().map_err(rc("không sinh được khóa CA"))?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, "VN");
        dn.push(DnType::OrganizationName, format!("{province} (thử nghiệm)"));
        dn.push(DnType::CommonName, format!("CA thử nghiệm Chính Quyền Số - {province}"));
        let mut p = leaf_params(dn, 10)?;
        p.use_authority_key_identifier_extension = false;
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let cert = p.self_signed(&key).map_err(rc("không tạo được chứng thư CA"))?;
        write_file(&key_path, key.serialize_pem().as_bytes(), true)?;
        write_file(&cert_path, cert.pem().as_bytes(), false)?;
        let root_pem = cert.pem();
        Ok((Self { dir: dir.to_owned(), root_pem, issuer: Issuer::new(p, key) }, true))
    }

    /// The root certificate, to trust when verifying what this CA issued.
    pub fn root(&self) -> Result<CertificateDer<'static>, PkiError> {
        Ok(crate::cert::certificates_from_pem(self.root_pem.as_bytes())?.remove(0))
    }

    pub fn root_path(&self) -> PathBuf {
        self.dir.join("ca.crt.pem")
    }

    fn issue(&self, sub: &str, stem: &str, params: CertificateParams, p12: Option<&str>) -> Result<Issued, PkiError> {
        let stem = file_stem(stem)?;
        let chain_pem = self.dir.join(sub).join(format!("{stem}.crt.pem"));
        let key_pem = self.dir.join(sub).join(format!("{stem}.key.pem"));
        if chain_pem.exists() && key_pem.exists() {
            return Ok(Issued { chain_pem, key_pem, created: false });
        }
        let key = KeyPair::generate().map_err(rc("không sinh được khóa"))?;
        let cert = params.signed_by(&key, &self.issuer).map_err(rc("không ký được chứng thư"))?;
        if let Some(alias) = p12 {
            let root = self.root()?;
            let bytes =
                crate::pkcs12::write(&key.serialize_der(), &[cert.der().clone(), root], alias, DEV_P12_PASSWORD)?;
            write_file(&self.dir.join(sub).join(format!("{stem}.p12")), &bytes, true)?;
        }
        write_file(&key_pem, key.serialize_pem().as_bytes(), true)?;
        write_file(&chain_pem, format!("{}{}", cert.pem(), self.root_pem).as_bytes(), false)?;
        Ok(Issued { chain_pem, key_pem, created: true })
    }

    /// A document-signing certificate for an agency: key usage digitalSignature and
    /// nonRepudiation; subject with the agency's name and, as organizationIdentifier, its QCVN
    /// 102 code. Also written as `agencies/<code>.p12` (password [`DEV_P12_PASSWORD`]).
    pub fn issue_agency(&self, agency: &AgencySpec, province: &str) -> Result<Issued, PkiError> {
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, "VN");
        dn.push(DnType::StateOrProvinceName, province);
        dn.push(DnType::OrganizationName, agency.name.as_str());
        dn.push(DnType::CustomDnType(crate::cert::ORGANIZATION_IDENTIFIER.to_vec()), agency.code.as_str());
        dn.push(DnType::CommonName, agency.name.as_str());
        let mut p = leaf_params(dn, 2)?;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment];
        self.issue("agencies", &agency.code, p, Some(&agency.code))
    }

    /// A TLS certificate for a node, usable as server and as client (mutual TLS between
    /// federated nodes), for the given DNS names and IP addresses.
    pub fn issue_node(&self, node: &NodeSpec) -> Result<Issued, PkiError> {
        if node.sans.is_empty() {
            return Err(PkiError::Invalid(format!(
                "nút {} cần ít nhất một tên miền hoặc địa chỉ IP (--san)",
                node.name
            )));
        }
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "Chính Quyền Số");
        dn.push(DnType::CommonName, node.name.as_str());
        let mut p = leaf_params(dn, 2)?;
        p.subject_alt_names = node
            .sans
            .iter()
            .map(|s| match s.parse::<IpAddr>() {
                Ok(ip) => Ok(SanType::IpAddress(ip)),
                Err(_) => s
                    .as_str()
                    .try_into()
                    .map(SanType::DnsName)
                    .map_err(|_| PkiError::Invalid(format!("tên miền không hợp lệ: {s}"))),
            })
            .collect::<Result<_, _>>()?;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        self.issue("nodes", &node.name, p, None)
    }

    /// A timestamping (RFC 3161) certificate for tests: the only extended key usage is
    /// timeStamping, marked critical as RFC 3161 §2.3 requires.
    pub fn issue_tsa(&self) -> Result<Issued, PkiError> {
        use x509_cert::der::Encode;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "Chính Quyền Số");
        dn.push(DnType::CommonName, "Máy chủ cấp dấu thời gian thử nghiệm");
        let mut p = leaf_params(dn, 2)?;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment];
        let eku = x509_cert::ext::pkix::ExtendedKeyUsage(vec![x509_cert::der::oid::ObjectIdentifier::new_unwrap(
            "1.3.6.1.5.5.7.3.8",
        )]);
        let content = eku.to_der().map_err(|e| PkiError::Invalid(format!("EKU: {e}")))?;
        let mut ext = CustomExtension::from_oid_content(&[2, 5, 29, 37], content);
        ext.set_criticality(true);
        p.custom_extensions = vec![ext];
        self.issue("tsa", "tsa", p, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CertificateInfo, Signer, self_test};
    use x509_parser::prelude::*;

    fn agency() -> AgencySpec {
        AgencySpec { code: "000.00.31.H99".into(), name: "Ủy ban nhân dân xã Lạc Sơn".into() }
    }

    #[test]
    fn agency_certificates_name_the_agency_and_sign_documents() {
        let dir = tempfile::tempdir().unwrap();
        let (ca, created) = DevCa::open_or_create(dir.path(), "tỉnh Lạc Hồng").unwrap();
        assert!(created);
        let issued = ca.issue_agency(&agency(), "tỉnh Lạc Hồng").unwrap();
        assert!(issued.created);
        let chain = crate::cert::certificates_from_pem(&std::fs::read(&issued.chain_pem).unwrap()).unwrap();
        assert_eq!(chain.len(), 2, "certificate then root");
        let info = CertificateInfo::parse(&chain[0]).unwrap();
        assert_eq!(info.common_name.as_deref(), Some("Ủy ban nhân dân xã Lạc Sơn"));
        assert_eq!(info.organization_identifier.as_deref(), Some("000.00.31.H99"));
        assert!(info.signs_documents && !info.is_ca);
        assert!(info.valid_at(chrono::Utc::now()));
        assert!(CertificateInfo::parse(&chain[1]).unwrap().is_ca);

        // PEM and PKCS#12 give the same working key.
        let key = crate::cert::private_key_from_pem(&std::fs::read(&issued.key_pem).unwrap()).unwrap();
        let pem = crate::SoftwareSigner::new(&key, chain.clone()).unwrap();
        self_test(&pem).unwrap();
        let p12 = std::fs::read(dir.path().join("agencies/000.00.31.H99.p12")).unwrap();
        let from_p12 = crate::pkcs12::load(&p12, DEV_P12_PASSWORD).unwrap();
        self_test(&from_p12).unwrap();
        assert_eq!(from_p12.certificate(), pem.certificate());
        assert!(crate::pkcs12::load(&p12, "sai mật khẩu").is_err());

        // A key that is not the certificate's is refused.
        let other = ca.issue_agency(&AgencySpec { code: "000.00.32.H99".into(), name: "Xã khác".into() }, "x").unwrap();
        let other_key = crate::cert::private_key_from_pem(&std::fs::read(&other.key_pem).unwrap()).unwrap();
        assert!(crate::SoftwareSigner::new(&other_key, chain).is_err());
    }

    #[test]
    fn reopening_keeps_the_root_and_what_was_issued() {
        let dir = tempfile::tempdir().unwrap();
        let (ca, _) = DevCa::open_or_create(dir.path(), "tỉnh Lạc Hồng").unwrap();
        let first = ca.issue_agency(&agency(), "tỉnh Lạc Hồng").unwrap();
        let before = std::fs::read(&first.chain_pem).unwrap();
        let root = ca.root().unwrap();
        let (again, created) = DevCa::open_or_create(dir.path(), "tỉnh Lạc Hồng").unwrap();
        assert!(!created);
        assert_eq!(again.root().unwrap(), root);
        assert!(!again.issue_agency(&agency(), "tỉnh Lạc Hồng").unwrap().created);
        assert_eq!(std::fs::read(&first.chain_pem).unwrap(), before);
        // What the reopened CA issues chains to the same root.
        let node = again
            .issue_node(&NodeSpec {
                name: "node-1".into(),
                sans: vec!["node1.lachong.gov.vn".into(), "127.0.0.1".into()],
            })
            .unwrap();
        let chain = crate::cert::certificates_from_pem(&std::fs::read(&node.chain_pem).unwrap()).unwrap();
        let (_, leaf) = X509Certificate::from_der(&chain[0]).unwrap();
        let (_, root_cert) = X509Certificate::from_der(&root).unwrap();
        leaf.verify_signature(Some(root_cert.public_key())).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("ca.key.pem")).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "keys are readable by their owner only");
        }
    }

    #[test]
    fn node_and_tsa_certificates_carry_their_usages() {
        let dir = tempfile::tempdir().unwrap();
        let (ca, _) = DevCa::open_or_create(dir.path(), "tỉnh Lạc Hồng").unwrap();
        let node = ca
            .issue_node(&NodeSpec {
                name: "node-1".into(),
                sans: vec!["node1.lachong.gov.vn".into(), "10.0.0.7".into()],
            })
            .unwrap();
        let der = crate::cert::certificates_from_pem(&std::fs::read(&node.chain_pem).unwrap()).unwrap().remove(0);
        let (_, cert) = X509Certificate::from_der(&der).unwrap();
        let eku = cert.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth && eku.client_auth && !eku.time_stamping);
        let san = cert.subject_alternative_name().unwrap().unwrap().value;
        let names: Vec<String> = san.general_names.iter().map(|n| n.to_string()).collect();
        assert!(names.iter().any(|n| n.contains("node1.lachong.gov.vn")), "{names:?}");
        assert!(names.iter().any(|n| n.contains("0a:00:00:07")), "{names:?}");
        assert!(
            ca.issue_node(&NodeSpec { name: "trống".into(), sans: vec!["x".into()] }).is_err(),
            "names are file-safe"
        );
        assert!(ca.issue_node(&NodeSpec { name: "n".into(), sans: vec![] }).is_err());

        let tsa = ca.issue_tsa().unwrap();
        let der = crate::cert::certificates_from_pem(&std::fs::read(&tsa.chain_pem).unwrap()).unwrap().remove(0);
        let (_, cert) = X509Certificate::from_der(&der).unwrap();
        let eku = cert.extended_key_usage().unwrap().unwrap();
        assert!(eku.critical, "RFC 3161 wants the EKU critical");
        assert!(eku.value.time_stamping && !eku.value.server_auth);
    }

    /// Provinces' CA-issued keys are mostly RSA: the software signer handles them through
    /// aws-lc-rs (not the RustCrypto `rsa` crate).
    #[test]
    fn an_rsa_key_signs_too() {
        let key = KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        let cert = CertificateParams::new(vec!["rsa.test".to_owned()]).unwrap().self_signed(&key).unwrap();
        let der = rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
        let signer = crate::SoftwareSigner::new(&der, vec![cert.der().clone()]).unwrap();
        assert_eq!(signer.algorithm(), crate::Algorithm::RsaPkcs1Sha256);
        self_test(&signer).unwrap();
        assert_eq!(crate::cert::key_algorithm(cert.der()).unwrap(), crate::Algorithm::RsaPkcs1Sha256);
    }
}
