//! Local file storage for attachments, with the guarantee that a file is either referenced by a
//! committed row or removed. Bytes are written and fsynced under `pending/` before the database
//! transaction; after commit they move to `objects/`. On start-up, [`FileStore::reconcile`]
//! promotes pending files that a committed row references and deletes the rest, so a crash
//! between the two steps leaves no orphan and loses no acknowledged file.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("lỗi đọc/ghi tệp: {0}")]
    Io(#[from] std::io::Error),
    #[error("tệp {0} đã bị thay đổi (mã băm không khớp)")]
    HashMismatch(String),
    #[error("khóa lưu trữ không hợp lệ")]
    BadKey,
}

#[derive(Debug, Clone)]
pub struct FileStore {
    root: PathBuf,
}

/// A file written to pending storage, ready to be referenced by a row.
#[derive(Debug, Clone)]
pub struct PendingFile {
    pub key: String,
    pub sha256: String,
    pub size: u64,
}

fn valid_key(key: &str) -> bool {
    uuid::Uuid::parse_str(key).is_ok_and(|u| u.hyphenated().to_string() == key)
}

impl FileStore {
    pub fn open(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(root.join("pending"))?;
        std::fs::create_dir_all(root.join("objects"))?;
        Ok(Self { root })
    }

    fn pending_path(&self, key: &str) -> PathBuf {
        self.root.join("pending").join(key)
    }

    fn object_path(&self, key: &str) -> PathBuf {
        // Fan out by the random tail of the v7 uuid, not its time-ordered head.
        self.root.join("objects").join(&key[key.len() - 2..]).join(key)
    }

    /// Writes bytes durably under a new key in pending storage.
    pub fn put_pending(&self, bytes: &[u8]) -> Result<PendingFile, FileError> {
        let key = uuid::Uuid::now_v7().hyphenated().to_string();
        let path = self.pending_path(&key);
        let mut f = std::fs::File::create_new(&path)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        sync_dir(&self.root.join("pending"))?;
        Ok(PendingFile { key, sha256: hex::encode(Sha256::digest(bytes)), size: bytes.len() as u64 })
    }

    /// Moves a file whose row is committed into permanent storage.
    pub fn promote(&self, key: &str) -> Result<(), FileError> {
        if !valid_key(key) {
            return Err(FileError::BadKey);
        }
        let to = self.object_path(key);
        let dir = to.parent().expect("object path has a parent");
        std::fs::create_dir_all(dir)?;
        std::fs::rename(self.pending_path(key), &to)?;
        sync_dir(dir)?;
        Ok(())
    }

    /// Removes a pending file whose transaction failed.
    pub fn discard(&self, key: &str) {
        if valid_key(key) {
            let _ = std::fs::remove_file(self.pending_path(key));
        }
    }

    /// Reads a stored file and checks it against the hash recorded at upload.
    pub fn read_checked(&self, key: &str, sha256: &str) -> Result<Vec<u8>, FileError> {
        if !valid_key(key) {
            return Err(FileError::BadKey);
        }
        let bytes = match std::fs::read(self.object_path(key)) {
            Ok(b) => b,
            // Committed but not yet promoted (the node stopped in between).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::read(self.pending_path(key))?,
            Err(e) => return Err(e.into()),
        };
        if hex::encode(Sha256::digest(&bytes)) != sha256 {
            return Err(FileError::HashMismatch(key.to_owned()));
        }
        Ok(bytes)
    }

    /// Keys of pending files, for the start-up sweep.
    pub fn pending_keys(&self) -> Result<Vec<String>, FileError> {
        let mut keys = Vec::new();
        for e in std::fs::read_dir(self.root.join("pending"))? {
            let name = e?.file_name().to_string_lossy().into_owned();
            keys.push(name);
        }
        Ok(keys)
    }

    /// Settles every pending file: promoted when `referenced(key)` says a committed row uses it,
    /// deleted otherwise. Returns (promoted, deleted).
    pub async fn reconcile<F, Fut>(&self, referenced: F) -> Result<(usize, usize), FileError>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let (mut promoted, mut deleted) = (0, 0);
        for key in self.pending_keys()? {
            if valid_key(&key) && referenced(key.clone()).await {
                self.promote(&key)?;
                promoted += 1;
            } else {
                std::fs::remove_file(self.pending_path(&key))?;
                deleted += 1;
            }
        }
        Ok((promoted, deleted))
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pending_promote_read_and_reconcile() {
        let dir = tempfile::tempdir().unwrap();
        let fs = FileStore::open(dir.path()).unwrap();
        let a = fs.put_pending(b"%PDF-1.7 a").unwrap();
        let b = fs.put_pending(b"%PDF-1.7 b").unwrap();
        let c = fs.put_pending(b"%PDF-1.7 c").unwrap();
        fs.promote(&a.key).unwrap();
        assert_eq!(fs.read_checked(&a.key, &a.sha256).unwrap(), b"%PDF-1.7 a");
        assert!(matches!(fs.read_checked(&a.key, &b.sha256), Err(FileError::HashMismatch(_))));
        // b is committed but was not promoted before a crash; c was never committed.
        let keep = b.key.clone();
        let (p, d) = fs
            .reconcile(|k| {
                let keep = keep.clone();
                async move { k == keep }
            })
            .await
            .unwrap();
        assert_eq!((p, d), (1, 1));
        assert_eq!(fs.read_checked(&b.key, &b.sha256).unwrap(), b"%PDF-1.7 b");
        assert!(fs.read_checked(&c.key, &c.sha256).is_err());
        assert!(fs.pending_keys().unwrap().is_empty());
        assert!(matches!(fs.read_checked("../../etc/passwd", "x"), Err(FileError::BadKey)));
    }
}
