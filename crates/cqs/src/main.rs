//! `cqs`: Chính Quyền Số, the digital-government platform, as one binary.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use cqs::commands::{self, ImportOutcome};
use cqs::config::{CliOverrides, Config};
use cqs_domain::auth::Scope;

/// mimalloc instead of glibc's malloc: a profile of the exchange gateway spent about a fifth of
/// the node's time in glibc's allocator (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "cqs",
    version,
    about = "Chính Quyền Số: nền tảng chính quyền số cho tỉnh, thành phố",
    long_about = "Chính Quyền Số (cqs): cổng dịch vụ công và hệ thống một cửa điện tử trong một tệp chạy.\n\
    Không cần cấu hình: dữ liệu nằm trong ./cqs-data (SQLite), máy chủ nghe tại 127.0.0.1:8080.\n\
    Cấu hình bằng tệp TOML (--config) và biến môi trường CQS_* (ví dụ CQS_LISTEN, CQS_DATABASE_URL)."
)]
struct Cli {
    /// TOML configuration file.
    #[arg(long, global = true, env = "CQS_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (SQLite database and files); default ./cqs-data.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Database URL: postgres://user@host/db for PostgreSQL; default the SQLite file in the data directory.
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Address to listen on; default 127.0.0.1:8080.
    #[arg(long, global = true)]
    listen: Option<SocketAddr>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server.
    Serve,
    /// Load the demo province (idempotent), then start the server.
    Demo {
        /// Load the demo data and exit without serving.
        #[arg(long)]
        no_serve: bool,
    },
    /// Create or upgrade the database schema and exit.
    Migrate,
    /// Import data.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Manage staff accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API keys for systems and staff tools.
    #[command(subcommand)]
    Apikey(ApiKeyCommand),
    /// Check an exchange's evidence file (from GET /api/v1/exchange/log/{id}/evidence): the node's
    /// signature, the hash chain to the signed batch, that no byte was changed and, when the
    /// batch was timestamped, the RFC 3161 token and the batch's place in the stamped round.
    VerifyEvidence {
        file: PathBuf,
        /// Accept only this node signing key (hex); repeatable. Without it the key named in the
        /// file is reported so it can be compared with the node's published key.
        #[arg(long = "key")]
        keys: Vec<String>,
        /// Root certificates (PEM) the timestamp authority must chain to; repeatable. Without
        /// it the token's signature and imprint are checked but not who made it, so its time is
        /// not vouched for.
        #[arg(long = "tsa-root")]
        tsa_roots: Vec<PathBuf>,
    },
    /// Check the signatures of a PDF (a signed result): valid or not, who signed, when, whether
    /// it changed since, and which dossier it belongs to. Exits 0 only when every signature is
    /// valid.
    Verify { file: PathBuf },
    /// Create a development certificate authority (for the demo and tests, never production):
    /// a root, a document-signing certificate per agency (every demo unit by default), TLS
    /// certificates for nodes, and a timestamping certificate. Existing files are kept.
    DevCa(DevCaArgs),
    /// Run the legal-clock jobs once (the server runs them by itself).
    #[command(subcommand)]
    Deadlines(DeadlinesCommand),
    /// Repairs of derived data (safe while the server runs).
    #[command(subcommand)]
    Maintenance(MaintenanceCommand),
    /// Show the background jobs: which node holds each, and how its last runs went.
    Jobs,
    /// Back up the database (a consistent logical snapshot of every table, taken while the
    /// server runs) and every stored file with its SHA-256, into an empty folder or a .zip file.
    Backup { target: PathBuf },
    /// Restore a backup made by `cqs backup` (from SQLite or PostgreSQL) into an empty store of
    /// either kind; a store that holds data is refused.
    Restore { source: PathBuf },
}

#[derive(Subcommand)]
enum MaintenanceCommand {
    /// Rebuild the word index behind inbox name searches from the dossiers (after a bulk load
    /// straight into the database; the server also rebuilds it when it finds it incomplete).
    ReindexInbox,
}

#[derive(Args)]
struct DevCaArgs {
    /// Folder for the CA and the certificates it issues.
    #[arg(long)]
    out: PathBuf,
    /// Agency code (a demo unit) or CODE=Name; repeatable. Default: every demo unit.
    #[arg(long = "agency")]
    agencies: Vec<String>,
    /// Node name, or NAME=SAN,SAN; repeatable. Issues a TLS certificate for server and client use.
    #[arg(long = "node")]
    nodes: Vec<String>,
    /// DNS name or IP address for nodes given without their own; repeatable.
    #[arg(long = "san")]
    sans: Vec<String>,
    /// Province name in certificate subjects (default: the demo's).
    #[arg(long)]
    province: Option<String>,
}

#[derive(Subcommand)]
enum DeadlinesCommand {
    /// Send due-soon and overdue notices now and open apology tasks for late dossiers.
    Sweep,
    /// Recompute the due dates of running dossiers on the current working calendar (after
    /// editing <data-dir>/rules/calendar/; the server also does this when it starts).
    Recompute,
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Import procedures from CSV or XLSX: every row is checked first; all are imported or none.
    Procedures {
        file: PathBuf,
        /// Publish the imported versions at once (otherwise they stay drafts).
        #[arg(long)]
        publish: bool,
        /// Check the file and report problems without importing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write the demo catalog as a CSV in the import format (a template to start from).
    Template { file: PathBuf },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a staff account with roles, each as role@agency-code (e.g. desk_officer@000.00.31.H99).
    Add(UserAdd),
    /// Set a staff member's sign-in password, read from standard input (one line); ends every
    /// session they have open.
    Password { username: String },
    /// Remove a staff member's authenticator app (a lost phone) and end their sessions; at the
    /// next sign-in they set one up again if their roles require it.
    MfaReset { username: String },
}

#[derive(Args)]
struct UserAdd {
    #[arg(long)]
    username: String,
    #[arg(long)]
    name: String,
    #[arg(long)]
    email: Option<String>,
    /// role@agency-code; repeatable. Roles: desk_officer, specialist, leader, clerk, admin.
    #[arg(long = "role", required = true)]
    roles: Vec<String>,
    /// Also issue an API key acting as this user.
    #[arg(long)]
    with_key: bool,
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Create a key for a system client with scopes (dossiers:submit, dossiers:read, catalog:write, metrics:read).
    Create {
        #[arg(long)]
        name: String,
        /// Repeatable.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Limit the key to one org unit (agency code).
        #[arg(long)]
        unit: Option<String>,
    },
    /// Revoke a key by its prefix (the 8 characters after "cqs_").
    Revoke { prefix: String },
    /// Give a key a new secret; the old one keeps working for the grace period, then stops.
    Rotate {
        prefix: String,
        /// Hours the old secret keeps working (0 to 720).
        #[arg(long, default_value_t = cqs_domain::identity::api_key::DEFAULT_GRACE_HOURS)]
        grace_hours: i64,
    },
    /// List the keys with their scopes, unit and last use.
    List,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Lỗi: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<std::process::ExitCode> {
    let cli = Cli::parse();
    let overrides = CliOverrides { listen: cli.listen, data_dir: cli.data_dir, database_url: cli.database_url };
    let cfg = Config::load(cli.config.as_deref(), &overrides)?;
    let _telemetry = cqs::logging::init(cfg.log_format == "json", &cfg.otlp_endpoint)?;
    if let Command::VerifyEvidence { file, keys, tsa_roots } = &cli.command {
        return verify_evidence(file, keys, tsa_roots);
    }
    if let Command::DevCa(a) = &cli.command {
        let req = cqs::devca::DevCaRequest {
            agencies: a.agencies.clone(),
            nodes: a.nodes.clone(),
            sans: a.sans.clone(),
            province: a.province.clone(),
        };
        let s = cqs::devca::run(&a.out, &req)?;
        if s.root_created {
            println!("Đã tạo CA thử nghiệm: {}", a.out.join("ca.crt.pem").display());
        }
        for (name, issued) in &s.issued {
            let what = if issued.created { "đã cấp" } else { "đã có" };
            println!("  {what}: {name} → {}", issued.chain_pem.display());
        }
        println!("Chỉ dùng để thử nghiệm. Mật khẩu các tệp .p12: {}", cqs_pki::devca::DEV_P12_PASSWORD);
        return Ok(std::process::ExitCode::SUCCESS);
    }
    let mut cfg = cfg;
    if matches!(cli.command, Command::Demo { .. }) && cfg.documents.dev_ca_dir.is_empty() {
        // The demo signs its results with a development CA of its own.
        cfg.documents.dev_ca_dir = cfg.data_dir.join("dev-ca").display().to_string();
    }
    let (store, files) = cqs::server::open(&cfg).await?;
    match cli.command {
        Command::Serve => cqs::server::serve(&cfg, store, files).await?,
        Command::Migrate => println!("Cơ sở dữ liệu đã ở phiên bản mới nhất ({}).", store.backend()),
        Command::Demo { no_serve } => {
            let s = cqs::demo::load(store.as_ref(), &cfg.data_dir).await?;
            println!(
                "Đã nạp dữ liệu mẫu tỉnh Lạc Hồng: {} đơn vị, {} lĩnh vực, {} thủ tục mới ({} không đổi), {} tài khoản mới.",
                s.org_units, s.fields, s.procedures_added, s.procedures_unchanged, s.users_created
            );
            if !s.keys_created.is_empty() || !s.passwords_created.is_empty() {
                println!(
                    "Khóa API và mật khẩu thử nghiệm đã ghi vào {}",
                    cfg.data_dir.join("demo-credentials.txt").display()
                );
            }
            if !no_serve {
                // The demo has no mail server: its codes are read from the terminal.
                let mut demo = cfg.clone();
                demo.notify.log_text = true;
                cqs::server::serve(&demo, store, files).await?;
            }
        }
        Command::Import(ImportCommand::Template { file }) => {
            std::fs::write(&file, cqs::import::to_csv(&cqs::demo::procedures()?))?;
            println!("Đã ghi mẫu nhập liệu vào {}", file.display());
        }
        Command::Import(ImportCommand::Procedures { file, publish, dry_run }) => {
            let bytes = std::fs::read(&file)?;
            let name = file.to_string_lossy();
            match commands::import_procedures(store.as_ref(), &name, &bytes, publish, dry_run).await? {
                ImportOutcome::Imported(versions) => {
                    let added = versions.iter().filter(|v| v.created).count();
                    let unchanged = versions.len() - added;
                    println!("Đã nhập {added} phiên bản thủ tục mới ({unchanged} không thay đổi).")
                }
                ImportOutcome::Checked { rows } => {
                    println!("Tệp hợp lệ: {rows} thủ tục. Chưa nhập (--dry-run).")
                }
                ImportOutcome::Rejected(errors) => {
                    eprintln!("Không nhập thủ tục nào vì tệp có {} lỗi:", errors.len());
                    for e in errors {
                        eprintln!("  - {e}");
                    }
                    return Ok(std::process::ExitCode::from(2));
                }
            }
        }
        Command::User(UserCommand::Add(u)) => {
            let mut grants = Vec::new();
            for r in &u.roles {
                grants.push(commands::parse_grant(store.as_ref(), r).await?);
            }
            let user = store
                .create_user(&cqs_store::NewUser { username: u.username, full_name: u.name, email: u.email, grants })
                .await?;
            println!("Đã tạo tài khoản {} ({}).", user.username, user.id);
            if u.with_key {
                let token = commands::issue_key(
                    store.as_ref(),
                    &format!("Khóa của {}", user.username),
                    Some(user.id),
                    vec![],
                    None,
                )
                .await?;
                println!("Khóa API (chỉ hiển thị một lần): {token}");
            }
        }
        Command::User(UserCommand::Password { username }) => {
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                eprintln!("Nhập mật khẩu mới cho {username} rồi nhấn Enter:");
            }
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            let password = line.trim_end_matches(['\r', '\n']).to_owned();
            cqs_web::identity::set_staff_password(store.as_ref(), &cfg.auth().password, &username, password)
                .await
                .map_err(|e| anyhow::anyhow!("không đặt được mật khẩu: {e}"))?;
            println!("Đã đặt mật khẩu cho {username}; các phiên đăng nhập cũ đã kết thúc.");
        }
        Command::User(UserCommand::MfaReset { username }) => {
            let user = store
                .user_by_username(&username)
                .await?
                .ok_or_else(|| anyhow::anyhow!("không có tài khoản cán bộ {username}"))?;
            if cqs_web::identity::mfa::reset(store.as_ref(), user.id, chrono::Utc::now()).await? {
                println!("Đã xóa ứng dụng xác thực của {username}; các phiên đăng nhập đã kết thúc.");
            } else {
                println!("{username} chưa bật xác thực hai bước; các phiên đăng nhập đã kết thúc.");
            }
        }
        Command::Apikey(ApiKeyCommand::Create { name, scopes, unit }) => {
            let scopes = scopes
                .iter()
                .map(|s| Scope::parse(s).ok_or_else(|| anyhow::anyhow!("quyền {s} không hợp lệ")))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let unit = match unit {
                Some(code) => Some(
                    store.org_unit_by_code(&code).await?.ok_or_else(|| anyhow::anyhow!("không có đơn vị {code}"))?.id,
                ),
                None => None,
            };
            let token = commands::issue_key(store.as_ref(), &name, None, scopes, unit).await?;
            println!("Khóa API (chỉ hiển thị một lần): {token}");
        }
        Command::DevCa(_) => unreachable!("handled before the store is opened"),
        Command::Deadlines(DeadlinesCommand::Sweep) => {
            let state = cqs::server::app_state(&cfg, store, files)?;
            let r = cqs_web::jobs::sweep(state.store.as_ref(), &state.rules.calendar, state.clock.now()).await?;
            println!(
                "Đã xét {} hồ sơ: gửi {} thông báo sắp đến hạn, {} thông báo quá hạn.",
                r.examined, r.due_soon, r.overdue
            );
        }
        Command::VerifyEvidence { file, keys, tsa_roots } => return verify_evidence(&file, &keys, &tsa_roots),
        Command::Verify { file } => {
            let state = cqs::server::app_state(&cfg, store, files)?;
            let pdf = std::fs::read(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let report =
                cqs_web::documents::verify::check(&state, pdf).await.map_err(|e| anyhow::anyhow!("{}", e.title))?;
            print!("{}", cqs_web::documents::verify::as_text(&report));
            return Ok(if report.valid { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::from(1) });
        }
        Command::Deadlines(DeadlinesCommand::Recompute) => {
            let state = cqs::server::app_state(&cfg, store, files)?;
            let r = cqs_web::jobs::recompute_due_dates(&state, state.clock.now())
                .await
                .map_err(|e| anyhow::anyhow!("không tính lại được hạn: {e:?}"))?;
            state
                .store
                .put_setting(
                    cqs_web::jobs::recompute::CALENDAR_SETTING,
                    &state.rules.calendar.fingerprint(),
                    state.clock.now(),
                )
                .await?;
            println!(
                "Đã xét {} hồ sơ đang giải quyết: {} hồ sơ đổi hạn, {} giữ nguyên hạn vì lịch sử không đủ để tính lại.",
                r.examined, r.changed, r.kept
            );
        }
        Command::Maintenance(MaintenanceCommand::ReindexInbox) => {
            let n = store.reindex_inbox_words().await?;
            println!("Đã lập lại chỉ mục tên người nộp cho {n} hồ sơ đang chờ xử lý.");
        }
        Command::Backup { target } => {
            let m = cqs::backup::run_backup(store.as_ref(), &files, &target).await?;
            let rows: u64 = m.snapshot.tables.iter().map(|t| t.rows).sum();
            println!(
                "Đã sao lưu {} bảng ({rows} dòng) và {} tệp vào {}.",
                m.snapshot.tables.len(),
                m.files.len(),
                target.display()
            );
        }
        Command::Restore { source } => {
            let s = cqs::backup::run_restore(store.as_ref(), &files, &source).await?;
            println!("Đã khôi phục {} bảng ({} dòng) và {} tệp từ {}.", s.tables, s.rows, s.files, source.display());
        }
        Command::Jobs => {
            let now = chrono::Utc::now();
            println!(
                "{:<20} {:<40} {:>6} {:<12} {:<24} lỗi gần nhất",
                "việc", "nút giữ", "lượt", "hạn giữ", "lần chạy tốt gần nhất"
            );
            for j in store.job_statuses().await? {
                let lease = if j.lease_until > now {
                    format!("còn {} s", (j.lease_until - now).num_seconds())
                } else {
                    "hết hạn".into()
                };
                let success = j.last_success_at.map_or_else(|| "chưa có".into(), |t| t.to_rfc3339());
                println!(
                    "{:<20} {:<40} {:>6} {:<12} {:<24} {}",
                    j.job,
                    j.holder,
                    j.generation,
                    lease,
                    success,
                    j.last_error.unwrap_or_default()
                );
            }
            let backlog = store.outbox_backlog().await?;
            println!(
                "Sự kiện chờ phát: {} (cũ nhất: {}).",
                backlog.pending,
                backlog.oldest.map_or_else(|| "không có".into(), |t| t.to_rfc3339())
            );
        }
        Command::Apikey(ApiKeyCommand::Rotate { prefix, grace_hours }) => {
            let grace = cqs_domain::identity::api_key::grace(Some(grace_hours))
                .ok_or_else(|| anyhow::anyhow!("--grace-hours phải từ 0 đến 720"))?;
            match cqs_web::auth::keys::rotate(store.as_ref(), &prefix, grace, chrono::Utc::now()).await? {
                Some(token) => {
                    println!("Khóa mới (chỉ hiển thị một lần): {token}\nBí mật cũ còn dùng được {grace_hours} giờ.")
                }
                None => anyhow::bail!("không có khóa đang hoạt động với tiền tố {prefix}"),
            }
        }
        Command::Apikey(ApiKeyCommand::List) => {
            println!("{:<10} {:<32} {:<40} {:<26} trạng thái", "tiền tố", "tên", "quyền", "dùng gần nhất");
            for k in store.api_keys().await? {
                let scopes: Vec<&str> = k.key.scopes.iter().map(|s| s.as_str()).collect();
                let used = k.last_used_at.map_or_else(|| "chưa dùng".into(), |t| t.to_rfc3339());
                let state = match (k.revoked_at, k.previous_valid_until) {
                    (Some(_), _) => "đã thu hồi".to_owned(),
                    (None, Some(until)) if until > chrono::Utc::now() => {
                        format!("bí mật cũ còn tới {}", until.to_rfc3339())
                    }
                    _ if k.key.user_id.is_some() => "khóa của cán bộ".to_owned(),
                    _ => "đang hoạt động".to_owned(),
                };
                println!("{:<10} {:<32} {:<40} {:<26} {state}", k.key.prefix, k.key.name, scopes.join(","), used);
            }
        }
        Command::Apikey(ApiKeyCommand::Revoke { prefix }) => {
            if store.revoke_api_key(&prefix, chrono::Utc::now()).await? {
                println!("Đã thu hồi khóa {prefix}.");
            } else {
                anyhow::bail!("không có khóa đang hoạt động với tiền tố {prefix}");
            }
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// `cqs verify-evidence`: exit 0 when the file verifies, 1 when it does not.
fn verify_evidence(
    file: &std::path::Path,
    keys: &[String],
    tsa_roots: &[PathBuf],
) -> anyhow::Result<std::process::ExitCode> {
    let mut roots = Vec::new();
    for f in tsa_roots {
        let pem = std::fs::read(f).map_err(|e| anyhow::anyhow!("--tsa-root {}: {e}", f.display()))?;
        roots.extend(cqs_pki::cert::certificates_from_pem(&pem)?);
    }
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("Không đọc được {}: {e}", file.display());
            return Ok(std::process::ExitCode::FAILURE);
        }
    };
    Ok(match cqs_exchange::evidence::verify(&bytes, keys, &roots) {
        Ok(v) => {
            let r = &v.record;
            println!("Chứng cứ hợp lệ.");
            println!("  Trao đổi: {} (X-Road-Id {}), lúc {}", r.request_id, r.message_id, r.at);
            println!("  {} gọi {} {} {} → {}", r.client, r.service, r.method, r.path, r.status);
            println!("  Mã băm yêu cầu (X-Road-Request-Hash): {}", r.request_hash);
            println!(
                "  Nút {} ký lô {} lúc {}, khóa {}",
                v.statement.node, v.statement.batch, v.statement.sealed_at, v.statement.key
            );
            if keys.is_empty() {
                println!("  Chưa đối chiếu khóa: dùng --key để chỉ chấp nhận khóa công bố của nút.");
            }
            match &v.stamped {
                Some(t) => {
                    println!(
                        "  Dấu thời gian RFC 3161: lô đã có lúc {} (số hiệu dấu {})",
                        t.gen_time.to_rfc3339(),
                        t.serial
                    );
                    if roots.is_empty() {
                        println!(
                            "  CHƯA xác minh ai cấp dấu thời gian này, nên thời điểm trên chưa được bảo đảm: dùng --tsa-root với chứng thư gốc của máy chủ cấp dấu."
                        );
                    }
                }
                None => println!("  Lô chưa có dấu thời gian RFC 3161."),
            }
            if v.bodies {
                println!(
                    "  Nội dung yêu cầu ({} byte) và trả lời ({} byte) trong tệp khớp với mã băm trong bản ghi đã ký.",
                    r.request_bytes, r.response_bytes
                );
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("Chứng cứ KHÔNG hợp lệ: {e}");
            std::process::ExitCode::FAILURE
        }
    })
}
