//! Outgoing mail through lettre: SMTP (STARTTLS, implicit TLS or none) or
//! the outbox (one `.eml` file per mail). Sending never blocks a request:
//! mails go into a bounded queue that one task drains, retrying failures;
//! nothing about delivery reaches the HTTP answer.

pub mod templates;

use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use crate::config::{MailTransport, Settings};

/// How many mails may wait before new ones are dropped (and logged).
const QUEUE: usize = 1024;
const ATTEMPTS: u32 = 4;

/// One mail to send.
#[derive(Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl std::fmt::Debug for Mail {
    // Bodies carry single-use links: never log them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

enum Transport {
    Outbox(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// The queue's sending end.
#[derive(Clone)]
pub struct Mailer {
    tx: mpsc::Sender<Mail>,
}

impl Mailer {
    /// Builds the transport and starts the task that drains the queue.
    pub fn start(settings: &Settings) -> anyhow::Result<Mailer> {
        let from: Mailbox = settings
            .smtp
            .from
            .as_deref()
            .unwrap_or("Portcullis <portcullis@localhost>")
            .parse()
            .map_err(|e| anyhow::anyhow!("invalid SMTP_FROM: {e}"))?;
        let transport = match settings.mail.transport {
            MailTransport::Outbox => {
                // Mails hold sign-in and reset links: the owner's alone.
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(&settings.mail.outbox_dir)
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "invalid PORTCULLIS_MAIL__OUTBOX_DIR ({}): {e}",
                            settings.mail.outbox_dir.display()
                        )
                    })?;
                crate::db::restrict(&settings.mail.outbox_dir, 0o700);
                Transport::Outbox(settings.mail.outbox_dir.clone())
            }
            MailTransport::Smtp => Transport::Smtp(smtp(settings)?),
        };
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(drain(rx, transport, from));
        Ok(Mailer { tx })
    }

    /// Queues a mail; never waits. A full queue drops the mail with a log line.
    pub fn send(&self, mail: Mail) {
        if let Err(e) = self.tx.try_send(mail) {
            tracing::error!(error = %e, "mail queue full or closed; mail dropped");
        }
    }
}

fn smtp(settings: &Settings) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let s = &settings.smtp;
    let host = s
        .host
        .clone()
        .ok_or_else(|| anyhow::anyhow!("invalid SMTP_HOST: not set"))?;
    let tls = s.tls.as_deref().unwrap_or("starttls");
    // rustls, by name: lettre is built with its `ring` feature, so it uses the
    // process default (ring, installed by the CLI) or else ring itself, and
    // never needs a provider from whoever embeds it.
    let params = || {
        TlsParameters::builder(host.clone())
            .build_rustls()
            .map_err(|e| anyhow::anyhow!("invalid SMTP_HOST: {e}"))
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone());
    builder = match tls {
        "none" => builder.tls(Tls::None).port(s.port.unwrap_or(25)),
        "tls" => builder
            .tls(Tls::Wrapper(params()?))
            .port(s.port.unwrap_or(465)),
        _ => builder
            .tls(Tls::Required(params()?))
            .port(s.port.unwrap_or(587)),
    };
    if let Some(user) = &s.username {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            s.password.clone().unwrap_or_default(),
        ));
    }
    Ok(builder.timeout(Some(Duration::from_secs(15))).build())
}

async fn drain(mut rx: mpsc::Receiver<Mail>, transport: Transport, from: Mailbox) {
    while let Some(mail) = rx.recv().await {
        let message = match build(&mail, &from) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %e, to = %mail.to, "mail could not be built");
                continue;
            }
        };
        for attempt in 1..=ATTEMPTS {
            match deliver(&transport, &message).await {
                Ok(()) => break,
                Err(e) if attempt < ATTEMPTS => {
                    tracing::warn!(error = %e, attempt, "mail delivery failed; retrying");
                    tokio::time::sleep(Duration::from_millis(250 * 2u64.pow(attempt))).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, to = %mail.to, "mail delivery failed; giving up")
                }
            }
        }
    }
}

fn build(mail: &Mail, from: &Mailbox) -> anyhow::Result<Message> {
    Ok(Message::builder()
        .from(from.clone())
        .to(mail.to.parse()?)
        .subject(mail.subject.clone())
        .multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            mail.html.clone(),
        ))?)
}

async fn deliver(transport: &Transport, message: &Message) -> anyhow::Result<()> {
    match transport {
        Transport::Outbox(dir) => {
            let name = format!(
                "{}-{}.eml",
                crate::tokens::opaque::new_id(),
                std::process::id()
            );
            let mut file = tokio::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(dir.join(name))
                .await?;
            file.write_all(&message.formatted()).await?;
            file.flush().await?;
            Ok(())
        }
        Transport::Smtp(smtp) => {
            smtp.send(message.clone()).await?;
            Ok(())
        }
    }
}
