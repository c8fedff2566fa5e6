//! Files on an S3-compatible server: moto's server mode (PyPI `moto[server]`, installed by
//! `scripts/test.sh`), started by the test on a free port with a new bucket. The same
//! pending/promote/reconcile protocol as on a local folder, and a 100 MiB file streamed up in
//! parts (a real multipart upload) and back down without ever being held in memory.

use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::task::{Context, Poll};

use cqs_store::files::{Attachments, FileError};
use object_store::ObjectStoreExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, S3ConditionalPut};
use object_store::path::Path;
use sha2::{Digest, Sha256};

struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts moto's S3 server, or `None` (with a notice) outside CI when moto is not installed.
async fn start_moto() -> Option<Moto> {
    let installed = Command::new("python3")
        .args(["-c", "import moto.server"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        assert!(std::env::var("CI").is_err(), "moto[server] must be installed in CI (scripts/test.sh ensure_moto)");
        eprintln!("skipping S3: moto is not installed (python3 -m pip install 'moto[server]')");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("python3")
        .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto");
    let moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}") };
    for _ in 0..150 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(moto);
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("moto did not start on port {port}");
}

fn s3(moto: &Moto, bucket: &str) -> AmazonS3 {
    AmazonS3Builder::new()
        .with_endpoint(&moto.endpoint)
        .with_allow_http(true)
        .with_virtual_hosted_style_request(false)
        .with_region("us-east-1")
        .with_bucket_name(bucket)
        .with_access_key_id("test")
        .with_secret_access_key("test")
        .with_conditional_put(S3ConditionalPut::ETagMatch)
        .build()
        .unwrap()
}

/// Creates a bucket (moto accepts an unsigned `PUT /bucket`).
async fn create_bucket(moto: &Moto, bucket: &str) {
    let r = reqwest::Client::new().put(format!("{}/{bucket}", moto.endpoint)).send().await.unwrap();
    assert!(r.status().is_success(), "create bucket: {}", r.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_on_s3_follow_the_pending_protocol() {
    let Some(moto) = start_moto().await else { return };
    create_bucket(&moto, "cqs-files").await;
    let fs = Attachments::named(Arc::new(s3(&moto, "cqs-files")), "s3");
    assert_eq!(fs.kind(), "s3");
    fs.check().await.unwrap();
    let a = fs.put_pending(b"%PDF-1.7 a".to_vec()).await.unwrap();
    let b = fs.put_pending(b"%PDF-1.7 b".to_vec()).await.unwrap();
    let c = fs.put_pending(b"%PDF-1.7 c".to_vec()).await.unwrap();
    fs.promote(&a.key).await.unwrap();
    assert_eq!(fs.read_checked(&a.key, &a.sha256).await.unwrap(), b"%PDF-1.7 a");
    assert!(matches!(fs.read_checked(&a.key, &b.sha256).await, Err(FileError::HashMismatch(_))));
    assert_eq!(fs.read_checked(&b.key, &b.sha256).await.unwrap(), b"%PDF-1.7 b", "readable while pending");
    let keep = b.key.clone();
    let (p, d) = fs
        .reconcile(|k| {
            let keep = keep.clone();
            async move { k == keep }
        })
        .await
        .unwrap();
    assert_eq!((p, d), (1, 1));
    assert!(fs.read_checked(&c.key, &c.sha256).await.is_err());
    assert!(fs.pending_keys().await.unwrap().is_empty());
    // Objects land where the layout says, in the bucket.
    let raw = s3(&moto, "cqs-files");
    let head = raw.head(&Path::from(format!("objects/{}/{}", &b.key[b.key.len() - 2..], b.key))).await.unwrap();
    assert_eq!(head.size, 10);
    // A bucket that does not exist is not ready.
    let missing = Attachments::named(Arc::new(s3(&moto, "no-such-bucket")), "s3");
    assert!(missing.check().await.is_err());
}

/// 100 MiB of deterministic bytes, produced as read.
struct Generated {
    left: u64,
    state: u64,
}

impl tokio::io::AsyncRead for Generated {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = (buf.remaining() as u64).min(self.left).min(64 * 1024) as usize;
        let mut chunk = vec![0u8; n];
        for byte in chunk.iter_mut() {
            self.state = self.state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            *byte = (self.state >> 56) as u8;
        }
        self.left -= n as u64;
        buf.put_slice(&chunk);
        Poll::Ready(Ok(()))
    }
}

/// Hashes what is written and keeps nothing.
#[derive(Default)]
struct HashSink(Sha256);

impl tokio::io::AsyncWrite for HashSink {
    fn poll_write(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.0.update(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Peak resident memory of this process (nextest runs each test in its own process).
fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb / 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mib_file_streams_up_in_parts_and_back() {
    let Some(moto) = start_moto().await else { return };
    create_bucket(&moto, "cqs-big").await;
    let fs = Attachments::named(Arc::new(s3(&moto, "cqs-big")), "s3");
    const SIZE: u64 = 100 << 20;
    let mut expected = Sha256::new();
    {
        use tokio::io::AsyncReadExt;
        let mut g = Generated { left: SIZE, state: 7 };
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = g.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            expected.update(&buf[..n]);
        }
    }
    let expected = hex::encode(expected.finalize());
    let before = peak_rss_mib();

    let p = fs.put_pending_reader(None, Generated { left: SIZE, state: 7 }, Some(&expected)).await.unwrap();
    assert_eq!((p.size, p.sha256.as_str()), (SIZE, expected.as_str()));
    // A multipart upload: S3 gives such an object an ETag ending in -<number of parts>.
    let raw = s3(&moto, "cqs-big");
    let head = raw.head(&Path::from(format!("pending/{}", p.key))).await.unwrap();
    let etag = head.e_tag.unwrap_or_default();
    let parts: u32 = etag.trim_matches('"').rsplit_once('-').and_then(|(_, n)| n.parse().ok()).unwrap_or(0);
    assert!(parts >= 12, "100 MiB in 8 MiB parts, got ETag {etag}");
    assert_eq!(head.size, SIZE);
    fs.promote(&p.key).await.unwrap();
    let mut sink = HashSink::default();
    assert_eq!(fs.copy_checked(&p.key, &expected, &mut sink).await.unwrap(), SIZE);
    assert_eq!(hex::encode(sink.0.finalize()), expected);
    let after = peak_rss_mib();
    assert!(after < before + 64, "the file must stream: peak memory grew from {before} MiB to {after} MiB");

    // Bytes that do not match the expected hash are not kept.
    let bad = fs.put_pending_reader(None, Generated { left: 1 << 20, state: 8 }, Some(&expected)).await;
    assert!(matches!(bad, Err(FileError::HashMismatch(_))));
    assert!(fs.pending_keys().await.unwrap().is_empty());
}
