//! Refused authentications go to the audit log through this background writer: the request
//! path only queues (never waits, never fails). Refusals of recognised tokens (revoked,
//! expired, blocked owner) are written at once, identical ones arriving together as one row
//! with a count; junk and unknown tokens are tallied and written once a minute.

use std::{collections::HashMap, net::IpAddr, time::Duration};

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
    /// Any other event recorded from the request path (e.g. sudo used), written with the
    /// next batch so the request never waits on a write.
    Event(DateTime<Utc>, Event),
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

    /// Queues an audit event from the request path; never waits.
    pub fn record_event(&self, at: DateTime<Utc>, event: Event) {
        let _ = self.commands.try_send(Command::Event(at, event));
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
type Tally = HashMap<Key, (Refusal, u64)>;

/// How often refusals of unrecognised credentials (junk, unknown tokens) are written: they
/// are tallied per (reason, surface, address) in between, so a flood of junk costs one row
/// per address and minute, never one per request.
const ANONYMOUS_FLUSH: Duration = Duration::from_secs(60);

async fn run(mut receiver: mpsc::Receiver<Command>, db: DatabaseConnection) {
    let mut anonymous: Tally = HashMap::new();
    let mut ticker = tokio::time::interval(ANONYMOUS_FLUSH);
    loop {
        let first = tokio::select! {
            command = receiver.recv() => command,
            _ = ticker.tick() => {
                write(&db, std::mem::take(&mut anonymous)).await;
                continue;
            }
        };
        let Some(first) = first else {
            write(&db, anonymous).await;
            return;
        };
        let mut recognised: Tally = HashMap::new();
        let mut events = Vec::new();
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
                    let tally = if refusal.token_id.is_some() {
                        &mut recognised
                    } else {
                        &mut anonymous
                    };
                    tally.entry(key).or_insert((refusal, 0)).1 += 1;
                }
                Command::Event(at, event) => events.push(row(at, event)),
                Command::Flush(done) => flushes.push(done),
            }
        }
        if !events.is_empty()
            && let Err(error) = audit_event::Entity::insert_many(events).exec(&db).await
        {
            tracing::warn!(error = %error, "writing audit events failed");
        }
        write(&db, recognised).await;
        if !flushes.is_empty() {
            write(&db, std::mem::take(&mut anonymous)).await;
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

async fn write(db: &DatabaseConnection, tally: Tally) {
    if tally.is_empty() {
        return;
    }
    let rows = tally.into_values().map(|(refusal, count)| {
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
    if let Err(error) = audit_event::Entity::insert_many(rows).exec(db).await {
        tracing::warn!(error = %error, "writing refused authentications to the audit log failed");
    }
}
