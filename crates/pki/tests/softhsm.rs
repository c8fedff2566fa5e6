//! The PKCS#11 signer against a real token: SoftHSM2 (Debian `softhsm2`, which `.ci/run`
//! installs). A dev-CA agency key is imported into a fresh token, then signs through PKCS#11.

use std::path::{Path, PathBuf};
use std::process::Command;

use cqs_pki::devca::{AgencySpec, DevCa};
use cqs_pki::pkcs11::{Pkcs11Key, Pkcs11Signer};
use cqs_pki::{KeySource, Signer, self_test};

const MODULES: [&str; 3] = [
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
];

fn module() -> Option<PathBuf> {
    let found = MODULES.iter().map(PathBuf::from).find(|p| p.exists());
    if found.is_none() {
        assert!(std::env::var("CI").is_err(), "SoftHSM2 must be installed in CI (apt-get install softhsm2)");
        eprintln!("skipping: SoftHSM2 is not installed");
    }
    found
}

fn softhsm(conf: &Path, args: &[&str]) {
    let out = Command::new("softhsm2-util").env("SOFTHSM2_CONF", conf).args(args).output().expect("run softhsm2-util");
    assert!(out.status.success(), "softhsm2-util {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_token_key_signs_and_a_wrong_pin_is_refused() {
    let Some(module) = module() else { return };
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!("directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n", tokens.display()),
    )
    .unwrap();
    // SoftHSM reads its configuration from the environment of the process that loads it.
    unsafe { std::env::set_var("SOFTHSM2_CONF", &conf) };
    softhsm(&conf, &["--init-token", "--free", "--label", "cqs-test", "--so-pin", "12345678", "--pin", "246810"]);

    let (ca, _) = DevCa::open_or_create(&dir.path().join("ca"), "tỉnh Lạc Hồng").unwrap();
    let issued = ca
        .issue_agency(&AgencySpec { code: "000.00.31.H99".into(), name: "UBND xã Lạc Sơn".into() }, "tỉnh Lạc Hồng")
        .unwrap();
    softhsm(
        &conf,
        &[
            "--import",
            issued.key_pem.to_str().unwrap(),
            "--token",
            "cqs-test",
            "--label",
            "ky-so-lac-son",
            "--id",
            "01",
            "--pin",
            "246810",
        ],
    );
    // The key now lives on the token; the PEM copy is not needed to sign.
    std::fs::remove_file(&issued.key_pem).unwrap();

    let chain = cqs_pki::cert::certificates_from_pem(&std::fs::read(&issued.chain_pem).unwrap()).unwrap();
    let key = Pkcs11Key { module: module.clone(), token_label: "cqs-test".into(), key_label: "ky-so-lac-son".into() };
    // A wrong PIN first: once the token is logged in, it stays so for the whole process.
    let wrong = Pkcs11Signer::open(&key, "000000", chain.clone());
    assert!(matches!(wrong, Err(cqs_pki::PkiError::Token(_))), "wrong PIN");
    let signer = Pkcs11Signer::open(&key, "246810", chain.clone()).unwrap();
    self_test(&signer).expect("a token signature verifies with the certificate's key");
    assert_eq!(signer.chain().len(), 2);

    let missing = Pkcs11Key { key_label: "khong-co".into(), ..key.clone() };
    assert!(Pkcs11Signer::open(&missing, "246810", chain).is_err());

    unsafe { std::env::set_var("CQS_TEST_TOKEN_PIN", "246810") };
    let source: KeySource = serde_json::from_value(serde_json::json!({
        "kind": "pkcs11", "module": module, "token_label": "cqs-test", "key_label": "ky-so-lac-son",
        "certificate": issued.chain_pem, "pin_env": "CQS_TEST_TOKEN_PIN"
    }))
    .unwrap();
    let loaded = source.load().unwrap();
    assert_eq!(loaded.certificate(), signer.certificate());
}
