//! Delivering one message: SMTP through `lettre` (STARTTLS/TLS and credentials from the
//! URL), or an `.eml` file under `<data dir>/mail/` when no SMTP server is configured.

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor, message::Mailbox};

use crate::config::Config;

/// Where messages go.
#[derive(Clone)]
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(PathBuf),
}

impl Transport {
    /// Builds the transport the configuration asks for.
    pub fn from_config(config: &Config) -> anyhow::Result<Transport> {
        match &config.mail.smtp_url {
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .context("WVS_SMTP_URL: not a usable SMTP URL")?
                    .timeout(Some(Duration::from_secs(15)))
                    .build();
                Ok(Transport::Smtp(transport))
            }
            None => {
                let dir = config.data_dir.join("mail");
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("WVS_DATA_DIR: cannot create {}", dir.display()))?;
                Ok(Transport::Files(dir))
            }
        }
    }

    /// Sends `message`; `file_stem` names the `.eml` file in file mode.
    pub async fn send(&self, message: Message, file_stem: &str) -> Result<(), String> {
        match self {
            Transport::Smtp(smtp) => smtp
                .send(message)
                .await
                .map(|_| ())
                .map_err(|error| error.to_string()),
            Transport::Files(dir) => {
                let final_path = dir.join(format!("{file_stem}.eml"));
                let temporary = dir.join(format!(".{file_stem}.eml.tmp"));
                tokio::fs::write(&temporary, message.formatted())
                    .await
                    .map_err(|error| error.to_string())?;
                tokio::fs::rename(&temporary, &final_path)
                    .await
                    .map_err(|error| error.to_string())
            }
        }
    }
}

/// Parses the configured sender.
pub fn sender(config: &Config) -> anyhow::Result<Mailbox> {
    config
        .mail
        .from
        .parse()
        .context("WVS_MAIL_FROM: expected an address such as `WVS <noreply@example.com>`")
}
