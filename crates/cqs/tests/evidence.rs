//! `cqs verify-evidence` on real evidence files: a record logged and sealed by a node, its batch
//! timestamped by a test authority (`openssl ts`), exported, then checked by the command with and
//! without the authority's root, and refused once a byte changed; with kept bodies, the bodies
//! are checked against the signed hashes.

use std::process::Command;
use std::sync::Arc;

use axum::body::Bytes;
use cqs_exchange::bodies::{BodyKey, BodyKeys};
use cqs_exchange::log::{LogRecord, MessageLog, NodeKey};
use sha2::Digest;

const REQUEST: &[u8] = b"{\"so\":\"123/2026\"}";
const RESPONSE: &[u8] = "{\"ho_ten\":\"Nguyễn Văn An\"}".as_bytes();

fn sha(b: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(b))
}

fn record(message_id: &str) -> LogRecord {
    LogRecord {
        v: 1,
        node: String::new(),
        seq: 0,
        at: cqs_exchange::log::record_time(chrono::Utc::now()),
        message_id: message_id.into(),
        request_id: "01a23c1c-91f3-71f3-a186-1bc5075face1".into(),
        client: "VN-LH/GOV/000.00.31.H99/mot-cua".into(),
        service: "VN-LH/GOV/000.00.05.H99/ho-tich/khai-sinh".into(),
        method: "GET".into(),
        path: "/khai-sinh/1".into(),
        user_id: None,
        issue: None,
        request_hash: "x".repeat(88),
        request_body_sha256: sha(REQUEST),
        request_bytes: REQUEST.len() as u64,
        status: 200,
        response_body_sha256: sha(RESPONSE),
        response_bytes: RESPONSE.len() as u64,
        duration_us: 100,
        peer: None,
    }
}

fn base64_of(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn verify(args: &[&std::ffi::OsStr]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cqs"))
        .arg("verify-evidence")
        .args(args)
        .env("CQS_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_command_checks_the_timestamp_of_a_batch_and_refuses_a_changed_file() {
    let (store, dir) = cqs_store::testing::sqlite_store().await;
    let key = NodeKey::load_or_create(&dir.path().join("exchange"), "VN-LH", "node-lh").unwrap();
    let keys = Arc::new(BodyKeys::new(BodyKey::from_bytes(&[5; 32]).unwrap(), Vec::new()));
    let log = MessageLog::start(store.clone(), key, 16, 16, Some(keys.clone())).await.unwrap();
    log.append(record("m-1"), None).await.unwrap();
    log.append(record("m-2"), Some((Bytes::from_static(REQUEST), Bytes::from_static(RESPONSE)))).await.unwrap();
    let ca = tempfile::tempdir().unwrap();
    let tsa = cqs_pki::testing::TestTsa::start(ca.path()).unwrap();
    let client = cqs_pki::tsp::TsaClient::new(tsa.url(), std::time::Duration::from_secs(10)).unwrap();
    cqs_exchange::stamp::stamp_round(store.as_ref(), &client, "node-lh").await.unwrap().expect("two batches waited");
    assert!(matches!(
        cqs_exchange::evidence::export(store.as_ref(), "node-lh", "m-1", Some(&keys)).await,
        Err(cqs_exchange::evidence::EvidenceError::NoBodies(_))
    ));
    let ev = cqs_exchange::evidence::export(store.as_ref(), "node-lh", "m-2", Some(&keys)).await.unwrap();
    let file = dir.path().join("m-2.json");
    std::fs::write(&file, ev.to_bytes()).unwrap();
    let root = ca.path().join("ca.crt.pem");

    let (ok, out, err) =
        verify(&[file.as_os_str(), "--tsa-root".as_ref(), root.as_os_str(), "--key".as_ref(), log.key_hex.as_ref()]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("Dấu thời gian RFC 3161"), "{out}");
    assert!(!out.contains("CHƯA xác minh"), "{out}");
    assert!(
        out.contains(&format!("Nội dung yêu cầu ({} byte) và trả lời ({} byte)", REQUEST.len(), RESPONSE.len())),
        "{out}"
    );
    // A changed response body no longer matches its signed hash.
    let mut changed = ev.clone();
    changed.bodies.as_mut().unwrap().response = base64_of(b"{\"ho_ten\":\"Tran Van B\"}");
    let changed_file = dir.path().join("m-2-changed.json");
    std::fs::write(&changed_file, changed.to_bytes()).unwrap();
    let (ok, _, err) = verify(&[changed_file.as_os_str()]);
    assert!(!ok && err.contains("không khớp với mã băm"), "{err}");
    // Without the authority's root the time is reported as not vouched for.
    let (ok, out, _) = verify(&[file.as_os_str()]);
    assert!(ok && out.contains("CHƯA xác minh"), "{out}");
    // An authority of another root is refused.
    let other = tempfile::tempdir().unwrap();
    cqs_pki::devca::DevCa::open_or_create(other.path(), "tỉnh khác").unwrap();
    let other_root = other.path().join("ca.crt.pem");
    let (ok, _, err) = verify(&[file.as_os_str(), "--tsa-root".as_ref(), other_root.as_os_str()]);
    assert!(!ok && err.contains("KHÔNG hợp lệ"), "{err}");
    // One changed byte in the audit path fails.
    let mut bytes = ev.to_bytes();
    let at = String::from_utf8_lossy(&bytes).find("\"path\"").unwrap() + 20;
    bytes[at] = if bytes[at] == b'a' { b'b' } else { b'a' };
    std::fs::write(&file, &bytes).unwrap();
    let (ok, _, err) = verify(&[file.as_os_str(), "--tsa-root".as_ref(), root.as_os_str()]);
    assert!(!ok && err.contains("KHÔNG hợp lệ"), "{err}");
}
