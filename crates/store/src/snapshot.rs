//! Logical snapshots of the whole database, for `cqs backup` and `cqs restore`: every table of
//! the schema, read in one consistent transaction while the platform runs, written as JSON lines
//! (one file per table) with a manifest naming the format version, the migrations applied and
//! each table's columns, row count and SHA-256. A snapshot of either backend loads into an empty
//! store of either backend (SQLite to PostgreSQL is how a commune moves up).
//!
//! The tables and columns come from the database catalogue, never from a list in the code, so a
//! table added by a later migration is in every snapshot without anyone remembering to add it.
//!
//! Values are written by their logical kind, the same on both backends: ids as hyphenated uuids,
//! instants as RFC 3339 in UTC, dates as `YYYY-MM-DD`, JSON columns as JSON, bytes as hex. The
//! kinds come from PostgreSQL's catalogue; SQLite's declared types (`BLOB` holds both uuids and
//! bytes, `TEXT` holds instants, dates and JSON) cannot tell them apart, so on SQLite they come
//! from the PostgreSQL flavour of the migrations, which declares the same tables and columns.
//!
//! A restore checks the manifest and every table file's hash, refuses a store that holds data,
//! inserts the tables parents first in one transaction, compares each table's row count with the
//! manifest before committing, and moves PostgreSQL's id sequences past the restored ids.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The manifest's `format` value.
pub const FORMAT: &str = "cqs-snapshot";
/// The version of the file layout and value encoding; a restore refuses others.
pub const FORMAT_VERSION: u32 = 1;
/// Tables a freshly opened store already has rows in (written by a migration or at start-up):
/// a restore replaces their rows instead of calling the store non-empty.
pub const SEEDED_TABLES: &[&str] = &["settings", "exchange_registry_version"];

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(transparent)]
    Store(#[from] crate::StoreError),
    #[error("lỗi đọc/ghi tệp sao lưu: {0}")]
    Io(#[from] std::io::Error),
    #[error("bản sao lưu không hợp lệ: {0}")]
    Format(String),
    #[error("cơ sở dữ liệu đích không trống (các bảng có dữ liệu: {}); chỉ khôi phục vào kho trống", .0.join(", "))]
    NotEmpty(Vec<String>),
    #[error(
        "bản sao lưu được tạo với lược đồ khác (bản sao lưu: {snapshot}; phần mềm này: {target}); hãy khôi phục bằng phiên bản cqs đã tạo nó"
    )]
    SchemaMismatch { snapshot: String, target: String },
}

impl From<sqlx::Error> for SnapshotError {
    fn from(e: sqlx::Error) -> Self {
        SnapshotError::Store(e.into())
    }
}

pub type SnapshotResult<T> = std::result::Result<T, SnapshotError>;

/// How a column's values are written in a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    Uuid,
    Timestamp,
    Date,
    Json,
    Bool,
    Int,
    Float,
    Text,
    Bytes,
}

impl ColumnKind {
    /// From PostgreSQL's type name (`information_schema.columns.data_type`, or a type as the
    /// migrations write it).
    pub fn from_postgres(ty: &str) -> Option<Self> {
        Some(match ty.to_ascii_lowercase().as_str() {
            "uuid" => Self::Uuid,
            "timestamp with time zone" | "timestamptz" => Self::Timestamp,
            "date" => Self::Date,
            "jsonb" | "json" => Self::Json,
            "boolean" | "bool" => Self::Bool,
            "integer" | "int" | "int4" | "bigint" | "int8" | "smallint" | "int2" | "bigserial" | "serial" => Self::Int,
            "double precision" | "real" | "float8" | "float4" => Self::Float,
            "text" | "character varying" | "varchar" => Self::Text,
            "bytea" => Self::Bytes,
            _ => return None,
        })
    }

    /// Whether SQLite's declared type can hold this kind as sqlx writes it.
    pub(crate) fn fits_sqlite(self, declared: &str) -> bool {
        let declared = declared.to_ascii_uppercase();
        match self {
            Self::Uuid | Self::Bytes => declared == "BLOB",
            Self::Timestamp | Self::Date | Self::Json | Self::Text => declared == "TEXT",
            Self::Bool | Self::Int => matches!(declared.as_str(), "INTEGER" | "BIGINT" | "BOOLEAN"),
            Self::Float => matches!(declared.as_str(), "REAL" | "DOUBLE"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub kind: ColumnKind,
}

/// A foreign key of one column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub column: String,
    pub table: String,
    pub to_column: String,
}

/// A table as the catalogue describes it.
#[derive(Debug, Clone)]
pub struct TableInfo {
    pub name: String,
    pub columns: Vec<Column>,
    pub primary_key: Vec<String>,
    pub references: Vec<Reference>,
}

/// One table of a snapshot: `tables/<name>.jsonl`, one JSON array of values per row, in the
/// order of `columns`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableSnapshot {
    pub name: String,
    pub columns: Vec<Column>,
    pub rows: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotManifest {
    pub format: String,
    pub format_version: u32,
    /// `sqlite` or `postgres`: where it was taken (informational; it loads into either).
    pub backend: String,
    pub taken_at: DateTime<Utc>,
    /// Versions of the migrations applied to the source, which the target must match.
    pub migrations: Vec<i64>,
    /// Parents before children.
    pub tables: Vec<TableSnapshot>,
}

/// The snapshot part of the store, implemented by both backends (see [`crate::Store`]).
#[async_trait::async_trait]
pub trait Snapshots: Send + Sync {
    /// Every table of the schema from the database catalogue (without sqlx's migration
    /// bookkeeping), parents before children.
    async fn schema(&self) -> SnapshotResult<Vec<TableInfo>>;
    /// Versions of the migrations applied.
    async fn applied_migrations(&self) -> SnapshotResult<Vec<i64>>;
    /// Tables holding rows, leaving out [`SEEDED_TABLES`].
    async fn non_empty_tables(&self) -> SnapshotResult<Vec<String>>;
    /// Writes every table under `dir/tables/` from one consistent read (the platform may keep
    /// running) and returns the manifest, which the caller writes once the rest is in place.
    async fn export_snapshot(&self, dir: &Path) -> SnapshotResult<SnapshotManifest>;
    /// Loads a snapshot written by [`Snapshots::export_snapshot`] (of either backend) into this
    /// store, which must be empty: all tables in one transaction, or nothing.
    async fn import_snapshot(&self, dir: &Path, manifest: &SnapshotManifest) -> SnapshotResult<()>;
}

/// Column kinds declared by the PostgreSQL flavour of the migrations, by table and column (the
/// SQLite backend's source of kinds; see the module documentation).
pub(crate) fn postgres_declared_kinds() -> HashMap<String, HashMap<String, ColumnKind>> {
    let migrator = sqlx::migrate!("./migrations/postgres");
    let mut tables: HashMap<String, HashMap<String, ColumnKind>> = HashMap::new();
    for m in migrator.iter() {
        let mut current: Option<String> = None;
        for line in m.sql.as_str().lines() {
            let line = line.split("--").next().unwrap_or_default().trim();
            let words: Vec<&str> = line.split_whitespace().collect();
            let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
            if upper.len() >= 3 && upper[0] == "CREATE" && upper[1] == "TABLE" {
                let name = words[2].trim_end_matches('(').to_owned();
                tables.entry(name.clone()).or_default();
                current = Some(name);
                continue;
            }
            if upper.len() >= 6
                && upper[0] == "ALTER"
                && upper[1] == "TABLE"
                && upper[3] == "ADD"
                && upper[4] == "COLUMN"
            {
                if let Some(kind) = words.get(6).and_then(|t| ColumnKind::from_postgres(t.trim_end_matches([',', ';'])))
                {
                    tables.entry(words[2].to_owned()).or_default().insert(words[5].to_owned(), kind);
                }
                continue;
            }
            if let Some(table) = &current {
                if line.starts_with(')') {
                    current = None;
                    continue;
                }
                let is_column = words.len() >= 2
                    && words[0].bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                if is_column {
                    let ty = words[1].trim_end_matches(',');
                    let ty = match (ty.to_ascii_lowercase().as_str(), words.get(2)) {
                        ("double", Some(_)) => "double precision".to_owned(),
                        ("timestamp", Some(w)) if w.eq_ignore_ascii_case("with") => "timestamptz".to_owned(),
                        (other, _) => other.to_owned(),
                    };
                    if let Some(kind) = ColumnKind::from_postgres(&ty) {
                        tables.entry(table.clone()).or_default().insert(words[0].to_owned(), kind);
                    }
                }
            }
        }
    }
    tables
}

/// Orders tables parents first (by their foreign keys), by name among equals. A cycle between
/// tables cannot be loaded row by row and is reported.
pub(crate) fn dependency_order(tables: Vec<TableInfo>) -> SnapshotResult<Vec<TableInfo>> {
    let names: BTreeSet<String> = tables.iter().map(|t| t.name.clone()).collect();
    let mut waiting: BTreeMap<String, TableInfo> = tables.into_iter().map(|t| (t.name.clone(), t)).collect();
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut ordered = Vec::with_capacity(waiting.len());
    while !waiting.is_empty() {
        let ready: Vec<String> = waiting
            .values()
            .filter(|t| {
                t.references.iter().all(|r| r.table == t.name || done.contains(&r.table) || !names.contains(&r.table))
            })
            .map(|t| t.name.clone())
            .collect();
        if ready.is_empty() {
            let stuck: Vec<String> = waiting.keys().cloned().collect();
            return Err(SnapshotError::Format(format!("khóa ngoại vòng tròn giữa các bảng {}", stuck.join(", "))));
        }
        for name in ready {
            if let Some(t) = waiting.remove(&name) {
                done.insert(name);
                ordered.push(t);
            }
        }
    }
    Ok(ordered)
}

/// Orders the rows of a table that refers to itself (an org unit's parent and successor) so
/// that every referenced row comes first.
pub(crate) fn order_self_references(
    table: &TableInfo,
    rows: Vec<Vec<serde_json::Value>>,
) -> SnapshotResult<Vec<Vec<serde_json::Value>>> {
    let idx = |name: &str| table.columns.iter().position(|c| c.name == name);
    let links: Vec<(usize, usize)> = table
        .references
        .iter()
        .filter(|r| r.table == table.name)
        .filter_map(|r| Some((idx(&r.column)?, idx(&r.to_column)?)))
        .collect();
    if links.is_empty() {
        return Ok(rows);
    }
    let mut present: BTreeSet<(usize, String)> = BTreeSet::new();
    let mut waiting = rows;
    let mut ordered = Vec::with_capacity(waiting.len());
    while !waiting.is_empty() {
        let before = waiting.len();
        let mut still = Vec::new();
        for row in waiting {
            let ready = links.iter().all(|(from, to)| match &row[*from] {
                serde_json::Value::Null => true,
                v => present.contains(&(*to, v.to_string())) || row[*to] == *v,
            });
            if ready {
                for (_, to) in &links {
                    present.insert((*to, row[*to].to_string()));
                }
                ordered.push(row);
            } else {
                still.push(row);
            }
        }
        if still.len() == before {
            return Err(SnapshotError::Format(format!(
                "bảng {}: {} dòng tham chiếu tới dòng không có trong bản sao lưu",
                table.name,
                still.len()
            )));
        }
        waiting = still;
    }
    Ok(ordered)
}

/// A table or column name from a catalogue or a manifest, safe to put in SQL between quotes.
pub(crate) fn identifier(name: &str) -> SnapshotResult<String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    if ok { Ok(format!("\"{name}\"")) } else { Err(SnapshotError::Format(format!("tên không hợp lệ: {name:?}"))) }
}

/// Checks the manifest against the target's schema and migrations before anything is written.
pub(crate) fn check_manifest(
    manifest: &SnapshotManifest,
    schema: &[TableInfo],
    migrations: &[i64],
) -> SnapshotResult<()> {
    if manifest.format != FORMAT || manifest.format_version != FORMAT_VERSION {
        return Err(SnapshotError::Format(format!(
            "định dạng {} phiên bản {} (cần {FORMAT} phiên bản {FORMAT_VERSION})",
            manifest.format, manifest.format_version
        )));
    }
    let list = |v: &[i64]| v.iter().map(|n| format!("{n:04}")).collect::<Vec<_>>().join(",");
    if manifest.migrations != migrations {
        return Err(SnapshotError::SchemaMismatch { snapshot: list(&manifest.migrations), target: list(migrations) });
    }
    let theirs: BTreeMap<&str, &TableSnapshot> = manifest.tables.iter().map(|t| (t.name.as_str(), t)).collect();
    let ours: BTreeMap<&str, &TableInfo> = schema.iter().map(|t| (t.name.as_str(), t)).collect();
    if theirs.len() != manifest.tables.len() {
        return Err(SnapshotError::Format("một bảng xuất hiện hai lần".into()));
    }
    let missing: Vec<&str> = ours.keys().filter(|n| !theirs.contains_key(*n)).copied().collect();
    let extra: Vec<&str> = theirs.keys().filter(|n| !ours.contains_key(*n)).copied().collect();
    if !missing.is_empty() || !extra.is_empty() {
        return Err(SnapshotError::Format(format!(
            "các bảng không khớp (thiếu: {}; thừa: {})",
            missing.join(", "),
            extra.join(", ")
        )));
    }
    for (name, t) in &theirs {
        let target = ours[name];
        let mut a = t.columns.clone();
        let mut b = target.columns.clone();
        a.sort_by(|x, y| x.name.cmp(&y.name));
        b.sort_by(|x, y| x.name.cmp(&y.name));
        if a != b {
            return Err(SnapshotError::Format(format!("bảng {name}: các cột không khớp với lược đồ đích")));
        }
        identifier(name)?;
        for c in &t.columns {
            identifier(&c.name)?;
        }
        if t.sha256.len() != 64 || !t.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(SnapshotError::Format(format!("bảng {name}: mã băm không hợp lệ")));
        }
    }
    Ok(())
}

/// Reads a table file line by line, hashing it as it goes.
pub(crate) struct TableReader {
    reader: std::io::BufReader<HashingReader>,
    table: String,
    line: u64,
}

pub(crate) struct HashingReader {
    inner: std::fs::File,
    hasher: sha2::Sha256,
}

impl std::io::Read for HashingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

impl TableReader {
    pub(crate) fn open(dir: &Path, table: &str) -> SnapshotResult<Self> {
        use sha2::Digest;
        let inner = std::fs::File::open(dir.join("tables").join(format!("{table}.jsonl")))?;
        let reader = std::io::BufReader::new(HashingReader { inner, hasher: sha2::Sha256::new() });
        Ok(Self { reader, table: table.to_owned(), line: 0 })
    }

    /// The next row, checked to have `width` values.
    pub(crate) fn next_row(&mut self, width: usize) -> SnapshotResult<Option<Vec<serde_json::Value>>> {
        use std::io::BufRead;
        let mut text = String::new();
        if self.reader.read_line(&mut text)? == 0 {
            return Ok(None);
        }
        self.line += 1;
        let values: Vec<serde_json::Value> = serde_json::from_str(&text)
            .map_err(|e| SnapshotError::Format(format!("bảng {} dòng {}: {e}", self.table, self.line)))?;
        if values.len() != width {
            return Err(SnapshotError::Format(format!(
                "bảng {} dòng {}: {} giá trị, cần {width}",
                self.table,
                self.line,
                values.len()
            )));
        }
        Ok(Some(values))
    }

    /// The SHA-256 of everything read, once the file is read to its end.
    pub(crate) fn finish(self) -> String {
        use sha2::Digest;
        hex::encode(self.reader.into_inner().hasher.finalize())
    }
}

pub(crate) fn bad_value(table: &str, column: &str) -> SnapshotError {
    SnapshotError::Format(format!("giá trị không hợp lệ ở bảng {table}, cột {column}"))
}

/// Implements [`Snapshots`] for a backend. Expanded after `impl_store!`.
macro_rules! impl_snapshots {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::snapshot::Snapshots for $store {
            async fn schema(&self) -> $crate::snapshot::SnapshotResult<Vec<$crate::snapshot::TableInfo>> {
                use $crate::snapshot::{Column, ColumnKind, Reference, SnapshotError, TableInfo};
                let sqlite = crate::Store::backend(self) == "sqlite";
                let pool = self.read_pool();
                let names: Vec<String> = if sqlite {
                    sqlx::query_scalar(
                        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
                         AND name <> '_sqlx_migrations' ORDER BY name",
                    )
                    .fetch_all(pool)
                    .await?
                } else {
                    sqlx::query_scalar(
                        "SELECT table_name::text FROM information_schema.tables
                         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
                           AND table_name <> '_sqlx_migrations' ORDER BY table_name",
                    )
                    .fetch_all(pool)
                    .await?
                };
                let declared = if sqlite { $crate::snapshot::postgres_declared_kinds() } else { Default::default() };
                let mut tables = Vec::with_capacity(names.len());
                for name in names {
                    let mut columns = Vec::new();
                    let mut primary_key: Vec<(i64, String)> = Vec::new();
                    let mut references = Vec::new();
                    if sqlite {
                        let kinds = declared.get(&name);
                        let rows = sqlx::query("SELECT name, type, pk FROM pragma_table_info($1) ORDER BY cid")
                            .bind(&name)
                            .fetch_all(pool)
                            .await?;
                        for r in rows {
                            let col: String = r.try_get("name")?;
                            let ty: String = r.try_get("type")?;
                            let pk: i64 = r.try_get("pk")?;
                            let kind = kinds.and_then(|k| k.get(&col)).copied().ok_or_else(|| {
                                SnapshotError::Format(format!(
                                    "cột {name}.{col} không có trong lược đồ PostgreSQL (hai bản migration phải khai báo cùng các bảng và cột)"
                                ))
                            })?;
                            if !kind.fits_sqlite(&ty) {
                                return Err(SnapshotError::Format(format!(
                                    "cột {name}.{col}: kiểu SQLite {ty} không chứa được kiểu {kind:?} của PostgreSQL"
                                )));
                            }
                            if pk > 0 {
                                primary_key.push((pk, col.clone()));
                            }
                            columns.push(Column { name: col, kind });
                        }
                        let fks = sqlx::query(r#"SELECT "table", "from", "to" FROM pragma_foreign_key_list($1)"#)
                            .bind(&name)
                            .fetch_all(pool)
                            .await?;
                        for r in fks {
                            let table: String = r.try_get("table")?;
                            let column: String = r.try_get("from")?;
                            let to: Option<String> = r.try_get("to")?;
                            references.push(Reference { column, table, to_column: to.unwrap_or_else(|| "id".into()) });
                        }
                    } else {
                        let rows = sqlx::query(
                            "SELECT column_name::text AS name, data_type::text AS ty FROM information_schema.columns
                             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
                        )
                        .bind(&name)
                        .fetch_all(pool)
                        .await?;
                        for r in rows {
                            let col: String = r.try_get("name")?;
                            let ty: String = r.try_get("ty")?;
                            let kind = ColumnKind::from_postgres(&ty).ok_or_else(|| {
                                SnapshotError::Format(format!("cột {name}.{col}: kiểu {ty} chưa được hỗ trợ khi sao lưu"))
                            })?;
                            columns.push(Column { name: col, kind });
                        }
                        let pk = sqlx::query(
                            "SELECT a.attname::text AS name, array_position(i.indkey::int2[], a.attnum)::bigint AS pos
                             FROM pg_index i
                             JOIN pg_class c ON c.oid = i.indrelid
                             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey::int2[])
                             WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace AND i.indisprimary",
                        )
                        .bind(&name)
                        .fetch_all(pool)
                        .await?;
                        for r in pk {
                            primary_key.push((r.try_get("pos")?, r.try_get("name")?));
                        }
                        let fks = sqlx::query(
                            "SELECT rf.relname::text AS to_table, a.attname::text AS from_col, af.attname::text AS to_col
                             FROM pg_constraint k
                             JOIN pg_class cl ON cl.oid = k.conrelid
                             JOIN pg_class rf ON rf.oid = k.confrelid
                             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
                             JOIN pg_attribute af ON af.attrelid = k.confrelid AND af.attnum = k.confkey[1]
                             WHERE k.contype = 'f' AND cl.relname = $1 AND cl.relnamespace = current_schema()::regnamespace",
                        )
                        .bind(&name)
                        .fetch_all(pool)
                        .await?;
                        for r in fks {
                            references.push(Reference {
                                column: r.try_get("from_col")?,
                                table: r.try_get("to_table")?,
                                to_column: r.try_get("to_col")?,
                            });
                        }
                    }
                    primary_key.sort();
                    tables.push(TableInfo {
                        name,
                        columns,
                        primary_key: primary_key.into_iter().map(|(_, c)| c).collect(),
                        references,
                    });
                }
                $crate::snapshot::dependency_order(tables)
            }

            async fn applied_migrations(&self) -> $crate::snapshot::SnapshotResult<Vec<i64>> {
                Ok(sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
                    .fetch_all(self.read_pool())
                    .await?)
            }

            async fn non_empty_tables(&self) -> $crate::snapshot::SnapshotResult<Vec<String>> {
                let mut found = Vec::new();
                for t in self.schema().await? {
                    if $crate::snapshot::SEEDED_TABLES.contains(&t.name.as_str()) {
                        continue;
                    }
                    let sql = format!("SELECT 1 FROM {} LIMIT 1", $crate::snapshot::identifier(&t.name)?);
                    if sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_optional(self.read_pool()).await?.is_some() {
                        found.push(t.name);
                    }
                }
                Ok(found)
            }

            async fn export_snapshot(
                &self,
                dir: &std::path::Path,
            ) -> $crate::snapshot::SnapshotResult<$crate::snapshot::SnapshotManifest> {
                use std::io::Write;
                use futures_util::TryStreamExt;
                use sha2::Digest;
                use $crate::snapshot::{identifier, ColumnKind, SnapshotManifest, TableSnapshot};
                let schema = self.schema().await?;
                std::fs::create_dir_all(dir.join("tables"))?;
                // One transaction for every table: WAL on SQLite and REPEATABLE READ on
                // PostgreSQL give all reads the same snapshot while writers go on.
                let begin = if crate::Store::backend(self) == "sqlite" {
                    "BEGIN"
                } else {
                    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
                };
                let mut tx = self.read_pool().begin_with(begin).await?;
                let taken_at = Utc::now();
                let migrations: Vec<i64> =
                    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
                        .fetch_all(&mut *tx)
                        .await?;
                let mut tables = Vec::with_capacity(schema.len());
                for t in &schema {
                    let cols: Vec<String> = t.columns.iter().map(|c| identifier(&c.name)).collect::<Result<_, _>>()?;
                    let order: Vec<String> = if t.primary_key.is_empty() {
                        cols.clone()
                    } else {
                        t.primary_key.iter().map(|c| identifier(c)).collect::<Result<_, _>>()?
                    };
                    let sql = format!(
                        "SELECT {} FROM {} ORDER BY {}",
                        cols.join(", "),
                        identifier(&t.name)?,
                        order.join(", ")
                    );
                    let path = dir.join("tables").join(format!("{}.jsonl", t.name));
                    let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
                    let mut hasher = sha2::Sha256::new();
                    let mut count = 0u64;
                    let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut *tx);
                    while let Some(r) = rows.try_next().await? {
                        let mut values = Vec::with_capacity(t.columns.len());
                        for (i, c) in t.columns.iter().enumerate() {
                            let bad = |_| $crate::snapshot::bad_value(&t.name, &c.name);
                            let v = match c.kind {
                                ColumnKind::Uuid => {
                                    r.try_get::<Option<Uuid>, _>(i).map_err(bad)?.map(|u| u.hyphenated().to_string().into())
                                }
                                ColumnKind::Timestamp => r
                                    .try_get::<Option<DateTime<Utc>>, _>(i)
                                    .map_err(bad)?
                                    .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false).into()),
                                ColumnKind::Date => r
                                    .try_get::<Option<chrono::NaiveDate>, _>(i)
                                    .map_err(bad)?
                                    .map(|d| d.format("%Y-%m-%d").to_string().into()),
                                ColumnKind::Json => r.try_get::<Option<Json<serde_json::Value>>, _>(i).map_err(bad)?.map(|j| j.0),
                                ColumnKind::Bool => r.try_get::<Option<bool>, _>(i).map_err(bad)?.map(Into::into),
                                ColumnKind::Int => match r.try_get::<Option<i64>, _>(i) {
                                    Ok(v) => v.map(Into::into),
                                    Err(_) => match r.try_get::<Option<i32>, _>(i) {
                                        Ok(v) => v.map(Into::into),
                                        Err(_) => r.try_get::<Option<i16>, _>(i).map_err(bad)?.map(Into::into),
                                    },
                                },
                                ColumnKind::Float => r.try_get::<Option<f64>, _>(i).map_err(bad)?.map(Into::into),
                                ColumnKind::Text => r.try_get::<Option<String>, _>(i).map_err(bad)?.map(Into::into),
                                ColumnKind::Bytes => r.try_get::<Option<Vec<u8>>, _>(i).map_err(bad)?.map(|b| hex::encode(b).into()),
                            };
                            values.push(v.unwrap_or(serde_json::Value::Null));
                        }
                        let mut line = serde_json::to_vec(&values).map_err(|e| $crate::snapshot::SnapshotError::Format(e.to_string()))?;
                        line.push(b'\n');
                        hasher.update(&line);
                        out.write_all(&line)?;
                        count += 1;
                    }
                    drop(rows);
                    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
                    tables.push(TableSnapshot {
                        name: t.name.clone(),
                        columns: t.columns.clone(),
                        rows: count,
                        sha256: hex::encode(hasher.finalize()),
                    });
                }
                tx.rollback().await?;
                Ok(SnapshotManifest {
                    format: $crate::snapshot::FORMAT.into(),
                    format_version: $crate::snapshot::FORMAT_VERSION,
                    backend: crate::Store::backend(self).into(),
                    taken_at,
                    migrations,
                    tables,
                })
            }

            async fn import_snapshot(
                &self,
                dir: &std::path::Path,
                manifest: &$crate::snapshot::SnapshotManifest,
            ) -> $crate::snapshot::SnapshotResult<()> {
                use $crate::snapshot::{bad_value, identifier, ColumnKind, SnapshotError, TableReader, SEEDED_TABLES};
                let sqlite = crate::Store::backend(self) == "sqlite";
                let schema = self.schema().await?;
                let migrations = self.applied_migrations().await?;
                $crate::snapshot::check_manifest(manifest, &schema, &migrations)?;
                let by_name: std::collections::HashMap<&str, &$crate::snapshot::TableSnapshot> =
                    manifest.tables.iter().map(|t| (t.name.as_str(), t)).collect();

                let mut tx = self.begin_write().await?;
                let mut busy = Vec::new();
                for t in &schema {
                    let sql = format!("SELECT 1 FROM {} LIMIT 1", identifier(&t.name)?);
                    let has_rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_optional(&mut *tx).await?.is_some();
                    if has_rows && !SEEDED_TABLES.contains(&t.name.as_str()) {
                        busy.push(t.name.clone());
                    }
                }
                if !busy.is_empty() {
                    return Err(SnapshotError::NotEmpty(busy));
                }
                for t in SEEDED_TABLES {
                    if schema.iter().any(|s| s.name == *t) {
                        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {}", identifier(t)?)))
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                for target in &schema {
                    let snap = by_name[target.name.as_str()];
                    // The snapshot's column order, which its rows follow.
                    let table = $crate::snapshot::TableInfo { columns: snap.columns.clone(), ..target.clone() };
                    let cols: Vec<String> = table.columns.iter().map(|c| identifier(&c.name)).collect::<Result<_, _>>()?;
                    let marks: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
                    let sql = format!(
                        "INSERT INTO {} ({}) VALUES ({})",
                        identifier(&table.name)?,
                        cols.join(", "),
                        marks.join(", ")
                    );
                    let mut reader = TableReader::open(dir, &table.name)?;
                    let self_referencing = table.references.iter().any(|r| r.table == table.name);
                    let mut held = Vec::new();
                    let mut count = 0u64;
                    loop {
                        let Some(row) = reader.next_row(table.columns.len())? else { break };
                        if self_referencing {
                            held.push(row);
                            continue;
                        }
                        insert_snapshot_row(&mut tx, &sql, &table, row).await?;
                        count += 1;
                    }
                    if self_referencing {
                        for row in $crate::snapshot::order_self_references(&table, held)? {
                            insert_snapshot_row(&mut tx, &sql, &table, row).await?;
                            count += 1;
                        }
                    }
                    if reader.finish() != snap.sha256 {
                        return Err(SnapshotError::Format(format!("tệp của bảng {} đã bị thay đổi (mã băm không khớp)", table.name)));
                    }
                    let stored: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                        "SELECT COUNT(*) FROM {}",
                        identifier(&table.name)?
                    )))
                    .fetch_one(&mut *tx)
                    .await?;
                    if count != snap.rows || stored != snap.rows as i64 {
                        return Err(SnapshotError::Format(format!(
                            "bảng {}: bản sao lưu ghi {} dòng, đọc được {count}, đã nạp {stored}",
                            table.name, snap.rows
                        )));
                    }
                }
                if !sqlite {
                    // Ids drawn from sequences continue after the restored ones.
                    let serials = sqlx::query(
                        "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns
                         WHERE table_schema = current_schema() AND column_default LIKE 'nextval(%'",
                    )
                    .fetch_all(&mut *tx)
                    .await?;
                    for r in serials {
                        let t: String = r.try_get("t")?;
                        let c: String = r.try_get("c")?;
                        let sql = format!(
                            "SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT MAX({}) FROM {}), 0) + 1, false)",
                            identifier(&c)?,
                            identifier(&t)?
                        );
                        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&t).bind(&c).execute(&mut *tx).await?;
                    }
                } else {
                    let broken: Vec<String> = sqlx::query("PRAGMA foreign_key_check")
                        .fetch_all(&mut *tx)
                        .await?
                        .iter()
                        .map(|r| r.try_get::<String, _>(0))
                        .collect::<Result<_, _>>()?;
                    if !broken.is_empty() {
                        return Err(SnapshotError::Format(format!("khóa ngoại không khớp ở bảng {}", broken.join(", "))));
                    }
                }
                tx.commit().await?;
                return Ok(());

                async fn insert_snapshot_row(
                    tx: &mut sqlx::Transaction<'static, $db>,
                    sql: &str,
                    table: &$crate::snapshot::TableInfo,
                    row: Vec<serde_json::Value>,
                ) -> $crate::snapshot::SnapshotResult<()> {
                    use serde_json::Value;
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
                    for (c, v) in table.columns.iter().zip(row) {
                        let bad = || bad_value(&table.name, &c.name);
                        let null = v.is_null();
                        q = match c.kind {
                            ColumnKind::Uuid => q.bind(if null {
                                None
                            } else {
                                Some(v.as_str().and_then(|s| Uuid::parse_str(s).ok()).ok_or_else(bad)?)
                            }),
                            ColumnKind::Timestamp => q.bind(if null {
                                None
                            } else {
                                Some(
                                    v.as_str()
                                        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                                        .map(|d| d.with_timezone(&Utc))
                                        .ok_or_else(bad)?,
                                )
                            }),
                            ColumnKind::Date => q.bind(if null {
                                None
                            } else {
                                Some(
                                    v.as_str()
                                        .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
                                        .ok_or_else(bad)?,
                                )
                            }),
                            ColumnKind::Json => q.bind(if null { None } else { Some(Json(v)) }),
                            ColumnKind::Bool => q.bind(if null { None } else { Some(v.as_bool().ok_or_else(bad)?) }),
                            ColumnKind::Int => q.bind(if null { None } else { Some(v.as_i64().ok_or_else(bad)?) }),
                            ColumnKind::Float => q.bind(if null { None } else { Some(v.as_f64().ok_or_else(bad)?) }),
                            ColumnKind::Text => q.bind(match v {
                                Value::Null => None,
                                Value::String(s) => Some(s),
                                _ => return Err(bad()),
                            }),
                            ColumnKind::Bytes => q.bind(if null {
                                None
                            } else {
                                Some(v.as_str().and_then(|s| hex::decode(s).ok()).ok_or_else(bad)?)
                            }),
                        };
                    }
                    q.execute(&mut **tx).await?;
                    Ok(())
                }
            }
        }
    };
}

pub(crate) use impl_snapshots;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_migrations_declare_kinds_of_every_column_they_add() {
        let kinds = postgres_declared_kinds();
        assert_eq!(kinds["dossiers"]["id"], ColumnKind::Uuid);
        assert_eq!(kinds["dossiers"]["received_at"], ColumnKind::Timestamp);
        assert_eq!(kinds["dossiers"]["applicant"], ColumnKind::Json);
        assert_eq!(kinds["dossiers"]["resume_state"], ColumnKind::Text, "added by ALTER TABLE");
        assert_eq!(kinds["idempotency_keys"]["body"], ColumnKind::Bytes);
        assert_eq!(kinds["org_units"]["valid_from"], ColumnKind::Date);
        assert_eq!(kinds["outbox"]["id"], ColumnKind::Int);
        assert_eq!(kinds["users"]["disabled"], ColumnKind::Bool);
        assert!(!kinds["org_units"].contains_key("PRIMARY"));
    }

    fn table(name: &str, refs: &[(&str, &str)]) -> TableInfo {
        TableInfo {
            name: name.into(),
            columns: vec![
                Column { name: "id".into(), kind: ColumnKind::Int },
                Column { name: "parent".into(), kind: ColumnKind::Int },
            ],
            primary_key: vec!["id".into()],
            references: refs
                .iter()
                .map(|(col, t)| Reference { column: (*col).into(), table: (*t).into(), to_column: "id".into() })
                .collect(),
        }
    }

    #[test]
    fn tables_come_parents_first_and_cycles_are_refused() {
        let order = dependency_order(vec![
            table("c", &[("parent", "b")]),
            table("b", &[("parent", "a")]),
            table("a", &[("parent", "a")]),
        ])
        .unwrap();
        assert_eq!(order.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["a", "b", "c"]);
        assert!(dependency_order(vec![table("x", &[("parent", "y")]), table("y", &[("parent", "x")])]).is_err());
    }

    #[test]
    fn self_references_are_loaded_referenced_row_first() {
        let t = table("units", &[("parent", "units")]);
        let rows = vec![
            vec![serde_json::json!(3), serde_json::json!(2)],
            vec![serde_json::json!(2), serde_json::json!(1)],
            vec![serde_json::json!(1), serde_json::Value::Null],
        ];
        let ordered = order_self_references(&t, rows).unwrap();
        assert_eq!(ordered.iter().map(|r| r[0].as_i64().unwrap()).collect::<Vec<_>>(), [1, 2, 3]);
        let dangling = vec![vec![serde_json::json!(5), serde_json::json!(9)]];
        assert!(order_self_references(&t, dangling).is_err());
    }

    #[test]
    fn names_from_a_manifest_are_checked() {
        assert_eq!(identifier("dossier_history").unwrap(), "\"dossier_history\"");
        for bad in ["", "x\"; DROP TABLE users; --", "Users", "1abc", "a b"] {
            assert!(identifier(bad).is_err(), "{bad}");
        }
    }
}
