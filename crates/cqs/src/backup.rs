//! `cqs backup` and `cqs restore`: the folder layout is `cqs_store::backup`'s; a path ending in
//! `.zip` is one file holding that folder (written through a temporary folder next to it, since
//! the manifest comes last and names the hashes of what went before).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use cqs_store::Store;
use cqs_store::backup::{self, BackupManifest, RestoreSummary};
use cqs_store::files::Attachments;

fn is_zip(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

/// A working folder beside `path`, removed when dropped.
fn work_dir_beside(path: &Path) -> anyhow::Result<tempfile::TempDir> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    Ok(tempfile::Builder::new().prefix(".cqs-backup-").tempdir_in(parent)?)
}

/// Backs up into a folder, or into a `.zip` file.
pub async fn run_backup(store: &dyn Store, files: &Attachments, target: &Path) -> anyhow::Result<BackupManifest> {
    if !is_zip(target) {
        return Ok(backup::backup(store, files, target).await?);
    }
    if target.exists() {
        anyhow::bail!("tệp {} đã tồn tại; hãy chọn tên khác", target.display());
    }
    let work = work_dir_beside(target)?;
    let folder = work.path().join("backup");
    let manifest = backup::backup(store, files, &folder).await?;
    let partial = target.with_extension("zip.partial");
    let out = std::fs::File::create(&partial)?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(out));
    let mut names = Vec::new();
    for sub in ["tables", "files"] {
        let mut entries: Vec<PathBuf> =
            std::fs::read_dir(folder.join(sub))?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
        entries.sort();
        names.extend(
            entries.into_iter().map(|p| (format!("{sub}/{}", p.file_name().unwrap_or_default().to_string_lossy()), p)),
        );
    }
    names.push((backup::MANIFEST.to_owned(), folder.join(backup::MANIFEST)));
    for (name, path) in names {
        // Files are stored as they are (PDFs and images are compressed already); tables deflate well.
        let method = if name.starts_with("tables/") || name == backup::MANIFEST {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        let opts = zip::write::SimpleFileOptions::default().compression_method(method).large_file(true);
        zip.start_file(name, opts)?;
        std::io::copy(&mut std::fs::File::open(&path)?, &mut zip)?;
    }
    let mut inner = zip.finish()?;
    inner.flush()?;
    inner.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&partial, target)?;
    Ok(manifest)
}

/// Restores from a folder, or from a `.zip` file made by [`run_backup`].
pub async fn run_restore(store: &dyn Store, files: &Attachments, source: &Path) -> anyhow::Result<RestoreSummary> {
    if !is_zip(source) {
        return Ok(backup::restore(store, files, source).await?);
    }
    let work = work_dir_beside(source)?;
    let folder = work.path().join("backup");
    std::fs::create_dir_all(folder.join("tables"))?;
    std::fs::create_dir_all(folder.join("files"))?;
    let mut archive = zip::ZipArchive::new(std::fs::File::open(source)?)?;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i)?;
        let name = entry.name()?.into_owned();
        // Only the three kinds of entries a backup has, with plain names.
        let plain =
            |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) && s != "..";
        let ok = name == backup::MANIFEST
            || name.strip_prefix("tables/").is_some_and(plain)
            || name.strip_prefix("files/").is_some_and(plain);
        if !ok {
            anyhow::bail!("tệp sao lưu có mục lạ: {name:?}");
        }
        let mut out = std::fs::File::create(folder.join(&name))?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = entry.read(&mut buf)?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n])?;
        }
    }
    Ok(backup::restore(store, files, &folder).await?)
}
