//! Citizen registration: what a person gives to open an account, checked into a form the store
//! can keep. Every problem is reported at once, against the field it concerns.

use serde::Deserialize;

use super::contact::{Email, Phone};
use super::password::PasswordPolicy;
use crate::form::FieldError;
use crate::ids::{IdentityKind, IdentityNumber};
use crate::text;

/// Registration as the person sends it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrationInput {
    /// Số định danh cá nhân (12 chữ số).
    pub identity_number: String,
    pub full_name: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    pub password: String,
}

/// A registration that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CitizenRegistration {
    pub identity_number: IdentityNumber,
    pub full_name: String,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    /// The password, to be hashed; it is never stored as given.
    pub password: String,
}

fn problem(field: &str, label: &str, message: impl Into<String>) -> FieldError {
    FieldError { field: field.into(), label: label.into(), message: message.into() }
}

impl CitizenRegistration {
    pub fn parse(input: RegistrationInput, policy: &PasswordPolicy) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let identity = IdentityNumber::parse(IdentityKind::Citizen, input.identity_number.trim());
        if let Err(e) = &identity {
            errors.push(problem("/identity_number", "Số định danh cá nhân", e.to_string()));
        }
        let full_name = text::nfc(&input.full_name);
        if full_name.is_empty() {
            errors.push(problem("/full_name", "Họ và tên", "Trường này là bắt buộc"));
        } else if full_name.chars().count() > 200 {
            errors.push(problem("/full_name", "Họ và tên", "Không được dài quá 200 ký tự"));
        } else if let Some(why) = text::name_problem(&full_name) {
            errors.push(problem("/full_name", "Họ và tên", why));
        }
        let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        let phone = given(&input.phone).map(|p| Phone::parse(&p));
        if let Some(None) = phone {
            errors.push(problem("/phone", "Số điện thoại", "Số điện thoại không hợp lệ (ví dụ 0912345678)"));
        }
        let email = given(&input.email).map(|e| Email::parse(&e));
        if let Some(None) = email {
            errors.push(problem("/email", "Thư điện tử", "Địa chỉ thư điện tử không hợp lệ"));
        }
        let (phone, email) = (phone.flatten(), email.flatten());
        if given(&input.phone).is_none() && given(&input.email).is_none() {
            errors.push(problem("/phone", "Số điện thoại", "Cần ít nhất số điện thoại hoặc thư điện tử để xác minh"));
        }
        let own: Vec<&str> = [Some(input.identity_number.trim()), phone.as_ref().map(Phone::as_str)]
            .into_iter()
            .flatten()
            .chain(email.as_ref().map(Email::as_str))
            .collect();
        if let Err(p) = policy.check(&input.password, &own) {
            errors.push(problem("/password", "Mật khẩu", p.to_string()));
        }
        match identity {
            Ok(identity_number) if errors.is_empty() => {
                Ok(Self { identity_number, full_name, phone, email, password: input.password })
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> RegistrationInput {
        RegistrationInput {
            identity_number: "001203004567".into(),
            full_name: "  Nguyễn Văn An ".into(),
            phone: Some("0912 345 678".into()),
            email: None,
            password: "Sông Hồng chảy mãi".into(),
        }
    }

    #[test]
    fn a_good_registration_is_normalized() {
        let r = CitizenRegistration::parse(input(), &PasswordPolicy::default()).unwrap();
        assert_eq!(r.full_name, "Nguyễn Văn An");
        assert_eq!(r.phone.unwrap().as_str(), "+84912345678");
        assert_eq!(r.identity_number.as_str(), "001203004567");
    }

    #[test]
    fn every_problem_is_reported() {
        let bad = RegistrationInput {
            identity_number: "123".into(),
            full_name: " ".into(),
            phone: Some("12".into()),
            email: Some("not-an-email".into()),
            password: "short".into(),
        };
        let errors = CitizenRegistration::parse(bad, &PasswordPolicy::default()).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["/identity_number", "/full_name", "/phone", "/email", "/password"]);
        let none = RegistrationInput { phone: None, email: Some(" ".into()), ..input() };
        let errors = CitizenRegistration::parse(none, &PasswordPolicy::default()).unwrap_err();
        assert_eq!(errors[0].field, "/phone");
        let own = RegistrationInput { password: "mk001203004567".into(), ..input() };
        assert_eq!(CitizenRegistration::parse(own, &PasswordPolicy::default()).unwrap_err()[0].field, "/password");
    }
}
