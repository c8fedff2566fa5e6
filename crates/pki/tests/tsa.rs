//! The RFC 3161 client against a real timestamp authority: `openssl ts -reply` with the
//! development CA's TSA certificate (see `cqs_pki::testing`).

use std::time::Duration;

use cqs_pki::devca::DevCa;
use cqs_pki::testing::TestTsa;
use cqs_pki::tsp::{TsaClient, verify_token};

fn digest(data: &[u8]) -> [u8; 32] {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data).as_ref().try_into().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_covers_the_digest_and_chains_to_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let tsa = TestTsa::start(dir.path()).unwrap();
    let root = DevCa::open_or_create(dir.path(), "x").unwrap().0.root().unwrap();
    let client = TsaClient::new(tsa.url(), Duration::from_secs(20)).unwrap();

    let before = chrono::Utc::now() - chrono::Duration::seconds(2);
    let token = client.timestamp(b"batch 42 of node-1").await.unwrap();
    assert_eq!(tsa.served(), 1);
    assert!(token.gen_time >= before && token.gen_time <= chrono::Utc::now() + chrono::Duration::seconds(2));
    assert_eq!(token.policy.as_deref(), Some("1.3.6.1.4.1.99999.1"));
    assert!(!token.serial.is_empty());

    // A stored token verifies later against the same digest and the root.
    let again = verify_token(&token.der, &digest(b"batch 42 of node-1"), std::slice::from_ref(&root)).unwrap();
    assert_eq!(again, token);
    // Not against another digest, nor another root.
    assert!(verify_token(&token.der, &digest(b"batch 43 of node-1"), std::slice::from_ref(&root)).is_err());
    let other = tempfile::tempdir().unwrap();
    let other_root = DevCa::open_or_create(other.path(), "y").unwrap().0.root().unwrap();
    assert!(verify_token(&token.der, &digest(b"batch 42 of node-1"), &[other_root]).is_err());
    // A flipped byte anywhere in the token's signed part fails.
    let mut bad = token.der.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x01;
    assert!(verify_token(&bad, &digest(b"batch 42 of node-1"), &[root]).is_err());
    // Two tokens get two serial numbers.
    let second = client.timestamp(b"batch 43 of node-1").await.unwrap();
    assert_ne!(second.serial, token.serial);
}

#[tokio::test]
async fn an_unreachable_tsa_is_a_clear_error() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/tsr", dead.local_addr().unwrap());
    drop(dead);
    let client = TsaClient::new(&url, Duration::from_secs(2)).unwrap();
    let err = client.timestamp(b"x").await.unwrap_err().to_string();
    assert!(err.contains("dấu thời gian"), "{err}");
}
