//! Backups of a whole installation: the database as a logical snapshot ([`crate::snapshot`])
//! and every file a row refers to, with its SHA-256, in one folder:
//!
//! ```text
//! <dir>/manifest.json        format, migrations, tables (columns, rows, SHA-256), files
//! <dir>/tables/<table>.jsonl one JSON array per row
//! <dir>/files/<key>          each stored file, named by its storage key
//! ```
//!
//! The manifest is written last, so a folder without one is an unfinished backup. The files are
//! found from the snapshot itself: every table with a `storage_key` and a `sha256` column names
//! files (attachments, issued results, personal documents), so a later table of files is backed
//! up too. Files are never changed once stored, so copying them after the database read still
//! gives the files of that read. Each is checked against its hash on the way out and on the way
//! in.
//!
//! A restore checks everything it can before it writes: the manifest, that the target store is
//! empty, every file's hash. Files go to pending storage, the tables load in one transaction,
//! then the files are promoted; a failure discards the pending files (and a crash leaves them to
//! the start-up reconciliation, which keeps exactly those a committed row names).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::Store;
use crate::files::{Attachments, FileError, PendingFile};
use crate::snapshot::{SnapshotError, SnapshotManifest, TableReader};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    File(#[from] FileError),
    #[error("lỗi đọc/ghi tệp sao lưu: {0}")]
    Io(#[from] std::io::Error),
    #[error("bản sao lưu không hợp lệ: {0}")]
    Format(String),
}

/// A stored file in a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupFile {
    pub key: String,
    pub sha256: String,
    pub size: u64,
}

/// `manifest.json`: the snapshot's manifest and the files.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupManifest {
    #[serde(flatten)]
    pub snapshot: SnapshotManifest,
    pub files: Vec<BackupFile>,
}

pub const MANIFEST: &str = "manifest.json";

/// Storage keys and hashes named by the snapshot's rows, by key.
fn referenced_files(dir: &Path, manifest: &SnapshotManifest) -> Result<BTreeMap<String, String>, BackupError> {
    let mut files = BTreeMap::new();
    for t in &manifest.tables {
        let key = t.columns.iter().position(|c| c.name == "storage_key");
        let sha = t.columns.iter().position(|c| c.name == "sha256");
        let (Some(key), Some(sha)) = (key, sha) else { continue };
        let mut reader = TableReader::open(dir, &t.name)?;
        while let Some(row) = reader.next_row(t.columns.len())? {
            let (Some(k), Some(h)) = (row[key].as_str(), row[sha].as_str()) else { continue };
            if let Some(other) = files.insert(k.to_owned(), h.to_owned())
                && other != h
            {
                return Err(BackupError::Format(format!("tệp {k} được ghi với hai mã băm khác nhau")));
            }
        }
    }
    Ok(files)
}

/// Writes a backup of `store` and `files` into `dir` (created; it must be empty or absent).
pub async fn backup(store: &dyn Store, files: &Attachments, dir: &Path) -> Result<BackupManifest, BackupError> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        return Err(BackupError::Format(format!(
            "thư mục {} đã có dữ liệu; hãy chọn một thư mục trống",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir.join("files"))?;
    let snapshot = store.export_snapshot(dir).await?;
    let mut copied = Vec::new();
    for (key, sha256) in referenced_files(dir, &snapshot)? {
        if !crate::files::valid_key(&key) {
            return Err(BackupError::Format(format!("khóa lưu trữ không hợp lệ: {key}")));
        }
        let path = dir.join("files").join(&key);
        let mut out = tokio::fs::File::create(&path).await?;
        let size = files.copy_checked(&key, &sha256, &mut out).await?;
        out.sync_all().await?;
        copied.push(BackupFile { key, sha256, size });
    }
    let manifest = BackupManifest { snapshot, files: copied };
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::Format(e.to_string()))?;
    let tmp = dir.join("manifest.json.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, dir.join(MANIFEST))?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(manifest)
}

/// Reads and checks a backup's manifest.
pub fn read_manifest(dir: &Path) -> Result<BackupManifest, BackupError> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read(&path).map_err(|e| {
        BackupError::Format(format!(
            "không đọc được {} ({e}); bản sao lưu chưa hoàn tất hoặc sai thư mục",
            path.display()
        ))
    })?;
    serde_json::from_slice(&text).map_err(|e| BackupError::Format(format!("{MANIFEST}: {e}")))
}

/// What a restore loaded.
#[derive(Debug, Clone)]
pub struct RestoreSummary {
    pub tables: usize,
    pub rows: u64,
    pub files: usize,
}

/// Loads the backup in `dir` into an empty `store` and its `files`.
pub async fn restore(store: &dyn Store, files: &Attachments, dir: &Path) -> Result<RestoreSummary, BackupError> {
    let manifest = read_manifest(dir)?;
    let busy = store.non_empty_tables().await?;
    if !busy.is_empty() {
        return Err(SnapshotError::NotEmpty(busy).into());
    }
    // Every file the rows name must be in the backup with the same hash.
    let named = referenced_files(dir, &manifest.snapshot)?;
    let listed: BTreeMap<&str, &BackupFile> = manifest.files.iter().map(|f| (f.key.as_str(), f)).collect();
    for (key, sha) in &named {
        match listed.get(key.as_str()) {
            Some(f) if f.sha256 == *sha => {}
            _ => return Err(BackupError::Format(format!("thiếu tệp {key} hoặc mã băm không khớp"))),
        }
    }
    let mut pending: Vec<PendingFile> = Vec::with_capacity(manifest.files.len());
    let loaded = async {
        for f in &manifest.files {
            let input = tokio::fs::File::open(dir.join("files").join(&f.key)).await?;
            pending.push(files.put_pending_reader(Some(&f.key), input, Some(&f.sha256)).await?);
        }
        store.import_snapshot(dir, &manifest.snapshot).await?;
        Ok::<_, BackupError>(())
    }
    .await;
    if let Err(e) = loaded {
        files.discard_all(&pending).await;
        return Err(e);
    }
    for p in &pending {
        files.promote(&p.key).await?;
    }
    Ok(RestoreSummary {
        tables: manifest.snapshot.tables.len(),
        rows: manifest.snapshot.tables.iter().map(|t| t.rows).sum(),
        files: pending.len(),
    })
}
