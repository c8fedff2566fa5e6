//! Hostile clients at the HTTP edge and hostile files at the importer: slow-loris clients that
//! trickle their headers or body, many of them at once, and zip bombs posing as XLSX workbooks.

use std::io::Write;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A real server on a free port with the given limits; stops when the returned sender drops.
async fn server(
    limits: cqs_web::Limits,
) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>, tempfile::TempDir) {
    let (store, dir) = cqs_store::testing::sqlite_store().await;
    let files = cqs_store::files::FileStore::open(dir.path().join("files")).unwrap();
    let state = cqs_web::AppState::new(store, files, cqs_web::Rules::embedded().unwrap(), limits.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(cqs::http::serve(listener, cqs_web::router(state), limits, async move {
        let _ = stopped.await;
    }));
    (addr, stop, dir)
}

fn limits() -> cqs_web::Limits {
    cqs_web::Limits {
        header_read: Duration::from_secs(1),
        request_timeout: Duration::from_secs(2),
        ..Default::default()
    }
}

/// Everything the server sends until it closes the connection (or `within` runs out).
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (String, bool) {
    let mut out = Vec::new();
    let closed = tokio::time::timeout(within, stream.read_to_end(&mut out)).await.is_ok();
    (String::from_utf8_lossy(&out).into_owned(), closed)
}

#[tokio::test]
async fn headers_sent_too_slowly_close_the_connection() {
    let (addr, _stop, _dir) = server(limits()).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n").await.unwrap();
    // ...and never the blank line that ends the headers.
    let (answer, closed) = read_until_closed(&mut s, Duration::from_secs(10)).await;
    assert!(closed, "the connection is still open after 10 s");
    assert!(started.elapsed() < Duration::from_secs(5), "closed only after {:?}", started.elapsed());
    assert!(!answer.contains("200 OK"), "{answer}");
}

#[tokio::test]
async fn a_body_sent_too_slowly_is_answered_408() {
    let (addr, _stop, _dir) = server(limits()).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    let head = format!(
        "POST /api/v1/auth/register HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{{\"identity_number\":"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let (answer, _) = read_until_closed(&mut s, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(6), "answered after {:?}", started.elapsed());
}

#[tokio::test]
async fn many_slow_clients_do_not_starve_a_normal_one() {
    let limits = cqs_web::Limits { header_read: Duration::from_secs(5), ..limits() };
    let (addr, _stop, _dir) = server(limits).await;
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
        slow.push(s);
    }
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let (answer, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(closed && answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(2), "answered after {:?}", started.elapsed());
    drop(slow);
}

/// A workbook with one more part: `extra` bytes of zeros, which deflate to almost nothing.
fn workbook_with_padding(extra: usize) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    wb.add_worksheet().write_string(0, 0, "ma_thu_tuc").unwrap();
    let base = wb.save_to_buffer().unwrap();
    let mut src = zip::ZipArchive::new(std::io::Cursor::new(base)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..src.len() {
        out.raw_copy_file(src.by_index_raw(i).unwrap()).unwrap();
    }
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    out.start_file("xl/media/padding.bin", opts).unwrap();
    let chunk = vec![0u8; 1 << 20];
    let mut left = extra;
    while left > 0 {
        let n = left.min(chunk.len());
        out.write_all(&chunk[..n]).unwrap();
        left -= n;
    }
    out.finish().unwrap().into_inner()
}

#[test]
fn a_zip_bomb_posing_as_xlsx_is_refused_before_it_is_inflated() {
    let bomb = workbook_with_padding(8 << 20);
    assert!(bomb.len() < 64 << 10, "8 MiB of zeros deflate to {} bytes", bomb.len());
    let errors = cqs::import::read_xlsx_within(&bomb, 4 << 20).unwrap_err();
    assert!(errors[0].message.contains("giải nén"), "{:?}", errors[0].message);
    // The same workbook under the limit opens.
    let small = workbook_with_padding(1 << 20);
    assert!(cqs::import::read_xlsx_within(&small, 4 << 20).is_ok());
}

#[test]
fn an_entry_that_inflates_past_its_recorded_size_fails() {
    // A deflated sheet whose directory claims it is 10 bytes: the reader stops at the claim.
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    out.start_file("xl/worksheets/sheet1.xml", opts).unwrap();
    out.write_all(&vec![b' '; 1 << 20]).unwrap();
    let mut bytes = out.finish().unwrap().into_inner();
    let lie = 10u32.to_le_bytes();
    // Local header: uncompressed size at offset 22. Central directory entry: at offset 24.
    bytes[22..26].copy_from_slice(&lie);
    let cd = bytes.windows(4).rposition(|w| w == [0x50, 0x4b, 0x01, 0x02]).unwrap();
    bytes[cd + 24..cd + 28].copy_from_slice(&lie);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).unwrap();
    let mut entry = archive.by_index(0).unwrap();
    let mut inflated = Vec::new();
    assert!(std::io::Read::read_to_end(&mut entry, &mut inflated).is_err(), "read {} bytes", inflated.len());
    assert!(inflated.len() <= 11);
    assert!(cqs::import::read_xlsx(&bytes).is_err());
}

/// Sends a GET of /healthz on `s` (keeping the connection open) and reads the answer's head.
async fn health_on(s: &mut TcpStream) -> String {
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await.map_or(0, |r| r.unwrap());
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn at_its_connection_limit_the_server_waits_for_one_to_close_before_taking_another() {
    let limits = cqs_web::Limits { header_read: Duration::from_secs(30), connections: 2, ..limits() };
    let (addr, _stop, _dir) = server(limits).await;
    let mut first = TcpStream::connect(addr).await.unwrap();
    let mut second = TcpStream::connect(addr).await.unwrap();
    assert!(health_on(&mut first).await.starts_with("HTTP/1.1 200"));
    assert!(health_on(&mut second).await.starts_with("HTTP/1.1 200"));
    // The third waits in the kernel's queue: connected, but not answered.
    let mut third = TcpStream::connect(addr).await.unwrap();
    assert_eq!(health_on(&mut third).await, "", "a third connection was served past the limit");
    drop(first);
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf)).await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    assert!(health_on(&mut second).await.starts_with("HTTP/1.1 200"), "the second is still served");
}
