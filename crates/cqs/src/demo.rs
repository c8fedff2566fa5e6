//! The demo province "tỉnh Lạc Hồng": org units, fields, procedures, staff and API clients from
//! the JSON files under `demo/` (embedded in the binary). Loading is idempotent: units and
//! fields are upserted, a procedure gets a new version only if its spec changed, and accounts and
//! keys are created only once.

use std::io::Write;
use std::path::Path;

use chrono::Utc;
use cqs_domain::auth::{Role, RoleGrant, Scope};
use cqs_domain::catalog::{Field, ProcedureSpec};
use cqs_domain::identity::{CitizenLogin, CitizenRegistration, RegistrationInput};
use cqs_domain::org::{OrgUnitSpec, validate_specs};
use cqs_store::{NewUser, Store};
use serde::Deserialize;

pub const ORG_UNITS: &str = include_str!("../../../demo/org_units.json");
pub const FIELDS: &str = include_str!("../../../demo/fields.json");
pub const PROCEDURES: &str = include_str!("../../../demo/procedures.json");
pub const STAFF: &str = include_str!("../../../demo/staff.json");
pub const CLIENTS: &str = include_str!("../../../demo/clients.json");
pub const CITIZENS: &str = include_str!("../../../demo/citizens.json");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StaffSpec {
    username: String,
    full_name: String,
    email: Option<String>,
    roles: Vec<RoleSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleSpec {
    role: Role,
    unit: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CitizenSpec {
    identity_number: String,
    full_name: String,
    phone: Option<String>,
    email: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientSpec {
    name: String,
    scopes: Vec<Scope>,
    unit: Option<String>,
}

/// What a load did.
#[derive(Debug, Default)]
pub struct DemoSummary {
    pub org_units: usize,
    pub fields: usize,
    pub procedures_added: usize,
    pub procedures_unchanged: usize,
    pub users_created: usize,
    pub keys_created: Vec<(String, String)>,
    /// Sign-in names and the passwords generated for them.
    pub passwords_created: Vec<(String, String)>,
    pub citizens_created: usize,
}

pub fn procedures() -> anyhow::Result<Vec<ProcedureSpec>> {
    Ok(serde_json::from_str(PROCEDURES)?)
}

pub async fn load(store: &dyn Store, data_dir: &Path) -> anyhow::Result<DemoSummary> {
    let units: Vec<OrgUnitSpec> = serde_json::from_str(ORG_UNITS)?;
    validate_specs(&units)?;
    let fields: Vec<Field> = serde_json::from_str(FIELDS)?;
    let specs = procedures()?;
    let mut summary = DemoSummary { org_units: store.upsert_org_units(&units).await?, ..Default::default() };
    summary.fields = store.upsert_fields(&fields).await?;

    let stored_units = store.org_units().await?;
    let problems: Vec<String> = specs
        .iter()
        .flat_map(|s| {
            cqs_web::rules::spec_problems(s, &stored_units, &fields)
                .into_iter()
                .map(move |p| format!("{}: {}: {}", s.code, p.field, p.message))
        })
        .collect();
    anyhow::ensure!(problems.is_empty(), "dữ liệu mẫu không hợp lệ:\n{}", problems.join("\n"));
    for added in store.add_procedure_versions(&specs, true).await? {
        if added.created {
            summary.procedures_added += 1;
        } else {
            summary.procedures_unchanged += 1;
        }
    }

    let unit_id = |code: &str| {
        stored_units
            .iter()
            .find(|u| u.code.as_str() == code)
            .map(|u| u.id)
            .ok_or_else(|| anyhow::anyhow!("đơn vị {code} không có trong dữ liệu mẫu"))
    };
    let staff: Vec<StaffSpec> = serde_json::from_str(STAFF)?;
    for s in staff {
        if let Some(user) = store.user_by_username(&s.username).await? {
            // Data loaded before staff could sign in with a password gets one now.
            if store.user_password_hash(user.id).await?.is_none() {
                let pw = staff_password(store, user.id).await?;
                summary.passwords_created.push((format!("Cán bộ {}", s.username), pw));
            }
            continue;
        }
        let grants = s
            .roles
            .iter()
            .map(|r| Ok(RoleGrant { role: r.role, org_unit_id: unit_id(&r.unit)? }))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let user = store
            .create_user(&NewUser { username: s.username.clone(), full_name: s.full_name, email: s.email, grants })
            .await?;
        summary.users_created += 1;
        let pw = staff_password(store, user.id).await?;
        summary.passwords_created.push((format!("Cán bộ {}", s.username), pw));
        let name = format!("Khóa của {}", s.username);
        let key = crate::commands::issue_key(store, &name, Some(user.id), vec![], None).await?;
        summary.keys_created.push((name, key));
    }
    let clients: Vec<ClientSpec> = serde_json::from_str(CLIENTS)?;
    for c in clients {
        if store.api_key_named_exists(&c.name).await? {
            continue;
        }
        let unit = c.unit.as_deref().map(unit_id).transpose()?;
        let key = crate::commands::issue_key(store, &c.name, None, c.scopes, unit).await?;
        summary.keys_created.push((c.name, key));
    }
    let citizens: Vec<CitizenSpec> = serde_json::from_str(CITIZENS)?;
    for c in citizens {
        let login = CitizenLogin::IdentityNumber(c.identity_number.clone());
        if store.citizen_credentials(&login).await?.is_some() {
            continue;
        }
        let password = demo_password();
        let input_email = c.email.clone();
        let input = RegistrationInput {
            identity_number: c.identity_number.clone(),
            full_name: c.full_name,
            phone: c.phone.clone(),
            email: c.email,
            password: password.clone(),
        };
        let r = CitizenRegistration::parse(input, &Default::default())
            .map_err(|e| anyhow::anyhow!("công dân mẫu {} không hợp lệ: {e:?}", c.identity_number))?;
        store
            .create_citizen(&cqs_store::NewCitizen {
                id: uuid::Uuid::now_v7(),
                identity_number: r.identity_number.as_str().to_owned(),
                full_name: r.full_name,
                phone: r.phone.map(String::from),
                email: r.email.map(String::from),
                password_hash: Some(hash(password.clone()).await?),
                created_at: Utc::now(),
            })
            .await?;
        summary.citizens_created += 1;
        let contact = match (&c.phone, &input_email) {
            (Some(p), _) => format!("điện thoại {p}"),
            (None, Some(e)) => format!("thư điện tử {e}"),
            (None, None) => String::new(),
        };
        let name = format!("Công dân {} ({contact})", c.identity_number);
        summary.passwords_created.push((name, password));
    }
    if !summary.keys_created.is_empty() || !summary.passwords_created.is_empty() {
        write_credentials(data_dir, &summary.keys_created, &summary.passwords_created)?;
    }
    Ok(summary)
}

/// A random password for a demo account: 4 groups of 4 letters and digits.
fn demo_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let group = |rng: &mut rand::rngs::ThreadRng| -> String {
        (0..4).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
    };
    (0..4).map(|_| group(&mut rng)).collect::<Vec<_>>().join("-")
}

async fn hash(password: String) -> anyhow::Result<String> {
    cqs_web::auth::password::hash(password).await.map_err(|e| anyhow::anyhow!("không băm được mật khẩu: {}", e.title))
}

/// Gives a demo staff member a random password and returns it.
async fn staff_password(store: &dyn Store, user_id: uuid::Uuid) -> anyhow::Result<String> {
    let password = demo_password();
    store.set_user_password(user_id, &hash(password.clone()).await?).await?;
    Ok(password)
}

/// Appends the demo's keys and passwords to `demo-credentials.txt` (owner-only) so a newcomer
/// can call the API and sign in from a browser.
fn write_credentials(data_dir: &Path, keys: &[(String, String)], passwords: &[(String, String)]) -> anyhow::Result<()> {
    std::fs::create_dir_all(data_dir)?;
    let path = data_dir.join("demo-credentials.txt");
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&path)?;
    writeln!(f, "# Dữ liệu mẫu, tạo lúc {} (chỉ dùng để thử nghiệm)", Utc::now().to_rfc3339())?;
    if !keys.is_empty() {
        writeln!(f, "## Khóa API (Authorization: Bearer ...)")?;
        for (name, token) in keys {
            writeln!(f, "{name}\t{token}")?;
        }
    }
    if !passwords.is_empty() {
        writeln!(
            f,
            "## Mật khẩu đăng nhập (cán bộ: tên đăng nhập; công dân: số định danh, điện thoại hoặc thư điện tử)"
        )?;
        for (who, password) in passwords {
            writeln!(f, "{who}\t{password}")?;
        }
    }
    Ok(())
}
