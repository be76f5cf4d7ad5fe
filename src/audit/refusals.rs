//! Refused authentications go to the audit log through this background writer: the request
//! path only queues (never waits, never fails), and identical refusals arriving together
//! (same reason, token and address) are written as one row with a count.

use std::{collections::HashMap, net::IpAddr};

use chrono::{DateTime, Utc};
use entity::audit_event;
use sea_orm::{DatabaseConnection, EntityTrait};
use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use crate::{
    audit::{Action, Event, Party, row},
    metrics::AuthFailure,
};

/// Refusals waiting to be written; beyond this they are dropped (and still counted in metrics).
const QUEUE_CAPACITY: usize = 4096;

/// One refused attempt.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub reason: AuthFailure,
    /// Where the credential was presented: `api`, `git`, `registry`, `sudo`.
    pub surface: &'static str,
    /// The token's owner and id, when the token was recognised (revoked, expired, blocked).
    pub owner: Option<Party>,
    pub token_id: Option<i64>,
    pub ip: Option<IpAddr>,
    pub at: DateTime<Utc>,
}

enum Command {
    Refused(Refusal),
    Flush(oneshot::Sender<()>),
}

/// Handle to the background writer; cheap to clone.
#[derive(Clone)]
pub struct RefusalLog {
    commands: mpsc::Sender<Command>,
}

impl RefusalLog {
    /// Spawns the writer on the current Tokio runtime.
    pub fn start(db: DatabaseConnection) -> Self {
        let (commands, receiver) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(run(receiver, db));
        RefusalLog { commands }
    }

    /// Queues a refusal; never waits.
    pub fn record(&self, refusal: Refusal) {
        let _ = self.commands.try_send(Command::Refused(refusal));
    }

    /// Returns once everything queued so far is written.
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.commands.send(Command::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }
}

type Key = (&'static str, &'static str, Option<i64>, Option<IpAddr>);

async fn run(mut receiver: mpsc::Receiver<Command>, db: DatabaseConnection) {
    while let Some(first) = receiver.recv().await {
        let mut batch: HashMap<Key, (Refusal, u64)> = HashMap::new();
        let mut flushes = Vec::new();
        let mut next = Some(first);
        while let Some(command) = next.take().or_else(|| receiver.try_recv().ok()) {
            match command {
                Command::Refused(refusal) => {
                    let key = (
                        refusal.reason.as_str(),
                        refusal.surface,
                        refusal.token_id,
                        refusal.ip,
                    );
                    batch.entry(key).or_insert((refusal, 0)).1 += 1;
                }
                Command::Flush(done) => flushes.push(done),
            }
        }
        if !batch.is_empty() {
            let rows = batch.into_values().map(|(refusal, count)| {
                let event = Event {
                    action: Action::AuthenticationRefused,
                    actor: refusal.owner,
                    target: None,
                    token_id: refusal.token_id,
                    ip: refusal.ip,
                    details: json!({ "reason": refusal.reason.as_str(), "surface": refusal.surface, "count": count }),
                };
                row(refusal.at, event)
            });
            if let Err(error) = audit_event::Entity::insert_many(rows).exec(&db).await {
                tracing::warn!(error = %error, "writing refused authentications to the audit log failed");
            }
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}
