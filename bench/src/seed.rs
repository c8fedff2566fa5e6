//! Bulk-loads dossiers straight into the database for the inbox benchmark: a province-sized
//! history where one commune (000.00.31.H99, the demo's busiest) holds a fifth of them and 2 in 7
//! of every unit's dossiers are still open. Written in SQL so a million rows take seconds. Codes
//! have the real form (unit, a day, a 4-digit number; unique across the load), so event
//! consumers that read a dossier back parse them as they would any other.

use sqlx::Connection;

use crate::server::Database;

/// The unit whose inbox is measured.
pub const BUSY_UNIT: &str = "000.00.31.H99";

const SQLITE_SEED: &str = r#"
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1),
pv AS (SELECT id, code, version, name FROM procedure_versions WHERE code = '1.001193' ORDER BY version DESC LIMIT 1),
rows AS (
  SELECT i,
    CASE WHEN i % 5 = 0 THEN '000.00.31.H99' ELSE printf('000.00.%02d.H99', 32 + (i % 25)) END AS unit_code,
    strftime('%Y-%m-%dT%H:%M:%S+00:00', '2025-07-01 00:00:00', printf('+%d seconds', i * 30)) AS received,
    strftime('%Y-%m-%dT%H:%M:%S+00:00', '2025-07-01 00:00:00', printf('+%d seconds', i * 30), printf('%+d days', (i % 40) - 10)) AS due,
    (i % 7) < 2 AS open
  FROM n),
coded AS (SELECT rows.*, (SELECT id FROM org_units WHERE code = unit_code) AS unit FROM rows)
INSERT INTO dossiers (id, code, procedure_version_id, procedure_code, procedure_version, procedure_name,
  receiving_unit_id, state, channel, applicant, applicant_identity, applicant_search, form_data,
  received_at, due_at, submitted_by_client, updated_at, version, current_step, holder_unit_id, holder_role, due_sort)
SELECT randomblob(16),
  unit_code || '-' || substr(strftime('%Y%m%d', '2025-07-01', printf('+%d days', i / 9000)), 3) || '-' || printf('%04d', 1000 + i % 9000),
  pv.id, pv.code, pv.version, pv.name, unit,
  CASE WHEN open THEN 'in_progress' ELSE 'returned' END, 'online',
  '{"kind":"person","identity_kind":"citizen","identity_number":"' || printf('%012d', i) || '","name":"Nguyễn Văn ' || (i % 997) || '","phone":null,"email":null,"address":null}',
  printf('%012d', i), 'nguyen van ' || (i % 997), '{}', received, due, NULL, received, 1,
  CASE WHEN open THEN 1 ELSE 3 END,
  CASE WHEN open THEN unit END,
  CASE WHEN open THEN CASE WHEN i % 2 = 0 THEN 'desk_officer' ELSE 'specialist' END END,
  due
FROM coded, pv"#;

const POSTGRES_SEED: &str = r#"
WITH pv AS (SELECT id, code, version, name FROM procedure_versions WHERE code = '1.001193' ORDER BY version DESC LIMIT 1),
units AS (SELECT code, id FROM org_units),
rows AS (
  SELECT i,
    CASE WHEN i % 5 = 0 THEN '000.00.31.H99' ELSE format('000.00.%s.H99', lpad((32 + (i % 25))::text, 2, '0')) END AS unit_code,
    timestamptz '2025-07-01 00:00:00+00' + make_interval(secs => i * 30) AS received,
    timestamptz '2025-07-01 00:00:00+00' + make_interval(secs => i * 30) + make_interval(days => (i % 40)::int - 10) AS due,
    (i % 7) < 2 AS open
  FROM generate_series(1, $1) AS i)
INSERT INTO dossiers (id, code, procedure_version_id, procedure_code, procedure_version, procedure_name,
  receiving_unit_id, state, channel, applicant, applicant_identity, applicant_search, form_data,
  received_at, due_at, submitted_by_client, updated_at, version, current_step, holder_unit_id, holder_role, due_sort)
SELECT gen_random_uuid(),
  rows.unit_code || '-' || to_char(date '2025-07-01' + (i / 9000)::int, 'YYMMDD') || '-' || lpad((1000 + i % 9000)::text, 4, '0'),
  pv.id, pv.code, pv.version, pv.name, u.id,
  CASE WHEN open THEN 'in_progress' ELSE 'returned' END, 'online',
  jsonb_build_object('kind', 'person', 'identity_kind', 'citizen', 'identity_number', lpad(i::text, 12, '0'),
    'name', 'Nguyễn Văn ' || (i % 997), 'phone', null, 'email', null, 'address', null),
  lpad(i::text, 12, '0'), 'nguyen van ' || (i % 997), '{}'::jsonb, received, due, NULL, received, 1,
  CASE WHEN open THEN 1 ELSE 3 END,
  CASE WHEN open THEN u.id END,
  CASE WHEN open THEN CASE WHEN i % 2 = 0 THEN 'desk_officer' ELSE 'specialist' END END,
  due
FROM rows JOIN units u ON u.code = rows.unit_code, pv"#;

/// Inserts `n` dossiers and refreshes the planner's statistics.
pub async fn seed(db: &Database, n: i64) -> anyhow::Result<()> {
    if db.backend == "sqlite" {
        let url = format!("sqlite://{}", db.dir.path().join("cqs.db").display());
        let mut c = sqlx::SqliteConnection::connect(&url).await?;
        sqlx::query(SQLITE_SEED).bind(n).execute(&mut c).await?;
        sqlx::query("ANALYZE").execute(&mut c).await?;
    } else {
        let mut c = sqlx::PgConnection::connect(&db.url).await?;
        sqlx::query(POSTGRES_SEED).bind(n).execute(&mut c).await?;
        // A bulk load leaves no visibility map; autovacuum would set it, and index-only scans need it.
        sqlx::query("VACUUM (ANALYZE) dossiers").execute(&mut c).await?;
    }
    Ok(())
}
