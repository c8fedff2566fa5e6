//! Sending notices to people (thông báo): one-time codes now, deadline notices of dossiers
//! next. A [`Notifier`] delivers a [`Notice`] to an e-mail address or a phone number; which one
//! is configuration (`[notify]`):
//!
//! - [`smtp::SmtpNotifier`]: e-mail through an SMTP server (lettre), for production.
//! - [`LogNotifier`]: writes a line per notice to the log. The text of a notice, which may hold a
//!   code, is logged only when `reveal` is set (the demo); in production the log says that a
//!   notice went and where, never what it said.
//! - [`MemoryNotifier`]: keeps notices in memory, where the in-process tests read the codes a
//!   person would have received.
//! - [`Channels`]: e-mail to one notifier and text messages to another (an SMS gateway plugs in
//!   here as one more implementation).

pub mod smtp;

use std::sync::{Arc, Mutex};

/// Where a notice goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A lower-cased e-mail address.
    Email(String),
    /// An E.164 phone number (`+84…`).
    Phone(String),
}

impl Destination {
    /// The address with most of it hidden, for logs and for telling people where a code went
    /// (`h***@example.vn`, `+84 *** *** 678`).
    pub fn masked(&self) -> String {
        match self {
            Destination::Email(e) => match e.split_once('@') {
                Some((local, domain)) => {
                    let first: String = local.chars().take(1).collect();
                    format!("{first}***@{domain}")
                }
                None => "***".into(),
            },
            Destination::Phone(p) => {
                let tail: String = p.chars().rev().take(3).collect::<Vec<_>>().into_iter().rev().collect();
                format!("{}*****{tail}", p.chars().take(3).collect::<String>())
            }
        }
    }
}

/// A message to one person. `text` may hold a one-time code: never log it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub to: Destination,
    /// Subject line of an e-mail (text messages carry only the text).
    pub subject: String,
    pub text: String,
    /// What kind of notice, for logs and metrics (`verify_email`, `reset_password`,
    /// `dossier.overdue`…).
    pub kind: String,
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("không gửi được thông báo qua {channel}: {reason}")]
    Failed { channel: &'static str, reason: String },
    #[error("kênh {0} chưa được cấu hình")]
    NoChannel(&'static str),
}

/// Delivers notices. Implementations return once the notice is handed over (to the SMTP server,
/// the log, …), so a caller that records "sent" after `send` returns never records a notice that
/// was lost before hand-over.
#[async_trait::async_trait]
pub trait Notifier: Send + Sync {
    async fn send(&self, notice: &Notice) -> Result<(), NotifyError>;
    /// `log`, `smtp`, `memory`…, for start-up logs and health output.
    fn kind(&self) -> &'static str;
}

/// Writes a line per notice to the log (see the module documentation).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogNotifier {
    /// Also log the text (and so any code in it). Only for the demo and development.
    pub reveal: bool,
}

#[async_trait::async_trait]
impl Notifier for LogNotifier {
    async fn send(&self, n: &Notice) -> Result<(), NotifyError> {
        if self.reveal {
            tracing::info!(target: "cqs::notify", kind = n.kind.as_str(), to = %n.to.masked(), text = n.text.as_str(), "notice (demo: text shown)");
        } else {
            tracing::info!(target: "cqs::notify", kind = n.kind.as_str(), to = %n.to.masked(), "notice written to the log only");
        }
        Ok(())
    }
    fn kind(&self) -> &'static str {
        "log"
    }
}

/// Keeps every notice in memory, for tests to read what a person would have received.
#[derive(Debug, Clone, Default)]
pub struct MemoryNotifier(Arc<Mutex<Vec<Notice>>>);

impl MemoryNotifier {
    pub fn sent(&self) -> Vec<Notice> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
    /// The last notice sent to `to`.
    pub fn last_to(&self, to: &Destination) -> Option<Notice> {
        self.sent().into_iter().rev().find(|n| &n.to == to)
    }
}

#[async_trait::async_trait]
impl Notifier for MemoryNotifier {
    async fn send(&self, n: &Notice) -> Result<(), NotifyError> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(n.clone());
        Ok(())
    }
    fn kind(&self) -> &'static str {
        "memory"
    }
}

/// E-mail through one notifier, text messages through another.
pub struct Channels {
    pub email: Arc<dyn Notifier>,
    pub sms: Arc<dyn Notifier>,
}

#[async_trait::async_trait]
impl Notifier for Channels {
    async fn send(&self, n: &Notice) -> Result<(), NotifyError> {
        match n.to {
            Destination::Email(_) => self.email.send(n).await,
            Destination::Phone(_) => self.sms.send(n).await,
        }
    }
    fn kind(&self) -> &'static str {
        self.email.kind()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_masked() {
        assert_eq!(Destination::Email("hoa.nguyen@example.vn".into()).masked(), "h***@example.vn");
        assert_eq!(Destination::Phone("+84912345678".into()).masked(), "+84*****678");
    }

    #[tokio::test]
    async fn channels_route_by_destination() {
        let (mail, sms) = (MemoryNotifier::default(), MemoryNotifier::default());
        let both = Channels { email: Arc::new(mail.clone()), sms: Arc::new(sms.clone()) };
        let n = |to| Notice { to, subject: "s".into(), text: "t".into(), kind: "k".into() };
        both.send(&n(Destination::Email("a@b.vn".into()))).await.unwrap();
        both.send(&n(Destination::Phone("+84912345678".into()))).await.unwrap();
        assert_eq!((mail.sent().len(), sms.sent().len()), (1, 1));
        assert!(mail.last_to(&Destination::Email("a@b.vn".into())).is_some());
    }
}
