//! The attachments service: every file the platform keeps (uploads, signed results) goes through
//! one [`Attachments`] over an `object_store` backend, a local folder by default and an
//! S3-compatible bucket at scale ([`Attachments::new`] takes any `ObjectStore`; building an S3
//! one from configuration belongs to the deployment code).
//!
//! The guarantee is that a file is either referenced by a committed row or removed:
//! bytes are written under `pending/<key>` before the database transaction; after commit they
//! move to `objects/<fan-out>/<key>`. At start-up, [`Attachments::reconcile`] promotes pending
//! files that a committed row references and deletes the rest, so a crash between the two steps
//! leaves no orphan and loses no acknowledged file. Every read checks the SHA-256 recorded at
//! upload.

use std::path::PathBuf;
use std::sync::Arc;

use futures_util::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, WriteMultipart};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("lỗi đọc/ghi tệp: {0}")]
    Io(#[from] std::io::Error),
    #[error("lỗi kho tệp: {0}")]
    Store(#[from] object_store::Error),
    #[error("tệp {0} đã bị thay đổi (mã băm không khớp)")]
    HashMismatch(String),
    #[error("khóa lưu trữ không hợp lệ")]
    BadKey,
}

/// Files in an object store, with the pending/objects protocol described above.
#[derive(Debug, Clone)]
pub struct Attachments {
    store: Arc<dyn ObjectStore>,
    /// Set for a local folder: writes are fsynced there before they count.
    local_root: Option<PathBuf>,
    /// What readiness output calls it.
    kind: &'static str,
}

/// The pre-`object_store` name, kept for callers that only open a local folder.
pub type FileStore = Attachments;

/// A file written to pending storage, ready to be referenced by a row.
#[derive(Debug, Clone)]
pub struct PendingFile {
    pub key: String,
    pub sha256: String,
    pub size: u64,
}

/// Size of the parts of a streamed upload (S3 wants at least 5 MiB for all but the last).
const PART_SIZE: usize = 8 << 20;

pub fn valid_key(key: &str) -> bool {
    uuid::Uuid::parse_str(key).is_ok_and(|u| u.hyphenated().to_string() == key)
}

fn pending_path(key: &str) -> Path {
    Path::from(format!("pending/{key}"))
}

fn object_path(key: &str) -> Path {
    // Fan out by the random tail of the v7 uuid, not its time-ordered head.
    Path::from(format!("objects/{}/{key}", &key[key.len() - 2..]))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Attachments {
    /// A local folder (the default deployment): `<root>/pending` and `<root>/objects`.
    pub fn open(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(root.join("pending"))?;
        std::fs::create_dir_all(root.join("objects"))?;
        let fs = LocalFileSystem::new_with_prefix(&root).map_err(std::io::Error::other)?;
        Ok(Self { store: Arc::new(fs), local_root: Some(root), kind: "local" })
    }

    /// Any object store (S3-compatible, in memory for tests). Its own durability applies: an
    /// S3 PUT is durable once acknowledged.
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self::named(store, "object-store")
    }

    /// [`Attachments::new`] with the name readiness output gives it (`s3`).
    pub fn named(store: Arc<dyn ObjectStore>, kind: &'static str) -> Self {
        Self { store, local_root: None, kind }
    }

    /// Makes a local write durable: the file, then its folder.
    fn sync_local(&self, location: &Path) -> Result<(), FileError> {
        if let Some(root) = &self.local_root {
            let file = root.join(location.as_ref());
            std::fs::File::open(&file)?.sync_all()?;
            if let Some(dir) = file.parent() {
                std::fs::File::open(dir)?.sync_all()?;
            }
        }
        Ok(())
    }

    /// Writes bytes durably under a new key in pending storage.
    pub async fn put_pending(&self, bytes: Vec<u8>) -> Result<PendingFile, FileError> {
        let key = uuid::Uuid::now_v7().hyphenated().to_string();
        let sha256 = sha256_hex(&bytes);
        let size = bytes.len() as u64;
        let location = pending_path(&key);
        let opts = PutOptions { mode: PutMode::Create, ..Default::default() };
        self.store.put_opts(&location, PutPayload::from(bytes), opts).await?;
        let this = self.clone();
        let loc = location.clone();
        tokio::task::spawn_blocking(move || this.sync_local(&loc)).await.map_err(std::io::Error::other)??;
        Ok(PendingFile { key, sha256, size })
    }

    /// Streams a file into pending storage in parts (never the whole file in memory), under
    /// `key` (a restore keeps the keys its rows name) or a new key. With `expect_sha256`, a file
    /// whose bytes do not match is not kept.
    pub async fn put_pending_reader<R>(
        &self,
        key: Option<&str>,
        mut reader: R,
        expect_sha256: Option<&str>,
    ) -> Result<PendingFile, FileError>
    where
        R: tokio::io::AsyncRead + Unpin + Send,
    {
        use tokio::io::AsyncReadExt;
        let key = match key {
            Some(k) if valid_key(k) => k.to_owned(),
            Some(_) => return Err(FileError::BadKey),
            None => uuid::Uuid::now_v7().hyphenated().to_string(),
        };
        let location = pending_path(&key);
        let upload = self.store.put_multipart(&location).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = match reader.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(e.into());
                }
            };
            hasher.update(&buf[..n]);
            size += n as u64;
            // At most two parts in flight: memory stays bounded by the part size.
            writer.wait_for_capacity(2).await?;
            writer.write(&buf[..n]);
        }
        let sha256 = hex::encode(hasher.finalize());
        if expect_sha256.is_some_and(|want| want != sha256) {
            writer.abort().await?;
            return Err(FileError::HashMismatch(key));
        }
        writer.finish().await?;
        let this = self.clone();
        let loc = location.clone();
        tokio::task::spawn_blocking(move || this.sync_local(&loc)).await.map_err(std::io::Error::other)??;
        Ok(PendingFile { key, sha256, size })
    }

    /// Streams a stored file into `out`, checking it against the hash recorded at upload once
    /// the last byte is written (a mismatch is an error: the copy must not be trusted).
    pub async fn copy_checked<W>(&self, key: &str, sha256: &str, out: &mut W) -> Result<u64, FileError>
    where
        W: tokio::io::AsyncWrite + Unpin + Send,
    {
        use tokio::io::AsyncWriteExt;
        if !valid_key(key) {
            return Err(FileError::BadKey);
        }
        let got = match self.store.get(&object_path(key)).await {
            Ok(g) => g,
            Err(object_store::Error::NotFound { .. }) => self.store.get(&pending_path(key)).await?,
            Err(e) => return Err(e.into()),
        };
        let mut stream = got.into_stream();
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        while let Some(chunk) = stream.try_next().await? {
            hasher.update(&chunk);
            size += chunk.len() as u64;
            out.write_all(&chunk).await?;
        }
        out.flush().await?;
        if hex::encode(hasher.finalize()) != sha256 {
            return Err(FileError::HashMismatch(key.to_owned()));
        }
        Ok(size)
    }

    /// Writes several files; if one fails, the ones already written are removed again.
    pub async fn put_all_pending(&self, files: Vec<Vec<u8>>) -> Result<Vec<PendingFile>, FileError> {
        let mut done: Vec<PendingFile> = Vec::with_capacity(files.len());
        for bytes in files {
            match self.put_pending(bytes).await {
                Ok(p) => done.push(p),
                Err(e) => {
                    for p in &done {
                        self.discard(&p.key).await;
                    }
                    return Err(e);
                }
            }
        }
        Ok(done)
    }

    /// Removes pending files whose transaction failed or was not needed.
    pub async fn discard_all(&self, files: &[PendingFile]) {
        for p in files {
            self.discard(&p.key).await;
        }
    }

    /// Moves a file whose row is committed into permanent storage.
    pub async fn promote(&self, key: &str) -> Result<(), FileError> {
        if !valid_key(key) {
            return Err(FileError::BadKey);
        }
        let to = object_path(key);
        self.store.rename(&pending_path(key), &to).await?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.sync_local(&to)).await.map_err(std::io::Error::other)??;
        Ok(())
    }

    /// Removes a pending file whose transaction failed.
    pub async fn discard(&self, key: &str) {
        if valid_key(key)
            && let Err(e) = self.store.delete(&pending_path(key)).await
            && !matches!(e, object_store::Error::NotFound { .. })
        {
            // The start-up sweep removes it later.
            tracing::warn!(error = %e, "discarding a pending file failed");
        }
    }

    /// Removes a file whose row is gone (a draft's file, once the draft is submitted or
    /// purged), wherever it is.
    pub async fn delete(&self, key: &str) {
        if !valid_key(key) {
            return;
        }
        for location in [object_path(key), pending_path(key)] {
            if let Err(e) = self.store.delete(&location).await
                && !matches!(e, object_store::Error::NotFound { .. })
            {
                tracing::warn!(error = %e, "deleting a file failed");
            }
        }
    }

    /// Reads a stored file and checks it against the hash recorded at upload.
    pub async fn read_checked(&self, key: &str, sha256: &str) -> Result<Vec<u8>, FileError> {
        if !valid_key(key) {
            return Err(FileError::BadKey);
        }
        let got = match self.store.get(&object_path(key)).await {
            Ok(g) => g,
            // Committed but not yet promoted (the node stopped in between).
            Err(object_store::Error::NotFound { .. }) => self.store.get(&pending_path(key)).await?,
            Err(e) => return Err(e.into()),
        };
        let bytes = got.bytes().await?.to_vec();
        if sha256_hex(&bytes) != sha256 {
            return Err(FileError::HashMismatch(key.to_owned()));
        }
        Ok(bytes)
    }

    /// `local` for a folder, `s3` for a bucket, `object-store` otherwise (readiness output).
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Whether files can be written now (for readiness checks): a small probe is written and
    /// removed under `readiness/`, outside the pending and object areas.
    pub async fn check(&self) -> Result<(), FileError> {
        let probe = Path::from(format!("readiness/{}", uuid::Uuid::new_v4().simple()));
        self.store.put(&probe, PutPayload::from_static(b"ok")).await?;
        self.store.delete(&probe).await?;
        Ok(())
    }

    /// Keys of pending files, for the start-up sweep.
    pub async fn pending_keys(&self) -> Result<Vec<String>, FileError> {
        let prefix = Path::from("pending");
        let metas: Vec<_> = self.store.list(Some(&prefix)).try_collect().await?;
        Ok(metas.into_iter().filter_map(|m| m.location.filename().map(str::to_owned)).collect())
    }

    /// Removes what a write killed half-way left in a local `pending/` folder: the object
    /// store writes `<key>#<n>` and renames it into place, and its listings skip such names, so
    /// without this they would stay forever. Run at start-up only, before any write.
    fn remove_staging_leftovers(&self) -> Result<usize, FileError> {
        let Some(root) = &self.local_root else {
            return Ok(0);
        };
        let mut removed = 0;
        for entry in std::fs::read_dir(root.join("pending"))? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().contains('#') {
                std::fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Settles every pending file: promoted when `referenced(key)` says a committed row uses it,
    /// deleted otherwise. Returns (promoted, deleted). For storage no other process writes to
    /// (a node's own folder, at start-up).
    pub async fn reconcile<F, Fut>(&self, referenced: F) -> Result<(usize, usize), FileError>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        self.reconcile_older_than(std::time::Duration::ZERO, referenced).await
    }

    /// [`Attachments::reconcile`] for pending files last written more than `min_age` ago. On
    /// storage several nodes share, a younger pending file may belong to a request another node
    /// is still handling: deleting it would lose the file its row is about to name. A request
    /// lives no longer than the request timeout, so that (plus a margin) is the age to pass.
    pub async fn reconcile_older_than<F, Fut>(
        &self,
        min_age: std::time::Duration,
        referenced: F,
    ) -> Result<(usize, usize), FileError>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let (mut promoted, mut deleted) = (0, self.remove_staging_leftovers()?);
        let settled_before =
            chrono::Duration::from_std(min_age).ok().and_then(|age| chrono::Utc::now().checked_sub_signed(age));
        let prefix = Path::from("pending");
        let metas: Vec<_> = self.store.list(Some(&prefix)).try_collect().await?;
        for meta in
            metas.into_iter().filter(|m| min_age.is_zero() || settled_before.is_some_and(|t| m.last_modified < t))
        {
            let Some(key) = meta.location.filename().map(str::to_owned) else { continue };
            if valid_key(&key) && referenced(key.clone()).await {
                self.promote(&key).await?;
                promoted += 1;
            } else {
                self.store.delete(&pending_path(&key)).await?;
                deleted += 1;
            }
        }
        Ok((promoted, deleted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn settle(fs: &Attachments) {
        let a = fs.put_pending(b"%PDF-1.7 a".to_vec()).await.unwrap();
        let b = fs.put_pending(b"%PDF-1.7 b".to_vec()).await.unwrap();
        let c = fs.put_pending(b"%PDF-1.7 c".to_vec()).await.unwrap();
        fs.promote(&a.key).await.unwrap();
        assert_eq!(fs.read_checked(&a.key, &a.sha256).await.unwrap(), b"%PDF-1.7 a");
        assert!(matches!(fs.read_checked(&a.key, &b.sha256).await, Err(FileError::HashMismatch(_))));
        // b is committed but was not promoted before a crash; c was never committed.
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
        assert_eq!(fs.read_checked(&b.key, &b.sha256).await.unwrap(), b"%PDF-1.7 b");
        assert!(fs.read_checked(&c.key, &c.sha256).await.is_err());
        assert!(fs.pending_keys().await.unwrap().is_empty());
        assert!(matches!(fs.read_checked("../../etc/passwd", "x").await, Err(FileError::BadKey)));
        let d = fs.put_pending(b"x".to_vec()).await.unwrap();
        fs.discard(&d.key).await;
        assert!(fs.pending_keys().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn local_folder_pending_promote_read_and_reconcile() {
        let dir = tempfile::tempdir().unwrap();
        let fs = Attachments::open(dir.path()).unwrap();
        settle(&fs).await;
        // The layout on disk is the one operators back up.
        let x = fs.put_pending(b"on disk".to_vec()).await.unwrap();
        assert!(dir.path().join("pending").join(&x.key).exists());
        fs.promote(&x.key).await.unwrap();
        assert!(dir.path().join("objects").join(&x.key[x.key.len() - 2..]).join(&x.key).exists());
        // A write killed half-way leaves the object store's staging file, which listings skip:
        // reconciliation removes it (found by the crash run).
        let staging = dir.path().join("pending").join(format!("{}#1", uuid::Uuid::now_v7()));
        std::fs::write(&staging, b"half a file").unwrap();
        assert_eq!(fs.reconcile(|_| async { false }).await.unwrap(), (0, 1));
        assert!(!staging.exists());
        // Tampering on disk is caught on read.
        std::fs::write(dir.path().join("objects").join(&x.key[x.key.len() - 2..]).join(&x.key), b"changed").unwrap();
        assert!(matches!(fs.read_checked(&x.key, &x.sha256).await, Err(FileError::HashMismatch(_))));
    }

    #[tokio::test]
    async fn any_object_store_behaves_the_same() {
        settle(&Attachments::new(Arc::new(object_store::memory::InMemory::new()))).await;
    }

    #[tokio::test]
    async fn young_pending_files_on_shared_storage_are_left_to_their_request() {
        let fs = Attachments::new(Arc::new(object_store::memory::InMemory::new()));
        let young = fs.put_pending(b"%PDF-1.7 in flight".to_vec()).await.unwrap();
        let none = |_: String| async { false };
        let grace = std::time::Duration::from_secs(60);
        assert_eq!(fs.reconcile_older_than(grace, none).await.unwrap(), (0, 0));
        assert_eq!(fs.pending_keys().await.unwrap(), vec![young.key.clone()]);
        assert_eq!(fs.reconcile_older_than(std::time::Duration::ZERO, none).await.unwrap(), (0, 1));
        assert!(fs.pending_keys().await.unwrap().is_empty());
    }
}
