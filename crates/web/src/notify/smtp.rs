//! E-mail through an SMTP server with lettre. The server is named by a URL
//! (`smtp://host:25`, `smtp://user:password@host:587?tls=required` for STARTTLS,
//! `smtps://user:password@host:465`), as lettre reads it; certificates are checked against the
//! system's roots. Messages are plain UTF-8 text with an encoded subject, so every mail client
//! shows the Vietnamese right.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{Destination, Notice, Notifier, NotifyError};

pub struct SmtpNotifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// Why the SMTP settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SmtpConfigError {
    #[error("notify.smtp_url không hợp lệ: {0}")]
    Url(String),
    #[error("notify.from không phải địa chỉ thư hợp lệ (ví dụ \"Chính Quyền Số <no-reply@example.vn>\")")]
    From,
}

impl SmtpNotifier {
    /// A notifier for the server at `url`, sending as `from` (`Name <address>`).
    pub fn new(url: &str, from: &str, timeout: Duration) -> Result<Self, SmtpConfigError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| SmtpConfigError::Url(e.to_string()))?
            .timeout(Some(timeout))
            .build();
        let from = from.parse().map_err(|_| SmtpConfigError::From)?;
        Ok(Self { transport, from })
    }
}

fn failed(reason: impl ToString) -> NotifyError {
    NotifyError::Failed { channel: "smtp", reason: reason.to_string() }
}

#[async_trait::async_trait]
impl Notifier for SmtpNotifier {
    async fn send(&self, n: &Notice) -> Result<(), NotifyError> {
        let Destination::Email(to) = &n.to else { return Err(NotifyError::NoChannel("sms")) };
        let to: Mailbox = to.parse().map_err(failed)?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(n.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(n.text.clone())
            .map_err(failed)?;
        self.transport.send(message).await.map_err(failed)?;
        tracing::info!(target: "cqs::notify", kind = n.kind.as_str(), to = %n.to.masked(), "e-mail handed to the SMTP server");
        Ok(())
    }
    fn kind(&self) -> &'static str {
        "smtp"
    }
}
