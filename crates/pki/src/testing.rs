//! A timestamp authority for tests: `openssl ts -reply` with the development CA's TSA
//! certificate, behind a minimal HTTP listener on a free loopback port. Tests of signed results
//! (PAdES B-T) and of timestamped log batches point their [`crate::tsp::TsaClient`] at
//! [`TestTsa::url`]. Never used outside tests: it answers anyone on 127.0.0.1.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;

use crate::PkiError;
use crate::devca::DevCa;

/// A running test TSA; stopped when dropped.
pub struct TestTsa {
    url: String,
    stop: Arc<AtomicBool>,
    served: Arc<AtomicUsize>,
    addr: std::net::SocketAddr,
    thread: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

fn io(e: std::io::Error) -> PkiError {
    PkiError::Io(e.to_string())
}

impl TestTsa {
    /// Issues (or reuses) the TSA certificate of the development CA in `ca_dir` and starts
    /// answering timestamp requests. Needs the `openssl` command.
    pub fn start(ca_dir: &Path) -> Result<Self, PkiError> {
        let (ca, _) = DevCa::open_or_create(ca_dir, "tỉnh thử nghiệm")?;
        let issued = ca.issue_tsa()?;
        let dir = tempfile::tempdir().map_err(io)?;
        let serial = dir.path().join("serial");
        std::fs::write(&serial, "01\n").map_err(io)?;
        let config = dir.path().join("tsa.cnf");
        let text = format!(
            "[ tsa ]\ndefault_tsa = test_tsa\n\n[ test_tsa ]\nserial = {serial}\ncrypto_device = builtin\n\
             signer_cert = {cert}\ncerts = {root}\nsigner_key = {key}\nsigner_digest = sha256\n\
             default_policy = 1.3.6.1.4.1.99999.1\ndigests = sha256, sha384, sha512\naccuracy = secs:1\n\
             ordering = no\ntsa_name = yes\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n",
            serial = serial.display(),
            cert = issued.chain_pem.display(),
            root = ca.root_path().display(),
            key = issued.key_pem.display(),
        );
        std::fs::write(&config, text).map_err(io)?;
        let listener = TcpListener::bind("127.0.0.1:0").map_err(io)?;
        let addr = listener.local_addr().map_err(io)?;
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicUsize::new(0));
        let work = dir.path().to_owned();
        let thread = {
            let (stop, served) = (stop.clone(), served.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(s) = stream {
                        let _ = answer(s, &config, &work, &served);
                    }
                }
            })
        };
        Ok(Self { url: format!("http://{addr}/tsr"), stop, served, addr, thread: Some(thread), _dir: dir })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// How many timestamps it has issued.
    pub fn served(&self) -> usize {
        self.served.load(Ordering::SeqCst)
    }
}

impl Drop for TestTsa {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One HTTP/1.1 exchange: read the POSTed TimeStampReq, let openssl answer it.
fn answer(stream: TcpStream, config: &Path, work: &Path, served: &AtomicUsize) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut query = vec![0; length.min(64 * 1024)];
    reader.read_exact(&mut query)?;
    let id = uuid_like();
    let (q, r): (PathBuf, PathBuf) = (work.join(format!("{id}.tsq")), work.join(format!("{id}.tsr")));
    std::fs::write(&q, &query)?;
    let ok = Command::new("openssl")
        .args(["ts", "-reply", "-config"])
        .arg(config)
        .arg("-queryfile")
        .arg(&q)
        .arg("-out")
        .arg(&r)
        .output()
        .is_ok_and(|o| o.status.success());
    let mut stream = stream;
    if ok {
        let body = std::fs::read(&r)?;
        // Counted before the answer goes out, so a client that has it sees the count.
        served.fetch_add(1, Ordering::SeqCst);
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )?;
        stream.write_all(&body)?;
    } else {
        stream.write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
    }
    let _ = std::fs::remove_file(&q);
    let _ = std::fs::remove_file(&r);
    stream.flush()
}

fn uuid_like() -> String {
    let mut b = [0u8; 8];
    aws_lc_rs::rand::fill(&mut b).expect("random");
    crate::cert::hex(&b)
}
